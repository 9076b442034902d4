/**
 * @module services/passwords
 * Passwords for browser sign-in, beside tokens. Hashed with argon2id (`@node-rs/argon2`, OWASP's
 * parameters: 19 MiB, two passes), so a copy of the database costs an attacker memory and time
 * for every guess; the hash's PHC string carries its parameters, so stronger ones later still
 * verify the old hashes. A password is set by a site administrator when creating a user (CLI
 * `--password-stdin`), through a one-time reset link (CLI or site administration page), or by
 * the user on `/settings/password` with the current one.
 *
 * Reset links carry 256 random bits; only their sha256 is stored. A link works once and expires
 * after `RESET_LINK_TTL_MS`; making a new link for a user voids their earlier ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify, type Algorithm } from '@node-rs/argon2';
import type { AppContext } from '../context.ts';
import { findAccountById } from '../db/repos/accounts-repo.ts';
import { deleteStaleResetLinks, findPasswordHash, findResetLink, insertResetLink, spendResetLink, upsertPasswordHash } from '../db/repos/passwords-repo.ts';
import { deleteOrphanSessionTokens, deleteSessionsOfUser } from '../db/repos/sessions-repo.ts';
import type { Account } from '../db/schema.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { GITHUB_SCOPES } from '../domain/oauth-scopes.ts';
import { actorOf, recordAudit, type AuditActor } from './audit.ts';
import { hasScope } from './oauth-scopes.ts';
import type { Principal } from './tokens.ts';

/** How long a reset link works. */
export const RESET_LINK_TTL_MS = 24 * 3600 * 1000;
export const PASSWORD_MIN_LENGTH = 8;
/** A password this long needs no particular characters (GitHub's rule). */
export const PASSPHRASE_LENGTH = 15;
/** Longer input is refused before hashing: nobody types more, and it bounds the work per request. */
export const PASSWORD_MAX_LENGTH = 256;

/** `Algorithm.Argon2id`: the enum is a `const enum`, which isolated modules cannot read. */
const ARGON2ID = 2 as Algorithm;
const ARGON2 = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const FIRST_PASSWORD_NEEDS_ALL_SCOPES =
  'You are signed in with a token that cannot do everything a password can. Sign in with a token holding every scope to set a first password, or ask a site administrator for a password reset link.';

export function hashPassword(password: string): Promise<string> {
  return argon2Hash(password, ARGON2);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(hash, password);
  } catch {
    return false; // a malformed stored hash matches nothing
  }
}

let dummyHash: Promise<string> | null = null;

/**
 * Checks a password for a login that has none (or names nobody) at the cost of a real check, so
 * the time a refusal takes does not tell whether the account exists or has a password.
 */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
  return false;
}

/** What is wrong with a new password, in GitHub's words; empty when it is acceptable. */
export function passwordProblems(password: string): string[] {
  if (password.length > PASSWORD_MAX_LENGTH) return [`Password is too long (maximum is ${PASSWORD_MAX_LENGTH} characters)`];
  if (password.length < PASSWORD_MIN_LENGTH) return [`Password is too short (minimum is ${PASSWORD_MIN_LENGTH} characters)`];
  if (password.length < PASSPHRASE_LENGTH && !(/[a-z]/.test(password) && /[0-9]/.test(password))) {
    return [`Password needs at least one lowercase letter and one number, or at least ${PASSPHRASE_LENGTH} characters`];
  }
  return [];
}

function refuse(problems: string[]): ValidationError {
  return new ValidationError(problems.map((message) => ({ resource: 'User', field: 'password', code: 'invalid', message })));
}

export async function hasPassword(ctx: Pick<AppContext, 'db'>, user: Pick<Account, 'id'>): Promise<boolean> {
  return (await findPasswordHash(ctx.db, user.id)) !== undefined;
}

/** Whether `password` is the user's; false when they have none (at the same cost). */
export async function checkPassword(ctx: Pick<AppContext, 'db'>, user: Pick<Account, 'id'> | undefined, password: string): Promise<boolean> {
  const stored = user ? await findPasswordHash(ctx.db, user.id) : undefined;
  if (stored === undefined || password.length > PASSWORD_MAX_LENGTH) return verifyAgainstNothing(password);
  return verifyPassword(stored, password);
}

export interface PasswordChange {
  user: Account;
  password: string;
  actor: AuditActor;
  /** How the change came (`data.via` in the audit log). */
  via: 'cli' | 'settings' | 'reset_link';
  /**
   * Which browser sessions end: `all` (a reset: whoever knew the old password is out), all but
   * the session given (a change from the settings page), or `none` (a new user's first password).
   */
  endSessions: 'all' | 'none' | { keepIdHash: string };
}

