/**
 * @module db/repos/sessions-repo
 * SQL for browser sessions. A session is looked up by the hash of its id together with the token
 * and user it acts for, in one query.
 */
import type { Kysely } from 'kysely';
import type { Account, Database, Session, SessionMethod, Token } from '../schema.ts';

export async function insertSession(db: Kysely<Database>, row: Omit<Session, 'method'> & { method: SessionMethod }): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

export interface SessionWithPrincipal {
  session: Session;
  token: Token;
  user: Account;
}

export async function findSessionWithPrincipal(db: Kysely<Database>, idHash: string): Promise<SessionWithPrincipal | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('tokens', 'tokens.id', 'sessions.token_id')
    .innerJoin('accounts', 'accounts.id', 'sessions.user_id')
    .select([
      'sessions.id_hash',
      'sessions.user_id',
      'sessions.token_id',
      'sessions.csrf_secret',
      'sessions.created_at as session_created_at',
      'sessions.expires_at as session_expires_at',
      'sessions.method',
      'sessions.address',
      'sessions.user_agent',
    ])
    .select([
      'tokens.token_hash',
      'tokens.token_last_eight',
      'tokens.scopes',
      'tokens.note',
      'tokens.created_at as token_created_at',
      'tokens.expires_at as token_expires_at',
      'tokens.revoked_at',
      'tokens.last_used_at',
      'tokens.last_used_ip',
      'tokens.user_id as token_user_id',
      'tokens.kind',
    ])
    .select([
      'accounts.login',
      'accounts.login_lower',
      'accounts.type',
      'accounts.name',
      'accounts.email',
      'accounts.site_admin',
      'accounts.suspended_at',
      'accounts.created_at as account_created_at',
      'accounts.updated_at as account_updated_at',
    ])
    .where('sessions.id_hash', '=', idHash)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    session: {
      id_hash: row.id_hash,
      user_id: row.user_id,
      token_id: row.token_id,
      csrf_secret: row.csrf_secret,
      created_at: row.session_created_at,
      expires_at: row.session_expires_at,
      method: row.method,
      address: row.address,
      user_agent: row.user_agent,
    },
    token: {
      id: row.token_id,
      user_id: row.token_user_id,
      token_hash: row.token_hash,
      token_last_eight: row.token_last_eight,
      scopes: row.scopes,
      note: row.note,
      created_at: row.token_created_at,
      expires_at: row.token_expires_at,
      revoked_at: row.revoked_at,
      last_used_at: row.last_used_at,
      last_used_ip: row.last_used_ip,
      kind: row.kind,
    },
    user: {
      id: row.user_id,
      login: row.login,
      login_lower: row.login_lower,
      type: row.type,
      name: row.name,
      email: row.email,
      site_admin: row.site_admin,
      suspended_at: row.suspended_at,
      created_at: row.account_created_at,
      updated_at: row.account_updated_at,
    },
  };
}

export async function deleteSession(db: Kysely<Database>, idHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
}

/** Ends every session of a user but `keepIdHash` (when given); returns how many ended. */
export async function deleteSessionsOfUser(db: Kysely<Database>, userId: number, keepIdHash?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepIdHash !== undefined) query = query.where('id_hash', '<>', keepIdHash);
  const res = await query.executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** A user's live sessions, newest first, with the token each acts with. */
export async function listSessionsOfUser(db: Kysely<Database>, userId: number, now: string): Promise<(Session & { token_last_eight: string; token_kind: Token['kind'] })[]> {
  return db
    .selectFrom('sessions')
    .innerJoin('tokens', 'tokens.id', 'sessions.token_id')
    .selectAll('sessions')
    .select(['tokens.token_last_eight', 'tokens.kind as token_kind'])
    .where('sessions.user_id', '=', userId)
    .where('sessions.expires_at', '>', now)
    .orderBy('sessions.created_at', 'desc')
    .orderBy('sessions.id_hash')
    .execute();
}

/**
 * Deletes the tokens password sign-ins made for sessions that no longer exist (signed out,
 * expired, ended everywhere); `userId` limits it to one user.
 */
export async function deleteOrphanSessionTokens(db: Kysely<Database>, userId?: number): Promise<number> {
  let query = db
    .deleteFrom('tokens')
    .where('kind', '=', 'session')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('sessions').select('sessions.id_hash').whereRef('sessions.token_id', '=', 'tokens.id'))));
  if (userId !== undefined) query = query.where('user_id', '=', userId);
  const res = await query.executeTakeFirst();
  return Number(res.numDeletedRows);
}

export async function deleteExpiredSessions(db: Kysely<Database>, now: string): Promise<number> {
  const res = await db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/**
 * Sessions from before CSRF secrets were derived kept theirs in clear text; nothing reads the
 * column any more, so the stored values are blanked.
 */
export async function forgetStoredCsrfSecrets(db: Kysely<Database>): Promise<void> {
  await db.updateTable('sessions').set({ csrf_secret: '' }).where('csrf_secret', '<>', '').execute();
}
