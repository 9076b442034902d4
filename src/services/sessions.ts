/**
 * @module services/sessions
 * Browser sign-in. A user signs in with their login and either one of their personal access
 * tokens or their password. A token session acts with exactly that token's scopes, so a page
 * never shows or allows more than the API would with the same token, and revoking the token ends
 * the session. A password session acts with a token made for it alone, with every scope a
 * browser user has (`passwordSessionScopes`); that token is never shown and is deleted when the
 * session ends.
 *
 * The cookie carries 256 random bits; the database keeps only their sha256 (like tokens), so a
 * leaked database does not leak live sessions. Each session has its own CSRF secret, derived from
 * the session id (HMAC-SHA256 keyed with it), so it is stored nowhere and a copy of the database
 * yields neither a session nor a CSRF secret.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { findAccountByLogin } from '../db/repos/accounts-repo.ts';
import {
  deleteExpiredSessions,
  deleteOrphanSessionTokens,
  deleteSession,
  deleteSessionsOfUser,
  findSessionWithPrincipal,
  forgetStoredCsrfSecrets,
  insertSession,
  listSessionsOfUser,
} from '../db/repos/sessions-repo.ts';
import { insertToken } from '../db/repos/tokens-repo.ts';
import type { Kysely } from 'kysely';
import type { Account, Database, SessionMethod } from '../db/schema.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { actorOf, recordAudit } from './audit.ts';
import { checkPassword, passwordSessionScopes } from './passwords.ts';
import { beginSignInAttempt, succeeded } from './sign-in-limits.ts';
import { authenticateToken, recordTokenUse, type Principal } from './tokens.ts';

/** How long a session lasts after sign-in. */
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

export interface WebSession {
  principal: Principal;
  csrfSecret: string;
  expiresAt: string;
  /** The sha256 of the session id: names this session among the user's (the sessions page). */
  idHash: string;
}

/** How much of a browser's `User-Agent` the sessions page keeps. */
const USER_AGENT_KEPT = 200;

function hashId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The session's CSRF secret: only whoever holds the session id (its cookie) can compute it. */
function csrfSecretOf(id: string): string {
  return createHmac('sha256', id).update('wharf csrf secret', 'utf8').digest('base64url');
}

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in constant time (false on any length mismatch). */
export function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Where a sign-in comes from: the address, and the browser's `User-Agent` (shown on the sessions page). */
export interface SignInOrigin {
  address: string;
  userAgent?: string | undefined;
}

const FAILED = { token: 'Incorrect username or token.', password: 'Incorrect username or password.' };

async function recordFailure(ctx: AppContext, login: string, address: string): Promise<void> {
  // GitHub's `user.failed_login`; the login is what was typed, which may name nobody.
  const typed = login.trim().slice(0, 64);
  await recordAudit(ctx.db, { action: 'user.failed_login', actor: { id: null, login: typed, ip: address }, data: { login: typed } });
}

/**
 * Checks a login and token and opens a session. The same message for every failure, so the form
 * does not reveal which logins exist. Failures count against the login and the address
 * (`services/sign-in-limits.ts`).
 */
export async function signIn(ctx: AppContext, login: string, token: string, origin: SignInOrigin): Promise<{ id: string; session: WebSession }> {
  const attempt = await beginSignInAttempt(ctx, login, origin.address);
  const principal = await authenticateToken(ctx.db, token.trim());
  if (!principal || principal.user.login_lower !== login.trim().toLowerCase()) {
    await recordFailure(ctx, login, origin.address);
    throw new UnauthorizedError(FAILED.token);
  }
  await succeeded(ctx, attempt);
  return openSession(ctx, principal, 'token', origin);
}

/**
 * Checks a login and password and opens a session acting with a token made for it alone
 * (`tokens.kind = 'session'`, never shown, deleted when the session ends). Unknown logins,
 * organizations, suspended users and users without a password cost the same argon2 check and
 * get the same message.
 */
export async function signInWithPassword(ctx: AppContext, login: string, password: string, origin: SignInOrigin): Promise<{ id: string; session: WebSession }> {
  const attempt = await beginSignInAttempt(ctx, login, origin.address);
  const found = await findAccountByLogin(ctx.db, login.trim());
  const user = found && found.type === 'User' && !found.suspended_at ? found : undefined;
  if (!(await checkPassword(ctx, user, password)) || !user) {
    await recordFailure(ctx, login, origin.address);
    throw new UnauthorizedError(FAILED.password);
  }
  await succeeded(ctx, attempt);
  return openSession(ctx, user, 'password', origin);
}

/**
 * Opens a session acting with a token sign-in's principal, or, for a password sign-in (given the
 * user), with a token made for it in the same transaction as the session.
 */
