/**
 * Offline bundles (docs/mirrors.md): the trusted roots of other instances whose bundles this
 * instance imports (`wharf keys trust`), and the origin a repository's imported releases come from
 * (such a repository is read-only here, as a pull mirror is).
 */
import type { Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('trusted_roots')
    // sha256 hex of the document as stored: trusting the same document twice is one row.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('added_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('bundle_origins')
    .addColumn('repository_id', 'integer', (c) => c.primaryKey().references('repositories.id').onDelete('cascade'))
    /** `OWNER/REPO` on the exporting instance. */
    .addColumn('origin_repository', 'text', (c) => c.notNull())
    /** The exporting instance's URL when it had one configured, else null. */
    .addColumn('origin_instance', 'text')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('imported_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('bundle_origins').execute();
  await db.schema.dropTable('trusted_roots').execute();
}
