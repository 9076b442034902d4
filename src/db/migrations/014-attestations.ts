/**
 * Attestations (docs/immutable-releases.md):
 * - `signing_keys`: the instance's ECDSA P-256 keys, one generation after another (the newest
 *   signs; older ones stay so their bundles keep verifying). The private key is sealed with the
 *   instance key (`WHARF_INSTANCE_KEY_FILE`), never stored in clear; `generation` is the primary
 *   key so two nodes creating or rotating at once cannot both win.
 * - `attestations`: Sigstore bundles, made by Wharf when an immutable release is published
 *   (`release_id` set) or stored by `POST /repos/{owner}/{repo}/attestations`;
 * - `attestation_subjects`: the sha256 digests each attestation names, to list them by digest.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  await sql`create table signing_keys (
    generation integer primary key,
    key_id text not null unique,
    public_key_pem text not null,
    private_key_sealed text not null,
    valid_from text not null,
    valid_until text
  )`.execute(db);
  const id = kind === 'postgres' ? sql`id bigserial primary key` : sql`id integer primary key autoincrement`;
  await sql`create table attestations (
    ${id},
    repository_id bigint not null references repositories(id) on delete cascade,
    release_id bigint,
    predicate_type text not null,
    bundle text not null,
    initiator text not null,
    created_at text not null
  )`.execute(db);
  await db.schema.createIndex('attestations_by_release').on('attestations').column('release_id').execute();
  await sql`create table attestation_subjects (
    attestation_id bigint not null references attestations(id) on delete cascade,
    repository_id bigint not null,
    digest text not null,
    primary key (attestation_id, digest)
  )`.execute(db);
  await db.schema.createIndex('attestation_subjects_by_digest').on('attestation_subjects').columns(['repository_id', 'digest', 'attestation_id']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('attestation_subjects').execute();
  await db.schema.dropTable('attestations').execute();
  await db.schema.dropTable('signing_keys').execute();
}
