/**
 * @module db/repos/assets-repo
 * SQL for release assets. `(release_id, name)` is unique in the database, which is what makes
 * concurrent uploads of one name give exactly one winner. Also the draft lookup of the browser
 * URLs, and the markers of blob deletions in progress.
 */
import type { Kysely } from 'kysely';
import type { Asset, Database, Release } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

// Made for every release answered or recorded in an event: compiled once per number of releases (`db/compiled-once.ts`).
const assetsOfReleases = compiledOnce('wharf_assets_of_releases', (db, releaseIds: number[], includeIncomplete: boolean) => {
  const q = db.selectFrom('assets').selectAll().where('release_id', 'in', releaseIds);
  return (includeIncomplete ? q : q.where('state', '=', 'uploaded')).orderBy('release_id').orderBy('id');
});

/**
 * Assets of several releases at once (one query, for lists of releases), in upload order.
 * Only `uploaded` assets unless `includeIncomplete`.
 */
export async function listAssetsForReleases(db: Kysely<Database>, releaseIds: number[], includeIncomplete = false): Promise<Map<number, Asset[]>> {
  const byRelease = new Map<number, Asset[]>(releaseIds.map((id) => [id, []]));
  if (releaseIds.length === 0) return byRelease;
  const { rows } = await assetsOfReleases(db, releaseIds, includeIncomplete);
  for (const row of rows) byRelease.get(row.release_id)?.push(row);
  return byRelease;
}

// ---- releases, as the browser URLs need them ----

/** A draft by the placeholder in its `untagged-<hex>` URLs. */
export async function findDraftByUntaggedKey(db: Kysely<Database>, repositoryId: number, key: string): Promise<Release | undefined> {
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('untagged_key', '=', key).where('draft', '=', 1).executeTakeFirst();
}

// ---- assets ----

export interface NewOpenAsset {
  releaseId: number;
  repositoryId: number;
  name: string;
  label: string | null;
  contentType: string;
  size: number;
  uploaderId: number;
  now: string;
}

/** The columns every new asset row starts with; the caller adds its state and bytes. */
function newAssetRow(a: NewOpenAsset) {
  return {
    release_id: a.releaseId,
    repository_id: a.repositoryId,
    name: a.name,
    label: a.label,
    content_type: a.contentType,
    size: a.size,
    download_count: 0,
    uploader_id: a.uploaderId,
    created_at: a.now,
    updated_at: a.now,
  };
}

