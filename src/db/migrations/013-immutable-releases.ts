/**
 * Immutable releases (docs/immutable-releases.md):
 * - `repositories.immutable_releases`: the repository's own setting;
 * - `immutable_release_policies`: an organization's enforcement (`all`, `selected`; no row:
 *   `none`) and `immutable_release_repositories`, the selected repositories;
 * - `immutable_tags`: tag names an immutable release has used, reserved forever in their
 *   repository. Keyed by owner and repository name, not id, so deleting the repository and
 *   creating it again under the same name frees nothing.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('repositories')
    .addColumn('immutable_releases', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`create table immutable_release_policies (
    org_id bigint primary key references accounts(id) on delete cascade,
    policy text not null
  )`.execute(db);
  await sql`create table immutable_release_repositories (
    org_id bigint not null references accounts(id) on delete cascade,
    repository_id bigint not null references repositories(id) on delete cascade,
    primary key (org_id, repository_id)
  )`.execute(db);
  await sql`create table immutable_tags (
    owner_id bigint not null,
    repository_name_lower text not null,
    tag text not null,
    primary key (owner_id, repository_name_lower, tag)
  )`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('immutable_tags').execute();
  await db.schema.dropTable('immutable_release_repositories').execute();
  await db.schema.dropTable('immutable_release_policies').execute();
  await db.schema.alterTable('repositories').dropColumn('immutable_releases').execute();
}
