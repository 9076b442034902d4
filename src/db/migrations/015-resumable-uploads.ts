/**
 * Resumable (tus) uploads of release assets (docs/assets.md): one row per upload in progress,
 * beside the `open` asset row that claims its name (deleted with it). `upload_offset` is the
 * last durable offset and `staging` the blob store's record of where those bytes are, so any
 * node can continue the upload and a crash loses nothing recorded. `lock_token`/`locked_until`
 * (epoch ms) let one request at a time append, across nodes; `expires_at` (epoch ms) is when
 * the sweeper removes an abandoned upload and its bytes.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`create table resumable_uploads (
    id text primary key,
    asset_id bigint not null unique references assets(id) on delete cascade,
    release_id bigint not null references releases(id) on delete cascade,
    uploader_id bigint not null references accounts(id) on delete cascade,
    upload_length bigint not null,
    upload_offset bigint not null default 0,
    staging text not null,
    lock_token text,
    locked_until bigint not null default 0,
    expires_at bigint not null,
    created_at text not null
  )`.execute(db);
  await db.schema.createIndex('resumable_uploads_uploader').on('resumable_uploads').column('uploader_id').execute();
  await db.schema.createIndex('resumable_uploads_expires').on('resumable_uploads').column('expires_at').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('resumable_uploads').execute();
}