/** Claims the name with an `open` row; throws a unique violation when the name is taken. */
export async function insertOpenAsset(db: Kysely<Database>, a: NewOpenAsset): Promise<Asset> {
  return db
    .insertInto('assets')
    .values({ ...newAssetRow(a), digest: null, blob_key: null, state: 'open' })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface NewUploadedAsset extends NewOpenAsset {
  /** sha256 hex of the stored bytes. */
  digest: string;
  blobKey: string;
  /** Which file of the origin the bytes are (a mirror's upstream identity, services/mirror-upstream.ts). */
  upstreamIdentity?: string | null;
}

/**
 * Inserts assets whose bytes are already stored, `uploaded` at once (a release that arrives whole:
 * mirror sync, bundle import), in insertion order; throws a unique violation for a name taken.
 */
export async function insertUploadedAssets(db: Kysely<Database>, rows: NewUploadedAsset[]): Promise<Asset[]> {
  const out: Asset[] = [];
  // One row per statement: the ids come back in upload order on both databases.
  for (const a of rows) {
    out.push(
      await db
        .insertInto('assets')
        .values({ ...newAssetRow(a), digest: a.digest, blob_key: a.blobKey, state: 'uploaded', upstream_identity: a.upstreamIdentity ?? null })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
  }
  return out;
}

/** Records which upstream file a mirrored asset's bytes came from. */
export async function setUpstreamIdentity(db: Kysely<Database>, id: number, identity: string | null): Promise<void> {
  await db.updateTable('assets').set({ upstream_identity: identity }).where('id', '=', id).execute();
}

export async function countAssets(db: Kysely<Database>, releaseId: number): Promise<number> {
  const row = await db
    .selectFrom('assets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('release_id', '=', releaseId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Refreshes the lease of an upload in progress; false when the row is gone (swept or deleted). */
export async function renewOpenAsset(db: Kysely<Database>, id: number, now: string): Promise<boolean> {
  const r = await db.updateTable('assets').set({ updated_at: now }).where('id', '=', id).where('state', '=', 'open').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Records the blob an upload produced while still `open`, so blob GC sees the reference. */
export async function attachBlob(db: Kysely<Database>, id: number, key: string, now: string): Promise<boolean> {
  const r = await db.updateTable('assets').set({ blob_key: key, updated_at: now }).where('id', '=', id).where('state', '=', 'open').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function markUploaded(db: Kysely<Database>, id: number, v: { digest: string; size: number; now: string }): Promise<Asset | undefined> {
  return db
    .updateTable('assets')
    .set({ state: 'uploaded', digest: v.digest, size: v.size, updated_at: v.now })
    .where('id', '=', id)
    .where('state', '=', 'open')
    .returningAll()
    .executeTakeFirst();
}

/** Deletes an asset row; with `onlyOpen`, only while its upload is unfinished. Returns the deleted row. */
export async function deleteAssetRow(db: Kysely<Database>, id: number, onlyOpen = false): Promise<Asset | undefined> {
  let q = db.deleteFrom('assets').where('id', '=', id);
  if (onlyOpen) q = q.where('state', '=', 'open');
  return q.returningAll().executeTakeFirst();
}

export async function findAssetInRepository(db: Kysely<Database>, repositoryId: number, id: number): Promise<Asset | undefined> {
  return db.selectFrom('assets').selectAll().where('repository_id', '=', repositoryId).where('id', '=', id).executeTakeFirst();
}

export async function findAssetByName(db: Kysely<Database>, releaseId: number, name: string): Promise<Asset | undefined> {
  return db.selectFrom('assets').selectAll().where('release_id', '=', releaseId).where('name', '=', name).executeTakeFirst();
}

export async function listAssetsPage(db: Kysely<Database>, releaseId: number, offset: number, limit: number): Promise<Asset[]> {
  return db.selectFrom('assets').selectAll().where('release_id', '=', releaseId).orderBy('id').offset(offset).limit(limit).execute();
}

/** Updates an asset's name or label; undefined when it no longer exists (a concurrent delete won). */
export async function updateAssetFields(db: Kysely<Database>, id: number, set: { name?: string; label?: string | null; updated_at: string }): Promise<Asset | undefined> {
  return db.updateTable('assets').set(set).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function incrementDownloadCount(db: Kysely<Database>, id: number): Promise<void> {
  await db
    .updateTable('assets')
    .set((eb) => ({ download_count: eb('download_count', '+', 1) }))
    .where('id', '=', id)
    .execute();
}

/** The blobs a release's assets use, to collect after the release is deleted. */
export async function releaseBlobKeys(db: Kysely<Database>, releaseId: number): Promise<string[]> {
  const rows = await db.selectFrom('assets').select('blob_key').where('release_id', '=', releaseId).where('blob_key', 'is not', null).execute();
  return rows.map((r) => r.blob_key!);
}

/**
 * Uploads whose lease ran out (the uploading process died or stalled). A resumable upload's
 * asset is not among them: it lives until the upload itself expires.
 */
export async function listExpiredOpenAssets(db: Kysely<Database>, before: string, limit = 500): Promise<Asset[]> {
  return db
    .selectFrom('assets')
    .selectAll()
    .where('state', '=', 'open')
    .where('updated_at', '<', before)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('resumable_uploads').select('resumable_uploads.id').whereRef('resumable_uploads.asset_id', '=', 'assets.id'))))
    .limit(limit)
    .execute();
}

/** Which of `keys` some asset (in any state) still references. */
export async function referencedBlobKeys(db: Kysely<Database>, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db
    .selectFrom('assets')
    .select('blob_key')
    .where('blob_key', 'in', keys)
    .union(db.selectFrom('blob_holds').select('blob_key').where('blob_key', 'in', keys))
    .execute();
  return new Set(rows.map((r) => r.blob_key).filter((k): k is string => k !== null));
}

// ---- blob holds ----

export async function insertBlobHold(db: Kysely<Database>, id: string, key: string, now: string): Promise<void> {
  await db.insertInto('blob_holds').values({ id, blob_key: key, held_at: now }).execute();
}

/** Keeps a hold fresh: the sweeper removes holds older than an upload's lease as a dead process's. */
export async function renewBlobHold(db: Kysely<Database>, id: string, now: string): Promise<void> {
  await db.updateTable('blob_holds').set({ held_at: now }).where('id', '=', id).execute();
}

export async function deleteBlobHold(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('blob_holds').where('id', '=', id).execute();
}

/** Holds left by a process that died between storing bytes and referencing them. */
export async function deleteStaleBlobHolds(db: Kysely<Database>, before: string): Promise<void> {
  await db.deleteFrom('blob_holds').where('held_at', '<', before).execute();
}

// ---- blob deletion markers ----

/** Claims the deletion of a blob; false when another process is already deleting it. */
export async function beginBlobDeletion(db: Kysely<Database>, key: string, now: string): Promise<boolean> {
  const r = await db
    .insertInto('blob_deletions')
    .values({ blob_key: key, started_at: now })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
}

export async function endBlobDeletion(db: Kysely<Database>, key: string): Promise<void> {
  await db.deleteFrom('blob_deletions').where('blob_key', '=', key).execute();
}

export async function findBlobDeletion(db: Kysely<Database>, key: string): Promise<{ started_at: string } | undefined> {
  return db.selectFrom('blob_deletions').select('started_at').where('blob_key', '=', key).executeTakeFirst();
}

/** Markers left by a process that died mid-deletion. */
export async function deleteStaleBlobDeletions(db: Kysely<Database>, before: string): Promise<void> {
  await db.deleteFrom('blob_deletions').where('started_at', '<', before).execute();
}
