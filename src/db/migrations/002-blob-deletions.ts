/**
 * Markers for blob deletions in progress. Blobs are content-addressed and shared, so deleting an
 * unreferenced blob can race with an upload of identical bytes; the marker lets the upload see
 * that a deletion of its key is under way and wait for it before checking that its bytes exist.
 */
import type { Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('blob_deletions')
    .addColumn('blob_key', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('blob_deletions').execute();
}
