/**
 * @module db/repos/reactions-repo
 * SQL for release reactions. `(release_id, user_id, content)` is unique in the database, so a
 * user's identical reactions sent at once end as one row whichever node takes them.
 */
import type { Kysely } from 'kysely';
import type { Database, ReleaseReaction, ReleaseReactionContent } from '../schema.ts';

/**
 * Inserts the reaction unless this user already left it; returns the new row, or undefined when
 * the unique key already held one (`on conflict do nothing`, so the loser of a race does not fail
 * its statement or, on PostgreSQL, a surrounding transaction).
 */
export async function insertReactionIfAbsent(
  db: Kysely<Database>,
  releaseId: number,
  userId: number,
  content: ReleaseReactionContent,
  now: string,
): Promise<ReleaseReaction | undefined> {
  return db
    .insertInto('release_reactions')
    .values({ release_id: releaseId, user_id: userId, content, created_at: now })
    .onConflict((oc) => oc.columns(['release_id', 'user_id', 'content']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function findUserReaction(db: Kysely<Database>, releaseId: number, userId: number, content: ReleaseReactionContent): Promise<ReleaseReaction | undefined> {
  return db.selectFrom('release_reactions').selectAll().where('release_id', '=', releaseId).where('user_id', '=', userId).where('content', '=', content).executeTakeFirst();
}

export async function findReaction(db: Kysely<Database>, releaseId: number, id: number): Promise<ReleaseReaction | undefined> {
  return db.selectFrom('release_reactions').selectAll().where('release_id', '=', releaseId).where('id', '=', id).executeTakeFirst();
}

/** True when this call removed the row (false when a concurrent delete got there first). */
export async function deleteReaction(db: Kysely<Database>, id: number): Promise<boolean> {
  const r = await db.deleteFrom('release_reactions').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** One page of a release's reactions, oldest first, optionally of one content, with the total. */
export async function listReactionsPage(
  db: Kysely<Database>,
  releaseId: number,
  content: ReleaseReactionContent | null,
  limit: number,
  offset: number,
): Promise<{ rows: ReleaseReaction[]; total: number }> {
  let q = db.selectFrom('release_reactions').where('release_id', '=', releaseId);
  if (content) q = q.where('content', '=', content);
  const rows = await q.selectAll().orderBy('id').limit(limit).offset(offset).execute();
  const count = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

/** Counts by content for several releases in one query (the `reactions` rollup of a list page). */
export async function countReactionsForReleases(db: Kysely<Database>, releaseIds: number[]): Promise<Map<number, Map<string, number>>> {
  const byRelease = new Map<number, Map<string, number>>(releaseIds.map((id) => [id, new Map()]));
  if (releaseIds.length === 0) return byRelease;
  const rows = await db
    .selectFrom('release_reactions')
    .select(['release_id', 'content', (eb) => eb.fn.countAll<number>().as('n')])
    .where('release_id', 'in', releaseIds)
    .groupBy(['release_id', 'content'])
    .execute();
  for (const row of rows) byRelease.get(Number(row.release_id))?.set(row.content, Number(row.n));
  return byRelease;
}

/** Records that the release's reaction rollup changed (its Last-Modified). */
export async function touchReactions(db: Kysely<Database>, releaseId: number, now: string): Promise<void> {
  await db.updateTable('releases').set({ reactions_changed_at: now }).where('id', '=', releaseId).execute();
}
