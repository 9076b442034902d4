/**
 * @module services/tokens
 * Personal access tokens: random, shown once, stored only as a sha256 hash (tokens carry 256 bits
 * of entropy, so a fast hash is as safe as a slow one here), compared in constant time.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Account, Database, Token } from '../db/schema.ts';
import { findAccountById } from '../db/repos/accounts-repo.ts';
import { findTokenById, findTokenWithUser, insertToken, listTokensForUser, revokeToken, revokeTokensByNote, touchToken } from '../db/repos/tokens-repo.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { unknownScopes } from '../domain/oauth-scopes.ts';
import { isoSeconds } from '../util/time.ts';
import { actorOf, recordAudit, type AuditActor } from './audit.ts';
import { actsAsSiteAdmin, hasScope, missingScope } from './oauth-scopes.ts';

export interface Principal {
  user: Account;
  token: Token;
  scopes: Set<string>;
  /** The address the request came from (set by the HTTP layer; absent for the CLI and tests). */
  address?: string;
}

const PREFIX = 'wharf_';

/**
 * The SHA-256 of a token, hex: what the database stores and what the principal cache files a
 * token under. One-shot `crypto.hash` (about a third of `createHash`'s cost), since every
 * authenticated request pays it once.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export function generateTokenValue(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

export interface IssuedToken {
  token: string;
  row: Token;
}

/**
 * Issues a token to `owner` on behalf of `actor` (`oauth_access.create` in the audit log, written
 * in the same transaction as the token).
 */
export async function issueToken(
  db: Kysely<Database>,
  owner: Pick<Account, 'id' | 'login'>,
  scopes: string[],
  options: { note?: string | null; expiresAt?: string | null; value?: string; actor: AuditActor },
): Promise<IssuedToken> {
  const token = options.value ?? generateTokenValue();
  const row = await db.transaction().execute(async (trx) => {
    const inserted = await insertToken(trx, {
      userId: owner.id,
      hash: hashToken(token),
      lastEight: token.slice(-8),
      scopes: [...new Set(scopes)],
      note: options.note ?? null,
      expiresAt: options.expiresAt ?? null,
      now: isoSeconds(),
    });
    await recordAudit(trx, { action: 'oauth_access.create', actor: options.actor, user: owner, data: tokenData(inserted) });
    return inserted;
  });
  return { token, row };
}

/** A user's tokens, revoked and expired ones included, oldest first (never their values: only hashes are kept). */
export function listTokensOf(db: Kysely<Database>, user: Pick<Account, 'id'>): Promise<Token[]> {
  return listTokensForUser(db, user.id);
}

/**
 * A token the caller issues to themselves (the settings page). It may carry only scopes the
 * caller's own token holds, directly or through a wider scope: a session signed in with a
 * `public_repo` token must not mint a `repo` or `site_admin` token, any more than that token
 * could revoke a wider one (`revokeTokenAs`). Audited as `oauth_access.create`.
 */
export async function issueOwnToken(db: Kysely<Database>, caller: Principal, scopes: string[], options: { note: string | null; expiresAt: string | null }): Promise<IssuedToken> {
  const unknown = unknownScopes(scopes);
  if (unknown.length) throw new ValidationError([{ resource: 'OauthAccess', field: 'scopes', code: 'invalid', message: `Unknown scope ${unknown.join(', ')}.` }]);
  const lacking = scopes.filter((s) => !hasScope(caller, s));
  if (lacking.length) {
    throw new ValidationError([
      {
        resource: 'OauthAccess',
        field: 'scopes',
        code: 'invalid',
        message: `You are signed in with a token that lacks ${lacking.join(', ')}; a new token cannot have more than it.`,
      },
    ]);
  }
  if (options.note !== null && options.note.length > 255)
    throw new ValidationError([{ resource: 'OauthAccess', field: 'note', code: 'invalid', message: 'The note is longer than 255 characters.' }]);
  return issueToken(db, caller.user, scopes, { ...options, actor: actorOf(caller) });
}

/** What the audit log says about a token: never the token, nor its hash. */
function tokenData(token: Token): Record<string, unknown> {
  return { token_id: token.id, token_last_eight: token.token_last_eight, scopes: token.scopes.split(' ').filter(Boolean), note: token.note, expires_at: token.expires_at };
}