/** Sets a user's password (`user.change_password`), ending sessions as asked, in one transaction. */
export async function setPassword(ctx: Pick<AppContext, 'db'>, change: PasswordChange): Promise<void> {
  const problems = passwordProblems(change.password);
  if (problems.length) throw refuse(problems);
  const hash = await hashPassword(change.password);
  await ctx.db.transaction().execute(async (trx) => {
    await upsertPasswordHash(trx, change.user.id, hash, isoSeconds());
    const ended = change.endSessions === 'none' ? 0 : await deleteSessionsOfUser(trx, change.user.id, change.endSessions === 'all' ? undefined : change.endSessions.keepIdHash);
    await deleteOrphanSessionTokens(trx, change.user.id);
    await recordAudit(trx, { action: 'user.change_password', actor: change.actor, user: change.user, data: { via: change.via, sessions_ended: ended } });
  });
}

/**
 * The scopes of a password session: everything a user may do in a browser, as on GitHub, with
 * `site_admin` for site administrators only.
 */
export function passwordSessionScopes(user: Pick<Account, 'site_admin'>): string[] {
  return GITHUB_SCOPES.filter((s) => s !== 'site_admin' || user.site_admin === 1);
}

/**
 * The user's own change on the settings page: the current password first, when they have one.
 * A first password may be set from a session only when that session already holds every scope
 * a password session gets: a session signed in with a narrow token must not turn itself into a
 * wider one (a reset link from a site administrator is the way then).
 */
export async function changeOwnPassword(
  ctx: Pick<AppContext, 'db'>,
  caller: Principal,
  current: string,
  next: string,
  confirmation: string,
  o: { keepIdHash: string },
): Promise<void> {
  const user = caller.user;
  if (await hasPassword(ctx, user)) {
    if (!(await checkPassword(ctx, user, current))) throw refuse(['Old password isn\u2019t valid']);
  } else {
    const lacking = passwordSessionScopes(user).filter((s) => !hasScope(caller, s));
    if (lacking.length) throw refuse([FIRST_PASSWORD_NEEDS_ALL_SCOPES]);
  }
  if (next !== confirmation) throw refuse(['Password confirmation doesn\u2019t match the password']);
  await setPassword(ctx, { user, password: next, actor: actorOf(caller), via: 'settings', endSessions: { keepIdHash: o.keepIdHash } });
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface ResetLink {
  /** The path of the link on this Wharf (`/password_reset/{secret}`). */
  path: string;
  expiresAt: string;
}

/** Makes a one-time reset link for a user (`user.password_reset_link`, Wharf's), voiding earlier ones. */
export async function createResetLink(ctx: Pick<AppContext, 'db'>, user: Account, actor: AuditActor, nowMs = Date.now()): Promise<ResetLink> {
  if (user.type !== 'User') throw new NotFoundError();
  const secret = randomBytes(32).toString('base64url');
  const now = isoSeconds(new Date(nowMs));
  const expiresAt = isoSeconds(new Date(nowMs + RESET_LINK_TTL_MS));
  await ctx.db.transaction().execute(async (trx) => {
    await deleteStaleResetLinks(trx, user.id, now);
    await insertResetLink(trx, { secret_hash: hashSecret(secret), user_id: user.id, created_at: now, expires_at: expiresAt, used_at: null });
    await recordAudit(trx, { action: 'user.password_reset_link', actor, user, data: { expires_at: expiresAt } });
  });
  return { path: `/password_reset/${secret}`, expiresAt };
}

const LINK_GONE = 'This password reset link has expired or was already used. Ask a site administrator for a new one.';

function plausibleSecret(secret: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(secret);
}

/** The user a reset link is for while it can still be used; NotFoundError otherwise. */
export async function resetLinkUser(ctx: Pick<AppContext, 'db'>, secret: string, nowMs = Date.now()): Promise<Account> {
  const link = plausibleSecret(secret) ? await findResetLink(ctx.db, hashSecret(secret)) : undefined;
  if (!link || link.used_at !== null || Date.parse(link.expires_at) <= nowMs) throw new NotFoundError(LINK_GONE);
  const user = await findAccountById(ctx.db, link.user_id);
  if (!user || user.suspended_at) throw new NotFoundError(LINK_GONE);
  return user;
}

/**
 * Sets a new password through a reset link: the link is spent in the transaction that stores the
 * password, so it works once even when two browsers submit it at the same moment. Every session
 * of the user ends.
 */
export async function redeemResetLink(
  ctx: Pick<AppContext, 'db'>,
  secret: string,
  password: string,
  confirmation: string,
  address: string | null,
  nowMs = Date.now(),
): Promise<Account> {
  const user = await resetLinkUser(ctx, secret, nowMs);
  if (password !== confirmation) throw refuse(['Password confirmation doesn\u2019t match the password']);
  const problems = passwordProblems(password);
  if (problems.length) throw refuse(problems);
  const hash = await hashPassword(password);
  const now = isoSeconds(new Date(nowMs));
  await ctx.db.transaction().execute(async (trx) => {
    if (!(await spendResetLink(trx, hashSecret(secret), now))) throw new NotFoundError(LINK_GONE);
    await upsertPasswordHash(trx, user.id, hash, now);
    const ended = await deleteSessionsOfUser(trx, user.id);
    await deleteOrphanSessionTokens(trx, user.id);
    await recordAudit(trx, { action: 'user.change_password', actor: { id: user.id, login: user.login, ip: address }, user, data: { via: 'reset_link', sessions_ended: ended } });
  });
  return user;
}
