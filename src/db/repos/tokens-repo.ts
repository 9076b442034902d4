/**
 * @module db/repos/tokens-repo
 * SQL for access tokens. Only hashes are stored; lookups go by hash through a unique index.
 */
import type { Kysely } from 'kysely';
import type { Account, Database, Token, TokenKind } from '../schema.ts';

export interface NewTokenRow {
  userId: number;
  hash: string;
  lastEight: string;
  scopes: string[];
  note: string | null;
  expiresAt: string | null;
  now: string;
  /** `personal` unless given. */
  kind?: TokenKind;
}

export async function insertToken(db: Kysely<Database>, row: NewTokenRow): Promise<Token> {
  return db
    .insertInto('tokens')
    .values({
      user_id: row.userId,
      token_hash: row.hash,
      token_last_eight: row.lastEight,
      scopes: row.scopes.join(' '),
      note: row.note,
      created_at: row.now,
      expires_at: row.expiresAt,
      revoked_at: null,
      last_used_at: null,
      kind: row.kind ?? 'personal',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findTokenWithUser(db: Kysely<Database>, hash: string): Promise<{ token: Token; user: Account } | undefined> {
  const token = await db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  if (!token) return undefined;
  const user = await db.selectFrom('accounts').selectAll().where('id', '=', token.user_id).executeTakeFirst();
  return user ? { token, user } : undefined;
}

export async function revokeToken(db: Kysely<Database>, id: number, now: string): Promise<boolean> {
  const res = await db.updateTable('tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** A user's personal access tokens (not the tokens password sign-ins make for their sessions). */
export async function listTokensForUser(db: Kysely<Database>, userId: number): Promise<Token[]> {
  return db.selectFrom('tokens').selectAll().where('user_id', '=', userId).where('kind', '=', 'personal').orderBy('id').execute();
}

/**
 * Records a use of the token unless one at or after `staleBefore` is already recorded (a
 * conditional write, so requests racing on several nodes write at most once between them).
 */
export async function touchToken(db: Kysely<Database>, id: number, now: string, staleBefore: string): Promise<void> {
  await db
    .updateTable('tokens')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
    .execute();
}

export async function findTokenById(db: Kysely<Database>, id: number): Promise<Token | undefined> {
  return db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Revokes a user's live tokens with the given note; returns how many were revoked. */
export async function revokeTokensByNote(db: Kysely<Database>, userId: number, note: string, now: string): Promise<number> {
  const res = await db.updateTable('tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('note', '=', note).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}
