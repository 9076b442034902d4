/**
 * The audit log (security-relevant actions, kept for `WHARF_AUDIT_RETENTION_DAYS`) and the
 * addresses each token has been used from, so a use from a new address can be audited without
 * a write on every request: `tokens.last_used_ip` (read with the token anyway) says whether the
 * address changed; only then is `token_addresses` consulted.
 *
 * Audit rows name their actor, user, organization and repository by id and by name, without
 * foreign keys: an entry outlives the user or repository it is about.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  const id = kind === 'postgres' ? sql`id bigserial primary key` : sql`id integer primary key autoincrement`;
  await sql`create table audit_log (
    ${id},
    action text not null,
    actor_id bigint,
    actor text not null,
    actor_ip text,
    user_id bigint,
    user_login text,
    org_id bigint,
    org text,
    repository_id bigint,
    repo text,
    data text not null,
    created_ms bigint not null
  )`.execute(db);
  await db.schema.createIndex('audit_log_by_time').on('audit_log').column('created_ms').execute();
  await db.schema.createIndex('audit_log_by_org').on('audit_log').columns(['org_id', 'id']).execute();

  await sql`create table token_addresses (
    token_id bigint not null references tokens(id) on delete cascade,
    address text not null,
    first_seen_ms bigint not null,
    primary key (token_id, address)
  )`.execute(db);
  await db.schema.alterTable('tokens').addColumn('last_used_ip', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('tokens').dropColumn('last_used_ip').execute();
  await db.schema.dropTable('token_addresses').execute();
  await db.schema.dropTable('audit_log').execute();
}
