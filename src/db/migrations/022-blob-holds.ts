/**
 * Holds on blobs whose bytes are being stored under their key but that no asset row references
 * yet (a replace's new bytes, a resumable upload's completion). Blob collection counts a hold as
 * a reference, so a deletion of identical bytes that races the store either sees the hold and
 * keeps the blob, or finishes before the bytes are put in place.
 */
import type { Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('blob_holds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('held_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('blob_holds_blob_key').on('blob_holds').column('blob_key').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('blob_holds').execute();
}
