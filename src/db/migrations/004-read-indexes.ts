/**
 * Indexes for the read paths at scale (measured by `npm run bench`, scale scenario):
 * - published releases newest first: without `draft` in the index, every release of the
 *   repository was read from the table to filter drafts out (counting 100,000 releases, and
 *   skipping to page 1,000);
 * - assets of a page of releases: SQLite, without statistics, preferred the `(state, …)` index
 *   and read every uploaded asset of the site (a second per page at 1,000,000 assets).
 * Portable: plain indexes, the same on SQLite and PostgreSQL.
 */
import type { Kysely } from 'kysely';

// Migrations must not depend on the current schema type, which moves on after they are written.
type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema.createIndex('releases_repo_draft_created').on('releases').columns(['repository_id', 'draft', 'created_at', 'id']).execute();
  await db.schema.createIndex('assets_release_state').on('assets').columns(['release_id', 'state']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('assets_release_state').execute();
  await db.schema.dropIndex('releases_repo_draft_created').execute();
}
