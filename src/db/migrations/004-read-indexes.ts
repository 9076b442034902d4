/**
 * An index for listing a repository's published releases at scale (measured by `npm run bench`,
 * scale scenario). Without `draft` in the index, counting 100,000 releases for the `Link` header
 * and skipping to page 1,000 read every release row from the table to filter drafts out; with
 * it, both stay inside the index. (The assets of a page of releases are served by
 * `assets_release_state`, from the web pages' migration.) Portable: the same on SQLite and
 * PostgreSQL.
 */
import type { Kysely } from 'kysely';

// Migrations must not depend on the current schema type, which moves on after they are written.
type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema.createIndex('releases_repo_draft_created').on('releases').columns(['repository_id', 'draft', 'created_at', 'id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('releases_repo_draft_created').execute();
}
