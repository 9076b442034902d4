/**
 * @module services/attestations
 * Attestations of a repository's artifacts, listed by subject digest as GitHub lists them:
 * - release attestations Wharf signs when an immutable release is published, in the publish's
 *   own transaction (so a published immutable release never lacks one) — an in-toto release
 *   statement of exactly the uploaded assets, tag and commit, signed by the instance key
 *   (services/signing-keys.ts);
 * - bundles a client stores (`POST /repos/{owner}/{repo}/attestations`, push access), e.g. SLSA
 *   provenance from CI. Wharf checks their form, not their signatures: those are signed by
 *   whatever the client trusts (Fulcio, its own key), and verifiers check them against that.
 * Reading follows the repository's visibility (404 for a private repository without read access).
 */
import { bundleFromJSON } from '@sigstore/bundle';
import type { AppContext } from '../context.ts';
import type { Account, AttestationRow, Release, Repository } from '../db/schema.ts';
import { findAttestation, findReleaseAttestation, insertAttestation, listAttestationsByDigest, listForeignAttestations } from '../db/repos/attestations-repo.ts';
import { listAssetsForReleases } from '../db/repos/assets-repo.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { IN_TOTO_PAYLOAD_TYPE, RELEASE_PREDICATE_TYPE, releaseStatement, type InTotoStatement } from '../attestations/release-statement.ts';
import { signStatement } from '../attestations/sign-bundle.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';
import { signingKey } from './signing-keys.ts';

/** GitHub's subject digest spelling: `sha256:<64 hex>`. */
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Signs the release attestation of `release`, just published immutable in `trx`: the release
 * row is already written (and locked) in `trx`, so the assets read here are exactly those the
 * release is published with; an upload or rename still in flight waits for the row and then
 * finds the release immutable.
 */
export async function attestRelease(ctx: AppContext, trx: AppContext['db'], owner: Account, repo: Repository, release: Release, commitSha: string): Promise<number> {
  const assets = (await listAssetsForReleases(trx, [release.id])).get(release.id) ?? [];
  const statement = releaseStatement({
    owner: owner.login,
    ownerId: owner.id,
    repository: repo.name,
    repositoryId: repo.id,
    releaseId: release.id,
    tag: release.tag_name,
    commitSha,
    assets: assets.map((a) => ({ name: a.name, sha256: a.digest! })),
  });
  const bundle = await signStatement(statement, await signingKey({ config: ctx.config, db: trx }));
  return insertAttestation(
    trx,
    {
      repository_id: repo.id,
      release_id: release.id,
      predicate_type: RELEASE_PREDICATE_TYPE,
      bundle: JSON.stringify(bundle),
      initiator: 'release',
      created_at: new Date().toISOString(),
    },
    assets.map((a) => `sha256:${a.digest}`),
  );
}

export interface AttestationListOptions {
  perPage: number;
  before?: number;
  after?: number;
  predicateType?: string;
}

export function checkSubjectDigest(digest: string): string {
  const lower = digest.toLowerCase();
  if (!DIGEST.test(lower)) throw new ValidationError([{ resource: 'Attestation', field: 'subject_digest', code: 'invalid' }], 'Invalid subject_digest: use sha256:<64 hex digits>');
  return lower;
}

export async function listAttestations(ctx: AppContext, access: RepoAccess, digest: string, opts: AttestationListOptions): Promise<AttestationRow[]> {
  return listAttestationsByDigest(ctx.db, access.repo.id, checkSubjectDigest(digest), {
    limit: opts.perPage,
    before: opts.before,
    after: opts.after,
    predicateType: opts.predicateType,
  });
}

export async function releaseAttestation(ctx: AppContext, release: Pick<Release, 'id' | 'immutable' | 'draft'>): Promise<AttestationRow | null> {
  if (release.immutable !== 1 || release.draft === 1) return null;
  return (await findReleaseAttestation(ctx.db, release.id)) ?? null;
}

function invalidBundle(message: string): ValidationError {
  return new ValidationError([{ resource: 'Attestation', field: 'bundle', code: 'invalid', message }], `Invalid bundle: ${message}`);
}

