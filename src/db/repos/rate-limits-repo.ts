/**
 * @module db/repos/rate-limits-repo
 * SQL for rate-limit counters: one row per bucket (a caller) and fixed window, counted with an
 * atomic upsert so concurrent requests on any node never lose a count.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Adds one to a bucket's count in a window and returns the new count. */
export function countOne(db: Kysely<Database>, bucket: string, windowStart: number): Promise<number> {
  return countBy(db, bucket, windowStart, 1);
}

/**
 * Adds `points` to a bucket's count in a window (a GraphQL query's cost, or the requests a node
 * gathered since its last write; negative after refunds) and returns the new count.
 */
export async function countBy(db: Kysely<Database>, bucket: string, windowStart: number, points: number): Promise<number> {
  const row = await db
    .insertInto('rate_limits')
    .values({ bucket, window_start: windowStart, used: Math.max(0, points) })
    .onConflict((oc) => oc.columns(['bucket', 'window_start']).doUpdateSet({ used: sql`rate_limits.used + ${points}` }))
    .returning('used')
    .executeTakeFirstOrThrow();
  return Number(row.used);
}

export async function countIn(db: Kysely<Database>, bucket: string, windowStart: number): Promise<number> {
  const row = await db.selectFrom('rate_limits').select('used').where('bucket', '=', bucket).where('window_start', '=', windowStart).executeTakeFirst();
  return Number(row?.used ?? 0);
}

/** Deletes every window that started before `windowStart`; returns how many went. */
export async function deleteWindowsBefore(db: Kysely<Database>, windowStart: number): Promise<number> {
  const res = await db.deleteFrom('rate_limits').where('window_start', '<', windowStart).executeTakeFirst();
  return Number(res.numDeletedRows);
}
