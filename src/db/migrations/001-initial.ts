/**
 * The initial schema. Portable between SQLite and PostgreSQL: the only difference is how an
 * auto-incrementing id is spelled, passed in as `idType`.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

// Migrations must not depend on the current schema type, which moves on after they are written.
type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  const id = (col: string) => (kind === 'postgres' ? sql`${sql.ref(col)} bigserial primary key` : sql`${sql.ref(col)} integer primary key autoincrement`);

  await sql`create table accounts (
    ${id('id')},
    login text not null,
    login_lower text not null unique,
    type text not null,
    name text,
    email text,
    site_admin integer not null default 0,
    suspended_at text,
    created_at text not null,
    updated_at text not null
  )`.execute(db);

  await db.schema
    .createTable('org_members')
    .addColumn('org_id', 'bigint', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('org_members_pk', ['org_id', 'user_id'])
    .execute();

  await sql`create table tokens (
    ${id('id')},
    user_id bigint not null references accounts(id) on delete cascade,
    token_hash text not null unique,
    token_last_eight text not null,
    scopes text not null,
    note text,
    created_at text not null,
    expires_at text,
    revoked_at text,
    last_used_at text
  )`.execute(db);

  await sql`create table repositories (
    ${id('id')},
    owner_id bigint not null references accounts(id) on delete cascade,
    name text not null,
    name_lower text not null,
    description text,
    homepage text,
    private integer not null default 0,
    default_branch text not null,
    latest_release_id bigint,
    created_at text not null,
    updated_at text not null,
    pushed_at text,
    constraint repositories_owner_name_unique unique (owner_id, name_lower)
  )`.execute(db);

  await db.schema
    .createTable('collaborators')
    .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('permission', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('collaborators_pk', ['repository_id', 'user_id'])
    .execute();

  await sql`create table releases (
    ${id('id')},
    repository_id bigint not null references repositories(id) on delete cascade,
    tag_name text not null,
    published_tag text,
    target_commitish text not null,
    name text,
    body text,
    draft integer not null,
    prerelease integer not null,
    immutable integer not null default 0,
    author_id bigint not null references accounts(id),
    untagged_key text not null,
    created_at text not null,
    published_at text,
    updated_at text not null,
    constraint releases_published_tag_unique unique (repository_id, published_tag)
  )`.execute(db);
  // Newest-first listing and the tag lookups are the hot paths.
  await db.schema.createIndex('releases_repo_created').on('releases').columns(['repository_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('releases_repo_tag').on('releases').columns(['repository_id', 'tag_name']).execute();

  await sql`create table assets (
    ${id('id')},
    release_id bigint not null references releases(id) on delete cascade,
    repository_id bigint not null references repositories(id) on delete cascade,
    name text not null,
    label text,
    content_type text not null,
    size bigint not null default 0,
    digest text,
    blob_key text,
    state text not null,
    download_count bigint not null default 0,
    uploader_id bigint references accounts(id) on delete set null,
    created_at text not null,
    updated_at text not null,
    constraint assets_release_name_unique unique (release_id, name)
  )`.execute(db);
  await db.schema.createIndex('assets_blob_key').on('assets').column('blob_key').execute();
  await db.schema.createIndex('assets_state_updated').on('assets').columns(['state', 'updated_at']).execute();

  await db.schema
    .createTable('rate_limits')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limits_pk', ['bucket', 'window_start'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['rate_limits', 'assets', 'releases', 'collaborators', 'repositories', 'tokens', 'org_members', 'accounts']) {
    await db.schema.dropTable(table).execute();
  }
}
