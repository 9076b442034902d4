/**
 * The transactional outbox (`events`, plus one `event_queue` row per consumer and event, written
 * in the same transaction as the change) and webhooks on top of it: the hooks, their pending
 * deliveries (`webhook_jobs`, leased by whichever node sends them) and every attempt made.
 * Times that are compared (due, leases, retention) are epoch milliseconds; times shown to clients
 * are ISO text like everywhere else.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  const id = kind === 'postgres' ? sql`id bigserial primary key` : sql`id integer primary key autoincrement`;

  await sql`create table events (
    ${id},
    type text not null,
    repository_id bigint,
    owner_id bigint,
    actor_id bigint,
    data text not null,
    created_at text not null,
    created_ms bigint not null
  )`.execute(db);
  await db.schema.createIndex('events_by_time').on('events').column('created_ms').execute();

  // What each consumer still has to handle. A consumer takes rows with a lease (holder + expiry)
  // and deletes them in the transaction that records what it did with the event.
  await sql`create table event_queue (
    consumer text not null,
    event_id bigint not null references events(id) on delete cascade,
    lease_holder text,
    lease_until bigint not null default 0,
    primary key (consumer, event_id)
  )`.execute(db);
  await db.schema.createIndex('event_queue_by_event').on('event_queue').column('event_id').execute();

  await sql`create table webhooks (
    ${id},
    scope text not null,
    repository_id bigint references repositories(id) on delete cascade,
    account_id bigint references accounts(id) on delete cascade,
    name text not null,
    active integer not null,
    events text not null,
    url text not null,
    content_type text not null,
    insecure_ssl text not null,
    secret_ciphertext text,
    created_at text not null,
    updated_at text not null,
    failing_since bigint,
    disabled_reason text,
    last_response_code integer,
    last_response_status text,
    last_response_message text
  )`.execute(db);
  await db.schema.createIndex('webhooks_by_repository').on('webhooks').columns(['repository_id', 'id']).execute();
  await db.schema.createIndex('webhooks_by_account').on('webhooks').columns(['account_id', 'id']).execute();

  await sql`create table webhook_jobs (
    ${id},
    hook_id bigint not null references webhooks(id) on delete cascade,
    guid text not null,
    event text not null,
    action text,
    repository_id bigint,
    payload text not null,
    redelivery integer not null default 0,
    state text not null,
    attempts integer not null default 0,
    next_attempt_at bigint not null,
    lease_holder text,
    lease_until bigint not null default 0,
    created_ms bigint not null
  )`.execute(db);
  await db.schema.createIndex('webhook_jobs_due').on('webhook_jobs').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('webhook_jobs_by_hook').on('webhook_jobs').columns(['hook_id', 'state', 'id']).execute();

  await sql`create table webhook_attempts (
    ${id},
    job_id bigint not null references webhook_jobs(id) on delete cascade,
    hook_id bigint not null references webhooks(id) on delete cascade,
    guid text not null,
    event text not null,
    action text,
    repository_id bigint,
    redelivery integer not null,
    delivered_at text not null,
    created_ms bigint not null,
    duration real not null,
    status text not null,
    status_code integer not null,
    url text not null,
    request_headers text not null,
    request_body text not null,
    response_headers text,
    response_body text
  )`.execute(db);
  await db.schema.createIndex('webhook_attempts_by_hook').on('webhook_attempts').columns(['hook_id', 'id']).execute();
  await db.schema.createIndex('webhook_attempts_by_time').on('webhook_attempts').column('created_ms').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('webhook_attempts').execute();
  await db.schema.dropTable('webhook_jobs').execute();
  await db.schema.dropTable('webhooks').execute();
  await db.schema.dropTable('event_queue').execute();
  await db.schema.dropTable('events').execute();
}
