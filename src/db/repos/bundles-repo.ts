/**
 * @module db/repos/bundles-repo
 * SQL for offline bundles: trusted roots of other instances and the origins of imported repositories.
 */
import type { Kysely } from 'kysely';
import type { BundleOrigin, Database, TrustedRootRow } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

// Asked by every write to a repository (an imported one's is refused): compiled once (`db/compiled-once.ts`).
const bundleOriginOf = compiledOnce('wharf_bundle_origin_of', (db, repositoryId: number) => db.selectFrom('bundle_origins').selectAll().where('repository_id', '=', repositoryId));

/** Inserts the document unless the same one is trusted already; true when it was new. */
export async function insertTrustedRoot(db: Kysely<Database>, row: TrustedRootRow): Promise<boolean> {
  const result = await db
    .insertInto('trusted_roots')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function listTrustedRoots(db: Kysely<Database>): Promise<TrustedRootRow[]> {
  return db.selectFrom('trusted_roots').selectAll().orderBy('added_at').orderBy('id').execute();
}

export async function deleteTrustedRoot(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('trusted_roots').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function findBundleOrigin(db: Kysely<Database>, repositoryId: number): Promise<BundleOrigin | undefined> {
  return (await bundleOriginOf(db, repositoryId)).rows[0];
}

/** Records (or refreshes) where a repository's releases are imported from. */
export async function upsertBundleOrigin(db: Kysely<Database>, row: BundleOrigin): Promise<void> {
  await db
    .insertInto('bundle_origins')
    .values(row)
    .onConflict((oc) => oc.column('repository_id').doUpdateSet({ key_id: row.key_id, imported_at: row.imported_at, origin_instance: row.origin_instance }))
    .execute();
}

export async function deleteBundleOrigin(db: Kysely<Database>, repositoryId: number): Promise<boolean> {
  const result = await db.deleteFrom('bundle_origins').where('repository_id', '=', repositoryId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
