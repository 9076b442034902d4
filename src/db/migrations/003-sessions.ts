/**
 * Browser sessions for the web pages. They live in the database, not in process memory, so that
 * several Wharf nodes behind one load balancer share them. Only a hash of the session id is
 * stored; the cookie holds the id itself.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`create table sessions (
    id_hash text primary key,
    user_id bigint not null references accounts(id) on delete cascade,
    token_id bigint not null references tokens(id) on delete cascade,
    csrf_secret text not null,
    created_at text not null,
    expires_at text not null
  )`.execute(db);
  await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
  // The front page lists the newest published releases across all repositories.
  await db.schema.createIndex('releases_published').on('releases').columns(['published_at', 'id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('releases_published').execute();
  await db.schema.dropTable('sessions').execute();
}