/**
 * Resolves a presented token to its user, or null when it is unknown, revoked, expired, or its
 * user is suspended. The hash lookup goes through an index; the final comparison is constant-time
 * so that timing reveals nothing about near-misses.
 */
export async function authenticateToken(db: Kysely<Database>, presented: string): Promise<Principal | null> {
  if (presented.length === 0 || presented.length > 512) return null;
  return authenticateTokenHash(db, hashToken(presented));
}

/** `authenticateToken` by the token's hash (`hashToken`), for a caller that has computed it already. */
export async function authenticateTokenHash(db: Kysely<Database>, hash: string): Promise<Principal | null> {
  const found = await findTokenWithUser(db, hash);
  if (!found) return null;
  const a = Buffer.from(found.token.token_hash, 'hex');
  const b = Buffer.from(hash, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
  if (found.token.revoked_at) return null;
  // A password session's token is never given out; should its value leak anyway, it is no API credential.
  if (found.token.kind !== 'personal') return null;
  if (found.token.expires_at && Date.parse(found.token.expires_at) <= Date.now()) return null;
  if (found.user.suspended_at) return null;
  await recordTokenUse(db, found.token);
  return { user: found.user, token: found.token, scopes: new Set(found.token.scopes.split(' ').filter(Boolean)) };
}

/** `last_used_at` is kept to the minute: finer would cost a write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Records that a token was just used (`last_used_at`, what an administrator looks at before
 * revoking a token), at most once a minute per token. The row read to authenticate tells
 * whether a write is due, so most requests write nothing.
 */
export async function recordTokenUse(db: Kysely<Database>, token: Token, now = Date.now()): Promise<void> {
  if (token.last_used_at && now - Date.parse(token.last_used_at) < LAST_USED_RESOLUTION_MS) return;
  await touchToken(db, token.id, isoSeconds(new Date(now)), isoSeconds(new Date(now - LAST_USED_RESOLUTION_MS)));
}

/** The note impersonation tokens carry (GHES names them so in its admin API). */
export const IMPERSONATION_NOTE = 'impersonation token';

/**
 * Revokes one token. Its owner and site administrators may; anyone else gets Not Found, so token
 * ids do not reveal whose they are. Revocation takes effect on the very next request on every node:
 * a remembered principal is used only while the credentials' generation it was looked up at is
 * current, and revoking bumps it (`services/principal-cache.ts`).
 */
/**
 * `DELETE /authorizations/{id}`. A token may always revoke itself. Another token of the same user
 * it may revoke only when it holds every scope that token holds: a scopeless or `public_repo`
 * token must not disable the `repo` token beside it. A site administrator (with the `site_admin`
 * scope) revokes anyone's. Others' tokens are 404, so their existence does not leak.
 */
export async function revokeTokenAs(db: Kysely<Database>, caller: Principal, id: number, actor: AuditActor): Promise<void> {
  const token = await findTokenById(db, id);
  const admin = actsAsSiteAdmin(caller);
  if (!token || token.revoked_at || (token.user_id !== caller.user.id && !admin)) throw new NotFoundError();
  if (!admin && token.id !== caller.token.id) {
    const lacking = token.scopes.split(' ').filter((s) => s && !hasScope(caller, s));
    if (lacking.length) throw missingScope(lacking);
  }
  const owner = token.user_id === caller.user.id ? caller.user : await findAccountById(db, token.user_id);
  await revokeTokenBy(db, token, owner ?? { id: token.user_id, login: `user ${token.user_id}` }, actor);
}

/** Revokes a token and records `oauth_access.destroy`, in one transaction. */
export async function revokeTokenBy(db: Kysely<Database>, token: Token, owner: Pick<Account, 'id' | 'login'>, actor: AuditActor): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (await revokeToken(trx, token.id, isoSeconds())) {
      await recordAudit(trx, { action: 'oauth_access.destroy', actor, user: owner, data: tokenData(token) });
    }
  });
}

/** Revokes every live impersonation token of a user (`DELETE /admin/users/{username}/authorizations`). */
export async function revokeImpersonationTokens(db: Kysely<Database>, user: Pick<Account, 'id' | 'login'>, actor: AuditActor): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const revoked = await revokeTokensByNote(trx, user.id, IMPERSONATION_NOTE, isoSeconds());
    if (revoked > 0) await recordAudit(trx, { action: 'oauth_access.destroy', actor, user, data: { impersonation_tokens: revoked } });
    return revoked;
  });
}
