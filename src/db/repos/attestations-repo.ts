/**
 * @module db/repos/attestations-repo
 * SQL for the instance's signing keys and for stored attestations with their subject digests.
 */
import type { Kysely } from 'kysely';
import type { AttestationRow, Database, SigningKeyRow } from '../schema.ts';

export async function listSigningKeys(db: Kysely<Database>): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('generation').execute();
}

/** The newest generation: the key that signs. */
export async function currentSigningKey(db: Kysely<Database>): Promise<SigningKeyRow | undefined> {
  return db.selectFrom('signing_keys').selectAll().orderBy('generation', 'desc').limit(1).executeTakeFirst();
}

export async function insertSigningKey(db: Kysely<Database>, row: SigningKeyRow): Promise<void> {
  await db.insertInto('signing_keys').values(row).execute();
}

export async function retireSigningKey(db: Kysely<Database>, generation: number, until: string): Promise<void> {
  await db.updateTable('signing_keys').set({ valid_until: until }).where('generation', '=', generation).execute();
}

export interface NewAttestation {
  repository_id: number;
  release_id: number | null;
  predicate_type: string;
  bundle: string;
  initiator: string;
  created_at: string;
  /** Another server's attestation kept here: the `OWNER/REPO` it names there. */
  origin_repository?: string | null;
}

export async function insertAttestation(db: Kysely<Database>, row: NewAttestation, digests: readonly string[]): Promise<number> {
  const { id } = await db.insertInto('attestations').values(row).returning('id').executeTakeFirstOrThrow();
  const unique = [...new Set(digests)];
  if (unique.length) {
    await db
      .insertInto('attestation_subjects')
      .values(unique.map((digest) => ({ attestation_id: id, repository_id: row.repository_id, digest })))
      .execute();
  }
  return id;
}

/** Attestations of `repositoryId` naming `digest`, newest first, `limit` after id `before` (exclusive). */
export async function listAttestationsByDigest(
  db: Kysely<Database>,
  repositoryId: number,
  digest: string,
  opts: { limit: number; before?: number; after?: number; predicateType?: string },
): Promise<AttestationRow[]> {
  let q = db
    .selectFrom('attestation_subjects as s')
    .innerJoin('attestations as a', 'a.id', 's.attestation_id')
    .selectAll('a')
    .where('s.repository_id', '=', repositoryId)
    .where('s.digest', '=', digest);
  if (opts.before !== undefined) q = q.where('a.id', '<', opts.before);
  if (opts.after !== undefined) q = q.where('a.id', '>', opts.after);
  if (opts.predicateType !== undefined) q = q.where('a.predicate_type', '=', opts.predicateType);
  return q
    .orderBy('a.id', opts.after !== undefined ? 'asc' : 'desc')
    .limit(opts.limit)
    .execute();
}

/** The release attestation this instance signed for `releaseId`. */
export async function findReleaseAttestation(db: Kysely<Database>, releaseId: number): Promise<AttestationRow | undefined> {
  return db
    .selectFrom('attestations')
    .selectAll()
    .where('release_id', '=', releaseId)
    .where('initiator', '=', 'release')
    .where('origin_repository', 'is', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Other servers' attestations kept beside `releaseId` (a mirror's upstream's, a bundle origin's), oldest first. */
export async function listForeignAttestations(db: Kysely<Database>, releaseId: number): Promise<AttestationRow[]> {
  return db.selectFrom('attestations').selectAll().where('release_id', '=', releaseId).where('origin_repository', 'is not', null).orderBy('id').execute();
}

export async function deleteAttestations(db: Kysely<Database>, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .deleteFrom('attestation_subjects')
    .where('attestation_id', 'in', [...ids])
    .execute();
  await db
    .deleteFrom('attestations')
    .where('id', 'in', [...ids])
    .execute();
}

/** Other servers' attestations of `repositoryId` whose release no longer exists here. */
export async function orphanedForeignAttestations(db: Kysely<Database>, repositoryId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('attestations as a')
    .leftJoin('releases as r', 'r.id', 'a.release_id')
    .select('a.id')
    .where('a.repository_id', '=', repositoryId)
    .where('a.origin_repository', 'is not', null)
    .where('r.id', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

export async function findAttestation(db: Kysely<Database>, repositoryId: number, id: number): Promise<AttestationRow | undefined> {
  return db.selectFrom('attestations').selectAll().where('repository_id', '=', repositoryId).where('id', '=', id).executeTakeFirst();
}
