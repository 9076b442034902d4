/**
 * @module db/repos/idempotency-keys-repo
 * SQL for `Idempotency-Key`s. The primary key (user, key) decides which request holds a key,
 * on every node; every later write of the holder is guarded by its `token`, so a request that
 * lost its hold (its lease ran out and another request took the key) records nothing.
 */
import type { Kysely, UpdateQueryBuilder, UpdateResult } from 'kysely';
import type { Database, IdempotencyKeyRow } from '../schema.ts';

export async function insertIdempotencyKey(db: Kysely<Database>, row: IdempotencyKeyRow): Promise<void> {
  await db.insertInto('idempotency_keys').values(row).execute();
}

export async function findIdempotencyKey(db: Kysely<Database>, userId: number, key: string): Promise<IdempotencyKeyRow | undefined> {
  return db.selectFrom('idempotency_keys').selectAll().where('user_id', '=', userId).where('idempotency_key', '=', key).executeTakeFirst();
}

/** Forgets the key if it expired, or if the request holding it stopped renewing its lease. */
export async function deleteStaleIdempotencyKey(db: Kysely<Database>, userId: number, key: string, nowMs: number): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('user_id', '=', userId)
    .where('idempotency_key', '=', key)
    .where((eb) => eb.or([eb('expires_at', '<=', nowMs), eb.and([eb('state', '=', 'in_progress'), eb('lease_until', '<', nowMs)])]))
    .execute();
}

/** An update of the key `token`'s request still holds (in progress, not taken over). */
function heldKey(update: UpdateQueryBuilder<Database, 'idempotency_keys', 'idempotency_keys', UpdateResult>, userId: number, key: string, token: string) {
  return update.where('user_id', '=', userId).where('idempotency_key', '=', key).where('token', '=', token).where('state', '=', 'in_progress');
}

export async function renewIdempotencyLease(db: Kysely<Database>, userId: number, key: string, token: string, untilMs: number): Promise<boolean> {
  const r = await heldKey(db.updateTable('idempotency_keys').set({ lease_until: untilMs }), userId, key, token).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Records what the holding request made; false when it no longer holds the key. */
export async function completeIdempotencyKey(
  db: Kysely<Database>,
  userId: number,
  key: string,
  token: string,
  made: { release_id?: number; asset_id?: number; content_digest?: string },
): Promise<boolean> {
  const r = await heldKey(db.updateTable('idempotency_keys').set({ ...made, state: 'completed' }), userId, key, token).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Lets a key go whose request failed (or, `completed` too, whose result was undone), so that a retry runs afresh. */
export async function abandonIdempotencyKey(db: Kysely<Database>, userId: number, key: string, token: string, completed = false): Promise<void> {
  let q = db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('idempotency_key', '=', key).where('token', '=', token);
  if (!completed) q = q.where('state', '=', 'in_progress');
  await q.execute();
}

/** Removes expired keys and held keys whose request died; how many. */
export async function deleteExpiredIdempotencyKeys(db: Kysely<Database>, nowMs: number): Promise<number> {
  const r = await db
    .deleteFrom('idempotency_keys')
    .where((eb) => eb.or([eb('expires_at', '<=', nowMs), eb.and([eb('state', '=', 'in_progress'), eb('lease_until', '<', nowMs)])]))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
