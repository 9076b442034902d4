/**
 * Pull mirrors (docs/mirrors.md): one row per mirrored repository with its upstream, its token
 * sealed with the instance key, its schedule and filters, and the outcome of the last sync.
 * `next_sync_ms` (epoch ms) is when the scheduler next runs it; who runs it is decided by a lease
 * in `leases` (`mirror:<id>`), not here. `mirror_http_cache` keeps each upstream answer with its
 * `ETag`, so an unchanged upstream is asked with `If-None-Match` and answers 304 (no quota).
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  const id = kind === 'postgres' ? sql`id bigserial primary key` : sql`id integer primary key autoincrement`;
  await sql`create table mirrors (
    ${id},
    repository_id bigint not null unique references repositories(id) on delete cascade,
    upstream_url text not null,
    kind text not null,
    token_sealed text,
    schedule_ms bigint not null,
    tag_glob text,
    last_n integer,
    prune integer not null default 1,
    created_by bigint not null references accounts(id),
    created_at text not null,
    updated_at text not null,
    next_sync_ms bigint not null,
    last_started_at text,
    last_finished_at text,
    last_status text,
    last_error text,
    last_summary text
  )`.execute(db);
  await db.schema.createIndex('mirrors_due').on('mirrors').column('next_sync_ms').execute();
  await sql`create table mirror_http_cache (
    mirror_id bigint not null references mirrors(id) on delete cascade,
    url text not null,
    etag text not null,
    body text not null,
    primary key (mirror_id, url)
  )`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('mirror_http_cache').execute();
  await db.schema.dropTable('mirrors').execute();
}