async function openSession(ctx: AppContext, who: Principal | Account, method: SessionMethod, origin: SignInOrigin): Promise<{ id: string; session: WebSession }> {
  const now = new Date();
  // Sessions that ended are swept here, with the tokens password sign-ins made for them.
  await deleteExpiredSessions(ctx.db, isoSeconds(now));
  await deleteOrphanSessionTokens(ctx.db);
  await forgetStoredCsrfSecrets(ctx.db);
  const id = randomSecret();
  const csrfSecret = csrfSecretOf(id);
  const expiresAt = isoSeconds(new Date(now.getTime() + SESSION_TTL_MS));
  const principal = await ctx.db.transaction().execute(async (trx) => {
    const principal = 'user' in who ? who : await sessionToken(trx, who, expiresAt);
    principal.address = origin.address;
    await insertSession(trx, {
      id_hash: hashId(id),
      user_id: principal.user.id,
      token_id: principal.token.id,
      // Kept for the column's sake; the secret is derived from the id, never stored.
      csrf_secret: '',
      created_at: isoSeconds(now),
      expires_at: expiresAt,
      method,
      address: origin.address,
      user_agent: origin.userAgent ? origin.userAgent.slice(0, USER_AGENT_KEPT) : null,
    });
    const data = method === 'password' ? { method } : { method, token_last_eight: principal.token.token_last_eight };
    await recordAudit(trx, { action: 'user.login', actor: actorOf(principal), user: principal.user, data });
    return principal;
  });
  return { id, session: { principal, csrfSecret, expiresAt, idHash: hashId(id) } };
}

/** The token a password session acts with: random, never shown (only its hash is kept), expiring with the session. */
async function sessionToken(db: Kysely<Database>, user: Account, expiresAt: string): Promise<Principal> {
  const token = await insertToken(db, {
    userId: user.id,
    hash: createHash('sha256').update(randomSecret(), 'utf8').digest('hex'),
    lastEight: 'session',
    scopes: passwordSessionScopes(user),
    note: 'browser session',
    expiresAt,
    now: isoSeconds(),
    kind: 'session',
  });
  return { user, token, scopes: new Set(token.scopes.split(' ').filter(Boolean)) };
}

/** The live session for a cookie value, or null when it is unknown, expired, or its token or user no longer valid. */
export async function resolveSession(ctx: AppContext, id: string): Promise<WebSession | null> {
  if (id.length === 0 || id.length > 128) return null;
  const found = await findSessionWithPrincipal(ctx.db, hashId(id));
  if (!found) return null;
  const now = Date.now();
  if (Date.parse(found.session.expires_at) <= now) return null;
  const { token, user } = found;
  if (token.revoked_at || (token.expires_at && Date.parse(token.expires_at) <= now) || user.suspended_at) return null;
  // A page seen through a session is a use of the token the visitor signed in with.
  await recordTokenUse(ctx.db, token, now);
  return {
    principal: { user, token, scopes: new Set(token.scopes.split(' ').filter(Boolean)) },
    csrfSecret: csrfSecretOf(id),
    expiresAt: found.session.expires_at,
    idHash: found.session.id_hash,
  };
}

/** Ends one session (and the token a password sign-in made for it). */
export async function signOut(ctx: AppContext, id: string): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await deleteSession(trx, hashId(id));
    await deleteOrphanSessionTokens(trx);
  });
}

/** A session as the sessions page lists it. */
export interface ListedSession {
  idHash: string;
  method: SessionMethod;
  /** The last eight characters of the token a token sign-in used. */
  tokenLastEight: string | null;
  address: string | null;
  userAgent: string | null;
  createdAt: string;
  expiresAt: string;
}

/** The caller's live sessions, newest first. */
export async function listSessions(ctx: AppContext, user: Pick<Account, 'id'>): Promise<ListedSession[]> {
  const rows = await listSessionsOfUser(ctx.db, user.id, isoSeconds());
  return rows.map((r) => ({
    idHash: r.id_hash,
    method: r.method,
    tokenLastEight: r.token_kind === 'personal' ? r.token_last_eight : null,
    address: r.address,
    userAgent: r.user_agent,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
  }));
}

/**
 * Ends every browser session of the caller, this one included (`user.logout_everywhere`, a Wharf
 * action), with the tokens password sign-ins made for them. Personal access tokens keep working:
 * a token is revoked on the tokens page.
 */
export async function signOutEverywhere(ctx: AppContext, caller: Principal): Promise<number> {
  return ctx.db.transaction().execute(async (trx) => {
    const ended = await deleteSessionsOfUser(trx, caller.user.id);
    await deleteOrphanSessionTokens(trx, caller.user.id);
    await recordAudit(trx, { action: 'user.logout_everywhere', actor: actorOf(caller), user: caller.user, data: { sessions: ended } });
    return ended;
  });
}
