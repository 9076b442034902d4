/**
 * @module db/repos/releases-repo
 * SQL for releases. `(repository_id, published_tag)` is unique, where `published_tag` is the tag
 * of a published release and NULL for drafts: so published releases cannot share a tag while any
 * number of drafts can, and concurrent creates for one tag have exactly one winner.
 */
import type { Kysely } from 'kysely';
import type { Database, NewRelease, Release, ReleaseUpdate } from '../schema.ts';

export async function insertRelease(db: Kysely<Database>, row: NewRelease): Promise<Release> {
  return db.insertInto('releases').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findRelease(db: Kysely<Database>, repositoryId: number, id: number): Promise<Release | undefined> {
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('id', '=', id).executeTakeFirst();
}

export async function findPublishedByTag(db: Kysely<Database>, repositoryId: number, tag: string): Promise<Release | undefined> {
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('published_tag', '=', tag).executeTakeFirst();
}

/** The newest release with this tag, drafts included (for callers that may see drafts). */
export async function findNewestByTag(db: Kysely<Database>, repositoryId: number, tag: string, includeDrafts: boolean): Promise<Release | undefined> {
  let q = db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('tag_name', '=', tag);
  if (!includeDrafts) q = q.where('draft', '=', 0);
  // A published release wins over drafts of the same tag; then the newest.
  return q.orderBy('draft', 'asc').orderBy('id', 'desc').limit(1).executeTakeFirst();
}

/** One page of releases, newest first (by `created_at`, then id). */
export async function listReleasesPage(
  db: Kysely<Database>,
  repositoryId: number,
  includeDrafts: boolean,
  limit: number,
  offset: number,
): Promise<{ rows: Release[]; total: number }> {
  let q = db.selectFrom('releases').where('repository_id', '=', repositoryId);
  if (!includeDrafts) q = q.where('draft', '=', 0);
  const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  // The offset is skipped inside the index (the inner query reads no table rows), so page
  // 1,000 costs little more than page 1; only the page's own rows are then fetched.
  const pageIds = q.select('id').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset);
  const rows = await db.selectFrom('releases').selectAll().where('id', 'in', pageIds).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  return { rows, total: Number(totalRow?.n ?? 0) };
}

/** Updates a release; undefined when it no longer exists (a concurrent delete won). */
export async function updateReleaseRow(db: Kysely<Database>, id: number, update: ReleaseUpdate): Promise<Release | undefined> {
  return db.updateTable('releases').set(update).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteReleaseRow(db: Kysely<Database>, id: number): Promise<boolean> {
  await db.deleteFrom('assets').where('release_id', '=', id).execute();
  const res = await db.deleteFrom('releases').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Published full releases: the candidates for "latest". */
export async function listLatestCandidates(db: Kysely<Database>, repositoryId: number): Promise<Release[]> {
  return db
    .selectFrom('releases')
    .selectAll()
    .where('repository_id', '=', repositoryId)
    .where('draft', '=', 0)
    .where('prerelease', '=', 0)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(200)
    .execute();
}

export async function findPublishedWithTags(db: Kysely<Database>, repositoryId: number, tags: string[]): Promise<Release[]> {
  if (tags.length === 0) return [];
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('published_tag', 'in', tags).execute();
}