/** `POST /repos/{owner}/{repo}/attestations`: push access; a Sigstore bundle with a DSSE in-toto statement. */
export async function storeAttestation(ctx: AppContext, access: RepoAccess, body: Record<string, unknown>): Promise<number> {
  requirePermission(access, 'push');
  const raw = body.bundle;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError([{ resource: 'Attestation', field: 'bundle', code: 'missing_field' }]);
  let bundle;
  try {
    bundle = bundleFromJSON(raw);
  } catch (err) {
    throw invalidBundle((err as Error).message);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw invalidBundle('the bundle must hold a DSSE envelope');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw invalidBundle(`the envelope's payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`);
  let statement: InTotoStatement;
  try {
    statement = JSON.parse(envelope.payload.toString('utf8')) as InTotoStatement;
  } catch {
    throw invalidBundle("the envelope's payload is not JSON");
  }
  if (!Array.isArray(statement?.subject) || typeof statement.predicateType !== 'string') throw invalidBundle('the payload is not an in-toto statement');
  const digests = statement.subject
    .map((s) => (typeof s?.digest?.sha256 === 'string' ? `sha256:${s.digest.sha256.toLowerCase()}` : null))
    .filter((d): d is string => d !== null && DIGEST.test(d));
  if (digests.length === 0) throw invalidBundle('the statement names no subject with a sha256 digest');
  return insertAttestation(
    ctx.db,
    {
      repository_id: access.repo.id,
      release_id: null,
      predicate_type: statement.predicateType,
      bundle: JSON.stringify(raw),
      initiator: 'api',
      created_at: new Date().toISOString(),
    },
    digests,
  );
}

/** One attestation of a repository the caller can read (`access`), or 404. */
export async function getAttestation(ctx: AppContext, access: RepoAccess, id: number): Promise<AttestationRow> {
  const row = await findAttestation(ctx.db, access.repo.id, id);
  if (!row) throw new NotFoundError();
  return row;
}

export interface AttestationSummary {
  id: number;
  /** The commit the statement names (its purl subject's sha1). */
  commit: string | null;
  /** The assets it names, as signed. */
  subjects: Array<{ name: string; sha256: string }>;
  /** Another server's attestation (a mirror's upstream's, a bundle origin's): the `OWNER/REPO` it names there; null for this instance's own. */
  originRepository: string | null;
}

/**
 * What a published release's attestation names, read from its signed statement (pages show it):
 * this instance's own for an immutable release, else the newest release attestation kept from
 * where the release came from (a pull mirror's upstream, a bundle's origin).
 */
export async function releaseAttestationSummary(ctx: AppContext, release: Pick<Release, 'id' | 'immutable' | 'draft'>): Promise<AttestationSummary | null> {
  if (release.draft === 1) return null;
  const row = (await releaseAttestation(ctx, release)) ?? (await listForeignAttestations(ctx.db, release.id)).filter((a) => a.predicate_type === RELEASE_PREDICATE_TYPE).pop();
  if (!row) return null;
  const bundle = JSON.parse(row.bundle) as { dsseEnvelope?: { payload?: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')) as InTotoStatement;
  return {
    id: row.id,
    commit: statement.subject.find((s) => s.uri)?.digest.sha1 ?? null,
    subjects: statement.subject.filter((s) => s.name && s.digest.sha256).map((s) => ({ name: s.name!, sha256: s.digest.sha256! })),
    originRepository: row.origin_repository,
  };
}

/**
 * Another server's attestation of a release, kept beside the release here (a pull mirror's
 * upstream's, an offline bundle's origin's): one representation for both, an `attestations` row
 * with `release_id` set and `origin_repository` the `OWNER/REPO` it names there, listed by
 * `digests` (the local assets' digests it names). `bundle` is kept as the text it arrived as.
 * Nothing is stored twice: returns null when the release already keeps this very bundle.
 */
export async function keepForeignAttestation(
  db: AppContext['db'],
  release: Pick<Release, 'id' | 'repository_id'>,
  foreign: { originRepository: string; bundle: string; predicateType: string; initiator: string },
  digests: readonly string[],
): Promise<number | null> {
  if ((await listForeignAttestations(db, release.id)).some((row) => row.bundle === foreign.bundle)) return null;
  return insertAttestation(
    db,
    {
      repository_id: release.repository_id,
      release_id: release.id,
      predicate_type: foreign.predicateType,
      bundle: foreign.bundle,
      initiator: foreign.initiator,
      created_at: new Date().toISOString(),
      origin_repository: foreign.originRepository,
    },
    digests,
  );
}

/**
 * The in-toto statement a Sigstore bundle (JSON) signs, after checking its form as
 * `POST …/attestations` does; throws a plain Error saying what is wrong.
 */
export function statementOfBundle(raw: unknown): InTotoStatement {
  let bundle;
  try {
    bundle = bundleFromJSON(raw);
  } catch (err) {
    throw new Error(`not a Sigstore bundle (${(err as Error).message})`, { cause: err });
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('the bundle holds no DSSE envelope');
  if (bundle.content.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new Error(`the envelope's payload is ${bundle.content.dsseEnvelope.payloadType}`);
  let statement: InTotoStatement;
  try {
    statement = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8')) as InTotoStatement;
  } catch {
    throw new Error("the envelope's payload is not JSON");
  }
  if (!Array.isArray(statement?.subject) || typeof statement.predicateType !== 'string') throw new Error('the payload is not an in-toto statement');
  return statement;
}
