/**
 * Idempotency keys (docs/assets.md#idempotent-retries): one row per `Idempotency-Key` a user sent
 * with a release creation or a classic upload. The primary key (user, key) makes one request win
 * across nodes; `fingerprint` is the hash of what was asked, so a retry asking something else is
 * refused. An `in_progress` row is held by its request until `lease_until` (epoch ms, renewed while
 * it works); a `completed` row names what the request made (`release_id` or `asset_id`, deleted
 * with it) until `expires_at` (epoch ms). `content_digest` is the sha256 of an upload's bytes.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`create table idempotency_keys (
    user_id bigint not null references accounts(id) on delete cascade,
    idempotency_key text not null,
    fingerprint text not null,
    state text not null,
    token text not null,
    lease_until bigint not null,
    expires_at bigint not null,
    release_id bigint references releases(id) on delete cascade,
    asset_id bigint references assets(id) on delete cascade,
    content_digest text,
    created_at text not null,
    primary key (user_id, idempotency_key)
  )`.execute(db);
  await db.schema.createIndex('idempotency_keys_expires').on('idempotency_keys').column('expires_at').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
}
