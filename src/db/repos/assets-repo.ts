/**
 * @module db/repos/assets-repo
 * SQL for release assets. `(release_id, name)` is unique in the database, which is what makes
 * concurrent uploads of one name give exactly one winner.
 */
import type { Kysely } from 'kysely';
import type { Asset, Database } from '../schema.ts';

/**
 * Assets of several releases at once (one query, for lists of releases), in upload order.
 * Only `uploaded` assets unless `includeIncomplete`.
 */
export async function listAssetsForReleases(db: Kysely<Database>, releaseIds: number[], includeIncomplete = false): Promise<Map<number, Asset[]>> {
  const byRelease = new Map<number, Asset[]>(releaseIds.map((id) => [id, []]));
  if (releaseIds.length === 0) return byRelease;
  let q = db.selectFrom('assets').selectAll().where('release_id', 'in', releaseIds);
  if (!includeIncomplete) q = q.where('state', '=', 'uploaded');
  const rows = await q.orderBy('release_id').orderBy('id').execute();
  for (const row of rows) byRelease.get(row.release_id)?.push(row);
  return byRelease;
}
