/**
 * @module db/repos/releases-repo
 * SQL for releases. `(repository_id, published_tag)` is unique, where `published_tag` is the tag
 * of a published release and NULL for drafts: so published releases cannot share a tag while any
 * number of drafts can, and concurrent creates for one tag have exactly one winner.
 */
import { sql, type Kysely } from 'kysely';
import type { Database, NewRelease, Release, ReleaseUpdate } from '../schema.ts';
import { majorKeyRange } from '../../domain/release-version.ts';
import { compiledOnce, firstRowOrThrow } from '../compiled-once.ts';

// Made by every release's creation: compiled once (`db/compiled-once.ts`).
const insertReleaseRow = compiledOnce('wharf_insert_release', (db, row: NewRelease) => db.insertInto('releases').values(row).returningAll());

export async function insertRelease(db: Kysely<Database>, row: NewRelease): Promise<Release> {
  return firstRowOrThrow(await insertReleaseRow(db, row));
}

export async function findRelease(db: Kysely<Database>, repositoryId: number, id: number): Promise<Release | undefined> {
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('id', '=', id).executeTakeFirst();
}

/**
 * The release as it is now, its row locked until the end of `trx` (a no-op update: a row lock on
 * PostgreSQL, the write lock on SQLite), so a concurrent publish is wholly before or after.
 */
