/**
 * What the web pages need from the store:
 * - browser sessions. They live in the database, not in process memory, so that several Wharf
 *   nodes behind one load balancer share them. Only a hash of the session id is stored; the
 *   cookie holds the id itself;
 * - indexes for the pages' hot reads (the front page's newest releases, a page's assets).
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
  // The assets of a page of releases (`release_id IN (…) AND state = 'uploaded'`). Without it
  // SQLite walks the (state, updated_at) index over every uploaded asset of the instance.
  await db.schema.createIndex('assets_release_state').on('assets').columns(['release_id', 'state', 'id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('assets_release_state').execute();
  await db.schema.dropIndex('releases_published').execute();
  await db.schema.dropTable('sessions').execute();
}
