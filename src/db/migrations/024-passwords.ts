/**
 * Password sign-in (docs/web.md#passwords):
 * - `passwords`: one argon2id hash per user who has a password (a table of its own, so an
 *   account row read anywhere never carries a hash);
 * - `password_reset_links`: one-time links, stored as the sha256 of their secret, spent by
 *   setting `used_at` in the same statement that checks it is unset and the link unexpired;
 * - `tokens.kind`: `session` for the token a password sign-in makes for its session (it acts
 *   with that token's scopes, as every session does); it is never shown and ends with the session;
 * - `sessions.method`, `address`, `user_agent`: what the sessions page lists.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`create table passwords (
    user_id bigint primary key references accounts(id) on delete cascade,
    hash text not null,
    changed_at text not null
  )`.execute(db);
  await sql`create table password_reset_links (
    secret_hash text primary key,
    user_id bigint not null references accounts(id) on delete cascade,
    created_at text not null,
    expires_at text not null,
    used_at text
  )`.execute(db);
  await db.schema.createIndex('password_reset_links_user').on('password_reset_links').column('user_id').execute();
  await db.schema
    .alterTable('tokens')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('personal'))
    .execute();
  await db.schema
    .alterTable('sessions')
    .addColumn('method', 'text', (c) => c.notNull().defaultTo('token'))
    .execute();
  await db.schema.alterTable('sessions').addColumn('address', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('user_agent', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('user_agent').execute();
  await db.schema.alterTable('sessions').dropColumn('address').execute();
  await db.schema.alterTable('sessions').dropColumn('method').execute();
  await db.schema.alterTable('tokens').dropColumn('kind').execute();
  await db.schema.dropTable('password_reset_links').execute();
  await db.schema.dropTable('passwords').execute();
}