export async function lockRelease(trx: Kysely<Database>, id: number): Promise<Release | undefined> {
  return trx
    .updateTable('releases')
    .set((eb) => ({ immutable: eb.ref('immutable') }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
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

/** Optional narrowing and order of a release list (documented extensions of GitHub's list). */
export interface ReleaseListFilter {
  channels?: string[];
  prefix?: string;
  /** `created` (GitHub's order, the default) or `version` (highest first; releases without a version last). */
  sort?: 'created' | 'version';
  /** The pages' search: releases whose name or tag contains this text (case-insensitive for ASCII). */
  text?: string;
  /** The pages' kind filter: only full releases, only pre-releases, or only drafts (drafts still need `includeDrafts`). */
  kind?: 'release' | 'prerelease' | 'draft';
}

/** `LIKE` treats `%`, `_` and the escape character specially; searched text matches literally. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** One page of releases, newest first (by `created_at`, then id), or highest version first. */
export async function listReleasesPage(
  db: Kysely<Database>,
  repositoryId: number,
  includeDrafts: boolean,
  limit: number,
  offset: number,
  filter: ReleaseListFilter = {},
): Promise<{ rows: Release[]; total: number }> {
  let q = db.selectFrom('releases').where('repository_id', '=', repositoryId);
  if (!includeDrafts) q = q.where('draft', '=', 0);
  if (filter.channels) q = q.where('channel', 'in', filter.channels);
  if (filter.prefix !== undefined) q = q.where('tag_prefix', '=', filter.prefix);
  if (filter.text) {
    const pattern = containsPattern(filter.text);
    q = q.where(sql<boolean>`(lower(tag_name) like ${pattern} escape '\\' or lower(coalesce(name, '')) like ${pattern} escape '\\')`);
  }
  if (filter.kind === 'draft') q = q.where('draft', '=', 1);
  else if (filter.kind) q = q.where('draft', '=', 0).where('prerelease', '=', filter.kind === 'prerelease' ? 1 : 0);
  const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  if (filter.sort === 'version') {
    // Both dialects put releases without a version last (PostgreSQL would sort NULL first in desc).
    const unversioned = sql<number>`case when version_key is null then 1 else 0 end`;
    const pageIds = q.select('id').orderBy(unversioned).orderBy('version_key', 'desc').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset);
    const rows = await db
      .selectFrom('releases')
      .selectAll()
      .where('id', 'in', pageIds)
      .orderBy(unversioned)
      .orderBy('version_key', 'desc')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
    return { rows, total: Number(totalRow?.n ?? 0) };
  }
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

/** Which published releases a "latest in a line" question is about (domain/release-version.ts). */
export interface VersionLine {
  /** Channels to consider; all when absent. */
  channels?: string[];
  prefix?: string;
  major?: number;
  /** Only releases GitHub's "latest" may be: not flagged prerelease. */
  fullReleasesOnly?: boolean;
  excludeId?: number;
}

/** Published releases of a line, highest version first (releases without a version never are in one). */
export async function listByVersion(db: Kysely<Database>, repositoryId: number, line: VersionLine, limit: number): Promise<Release[]> {
  let q = db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('draft', '=', 0).where('version_key', 'is not', null);
  if (line.channels) q = q.where('channel', 'in', line.channels);
  if (line.prefix !== undefined) q = q.where('tag_prefix', '=', line.prefix);
  if (line.major !== undefined) {
    const range = majorKeyRange(line.major);
    q = q.where('version_key', '>=', range.from).where('version_key', '<', range.to);
  }
  if (line.fullReleasesOnly) q = q.where('prerelease', '=', 0);
  if (line.excludeId !== undefined) q = q.where('id', '!=', line.excludeId);
  return q.orderBy('version_key', 'desc').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** The published release with the highest version in a line. */
export async function findHighestVersion(db: Kysely<Database>, repositoryId: number, line: VersionLine): Promise<Release | undefined> {
  return (await listByVersion(db, repositoryId, line, 1))[0];
}

/** What a release stores from its tag by the repository's rules (services/release-channels `versionColumns`). */
export type VersionColumns = Pick<Release, 'channel' | 'channel_override' | 'tag_prefix' | 'version' | 'version_key' | 'version_major'>;

/** Every release of the repository with its tag and the version columns it stores now, for recomputing them when the rules change. */
export async function listReleaseTags(db: Kysely<Database>, repositoryId: number): Promise<Array<Pick<Release, 'id' | 'tag_name' | 'prerelease'> & VersionColumns>> {
  return db
    .selectFrom('releases')
    .select(['id', 'tag_name', 'prerelease', 'channel', 'channel_override', 'tag_prefix', 'version', 'version_key', 'version_major'])
    .where('repository_id', '=', repositoryId)
    .execute();
}

/** Releases per statement in `updateVersionColumns`: 13 parameters each, well under SQLite's and PostgreSQL's limits. */
const VERSION_UPDATE_BATCH = 500;

/**
 * Stores new version columns for many releases, a few hundred per UPDATE: each column is a
 * `CASE id WHEN … THEN …` over the batch. The values are cast so PostgreSQL types the
 * parameters by the cast rather than guessing text for all of them.
 */
export async function updateVersionColumns(db: Kysely<Database>, rows: ReadonlyArray<{ id: number } & VersionColumns>): Promise<void> {
  for (let start = 0; start < rows.length; start += VERSION_UPDATE_BATCH) {
    const batch = rows.slice(start, start + VERSION_UPDATE_BATCH);
    const text = (pick: (r: VersionColumns) => string | null) =>
      sql<string>`case id ${sql.join(
        batch.map((r) => sql`when ${r.id} then cast(${pick(r)} as text)`),
        sql` `,
      )} end`;
    const integer = (pick: (r: VersionColumns) => number | null) =>
      sql<number>`case id ${sql.join(
        batch.map((r) => sql`when ${r.id} then cast(${pick(r)} as integer)`),
        sql` `,
      )} end`;
    await db
      .updateTable('releases')
      .set({
        channel: text((r) => r.channel),
        channel_override: text((r) => r.channel_override),
        tag_prefix: text((r) => r.tag_prefix),
        version: text((r) => r.version),
        version_key: text((r) => r.version_key),
        version_major: integer((r) => r.version_major),
      })
      .where(
        'id',
        'in',
        batch.map((r) => r.id),
      )
      .execute();
  }
}

/** Published releases per channel with their count, for the channel overview. */
export async function countReleasesByChannel(db: Kysely<Database>, repositoryId: number): Promise<{ channel: string; tag_prefix: string; n: number }[]> {
  const rows = await db
    .selectFrom('releases')
    .select(['channel', 'tag_prefix', (eb) => eb.fn.countAll<number>().as('n')])
    .where('repository_id', '=', repositoryId)
    .where('draft', '=', 0)
    .groupBy(['channel', 'tag_prefix'])
    .orderBy('tag_prefix')
    .orderBy('channel')
    .execute();
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}
