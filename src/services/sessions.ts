/**
 * @module services/sessions
 * Browser sign-in. A user signs in with their login and one of their personal access tokens; the
 * session then acts with exactly that token's scopes, so a page never shows or allows more than
 * the API would with the same token, and revoking the token ends the session.
 *
 * The cookie carries 256 random bits; the database keeps only their sha256 (like tokens), so a
 * leaked database does not leak live sessions. Each session has its own CSRF secret, derived from
 * the session id (HMAC-SHA256 keyed with it), so it is stored nowhere and a copy of the database
 * yields neither a session nor a CSRF secret.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { deleteExpiredSessions, deleteSession, deleteSessionsOfUser, findSessionWithPrincipal, forgetStoredCsrfSecrets, insertSession } from '../db/repos/sessions-repo.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { actorOf, recordAudit } from './audit.ts';
import { authenticateToken, recordTokenUse, type Principal } from './tokens.ts';

/** How long a session lasts after sign-in. */
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

export interface WebSession {
  principal: Principal;
  csrfSecret: string;
  expiresAt: string;
}

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

/**
 * Checks a login and token and opens a session. The same message for every failure, so the form
 * does not reveal which logins exist.
 */
export async function signIn(ctx: AppContext, login: string, token: string, address: string): Promise<{ id: string; session: WebSession }> {
  const principal = await authenticateToken(ctx.db, token.trim());
  if (!principal || principal.user.login_lower !== login.trim().toLowerCase()) {
    // GitHub's `user.failed_login`; the login is what was typed, which may name nobody.
    await recordAudit(ctx.db, { action: 'user.failed_login', actor: { id: null, login: login.trim().slice(0, 64), ip: address }, data: { login: login.trim().slice(0, 64) } });
    throw new UnauthorizedError('Incorrect username or token.');
  }
  principal.address = address;
  const now = new Date();
  await deleteExpiredSessions(ctx.db, isoSeconds(now));
  await forgetStoredCsrfSecrets(ctx.db);
  const id = randomSecret();
  const csrfSecret = csrfSecretOf(id);
  const expiresAt = isoSeconds(new Date(now.getTime() + SESSION_TTL_MS));
  await ctx.db.transaction().execute(async (trx) => {
    await insertSession(trx, {
      id_hash: hashId(id),
      user_id: principal.user.id,
      token_id: principal.token.id,
      // Kept for the column's sake; the secret is derived from the id, never stored.
      csrf_secret: '',
      created_at: isoSeconds(now),
      expires_at: expiresAt,
    });
    await recordAudit(trx, { action: 'user.login', actor: actorOf(principal), user: principal.user, data: { token_last_eight: principal.token.token_last_eight } });
  });
  return { id, session: { principal, csrfSecret, expiresAt } };
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
  };
}

export async function signOut(ctx: AppContext, id: string): Promise<void> {
  await deleteSession(ctx.db, hashId(id));
}

/**
 * Ends every browser session of the caller, this one included (`user.logout_everywhere`, a Wharf
 * action). Their tokens keep working: a token is revoked on the tokens page.
 */
export async function signOutEverywhere(ctx: AppContext, caller: Principal): Promise<number> {
  return ctx.db.transaction().execute(async (trx) => {
    const ended = await deleteSessionsOfUser(trx, caller.user.id);
    await recordAudit(trx, { action: 'user.logout_everywhere', actor: actorOf(caller), user: caller.user, data: { sessions: ended } });
    return ended;
  });
}
