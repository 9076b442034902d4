/**
 * Fewer index pages written per change, for the tables every write touches (measured on release
 * creation: each commit writes every page it dirtied, one per B-tree at least).
 *
 * `event_queue` is keyed by (event_id, consumer) instead of (consumer, event_id), which makes
 * `event_queue_by_event` (event_id) redundant: the key's prefix serves the lookups by event (the
 * purge's "handled by everyone", the cascade from `events`), and a consumer's claim reads the key
 * in event order, filtering on the consumer (a handful of consumers, rows deleted once handled).
 * On SQLite the table is also WITHOUT ROWID, so the key is the table: one B-tree where there were
 * three, written twice per event (its insert and the consumer's delete).
 *
 * `audit_log_by_org` holds only entries that have an organisation (the only ones it is read for:
 * `org_id = ?`), so an entry about a user's repository no longer writes to it.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  if (kind === 'postgres') {
    await sql`alter table event_queue drop constraint event_queue_pkey`.execute(db);
    await sql`alter table event_queue add primary key (event_id, consumer)`.execute(db);
    await sql`drop index event_queue_by_event`.execute(db);
  } else {
    await rebuildSqliteQueue(db, sql`primary key (event_id, consumer)) without rowid`);
  }
  await sql`drop index audit_log_by_org`.execute(db);
  await sql`create index audit_log_by_org on audit_log (org_id, id) where org_id is not null`.execute(db);
}

export async function down(db: AnyDb, kind: DialectKind): Promise<void> {
  await sql`drop index audit_log_by_org`.execute(db);
  await sql`create index audit_log_by_org on audit_log (org_id, id)`.execute(db);
  if (kind === 'postgres') {
    await sql`alter table event_queue drop constraint event_queue_pkey`.execute(db);
    await sql`alter table event_queue add primary key (consumer, event_id)`.execute(db);
  } else {
    await rebuildSqliteQueue(db, sql`primary key (consumer, event_id))`);
  }
  await sql`create index event_queue_by_event on event_queue (event_id)`.execute(db);
}

/** SQLite cannot change a table's key in place: the queue is copied into a table made anew. */
async function rebuildSqliteQueue(db: AnyDb, key: ReturnType<typeof sql>): Promise<void> {
  await sql`create table event_queue_rebuilt (
    consumer text not null,
    event_id bigint not null references events(id) on delete cascade,
    lease_holder text,
    lease_until bigint not null default 0,
    ${key}`.execute(db);
  await sql`insert into event_queue_rebuilt (consumer, event_id, lease_holder, lease_until)
    select consumer, event_id, lease_holder, lease_until from event_queue`.execute(db);
  await sql`drop table event_queue`.execute(db);
  await sql`alter table event_queue_rebuilt rename to event_queue`.execute(db);
}
