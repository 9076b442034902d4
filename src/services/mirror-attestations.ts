/**
 * @module services/mirror-attestations
 * A pull mirror keeps its upstream's release attestations beside the mirrored release
 * (docs/mirrors.md#upstream-attestations). For an upstream speaking GitHub's REST API (GitHub,
 * GHES, Wharf) a sync asks, per mirrored release with assets, `GET /repos/{o}/{r}/attestations/
 * sha256:<digest>` for one of its assets' digests (a release attestation names every asset, so one
 * asks for all; GitHub and Wharf both list it by each asset's sha256), through the upstream client
 * — outbound rules, rate limits and `If-None-Match`, so an unchanged upstream answers 304.
 *
 * Of the answer it keeps the release attestations (`https://in-toto.io/attestation/release/v0.1`)
 * of this release's tag, and only those whose subjects are the mirrored bytes: every asset the
 * mirror holds must be named with its digest, and every asset named must be one the mirror holds
 * (or one its `assets` filter leaves out); the commit, where named, must be the mirrored tag's.
 * Anything else is a sync problem: the attestation is not kept, and the sync reports it. Kept ones
 * no longer listed upstream are removed, and so are those of releases the mirror deleted. The
 * signatures are not checked here (a GitHub bundle needs Sigstore's public-good root, a Wharf's
 * its trusted root): verifiers check them offline with the upstream's root (`wharf verify`).
 */
import { gitDirFor, type AppContext } from '../context.ts';
import type { Asset, Release } from '../db/schema.ts';
import { deleteAttestations, listForeignAttestations, orphanedForeignAttestations } from '../db/repos/attestations-repo.ts';
import { listAssetsForReleases } from '../db/repos/assets-repo.ts';
import { resolveCommit } from '../git/git.ts';
import { RELEASE_PREDICATE_TYPE, type InTotoStatement, type ReleasePredicate } from '../attestations/release-statement.ts';
import { keepForeignAttestation, statementOfBundle } from './attestations.ts';
import { UpstreamError, type Upstream, type UpstreamRelease } from './mirror-upstream.ts';
import type { RepoAccess } from './repositories.ts';

/** What the attestation part of a sync did (added to its summary). */
export interface AttestationCounts {
  attestationsStored: number;
  attestationsDeleted: number;
  /** Upstream attestations refused, each with the reason (the sync reports them and fails). */
  attestationProblems: string[];
}

/** Pages of one attestation listing followed at most (100 each). */
const MAX_PAGES = 10;

interface Listed {
  bundle?: unknown;
  initiator?: unknown;
}

/**
 * Reconciles the upstream's release attestations of `local` (just synced from `up`). `wanted`:
 * the mirror's asset filter.
 */
export async function syncReleaseAttestations(
  ctx: AppContext,
  access: RepoAccess,
  upstream: Upstream,
  up: UpstreamRelease,
  local: Release,
  wanted: (name: string) => boolean,
  counts: AttestationCounts,
): Promise<void> {
  // Gitea and Forgejo have no attestations.
  if (upstream.kind !== 'github') return;
  const assets = ((await listAssetsForReleases(ctx.db, [local.id])).get(local.id) ?? []).filter((a) => a.state === 'uploaded' && a.digest);
  // Nothing to ask by: Wharf lists a release attestation by its assets' digests only.
  if (assets.length === 0) return;
  const digest = assets.map((a) => a.digest!).sort()[0]!;
  const { owner, repo, api } = upstream.location;
  let url: string | null = `${api}/repos/${owner}/${repo}/attestations/sha256:${digest}?per_page=100`;
  const listed: Listed[] = [];
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const { body, next, status } = await upstream.getJson(url);
    // No attestations route (GHES) or none for this digest.
    if (status === 404) break;
    const items = (body as { attestations?: unknown })?.attestations;
    if (!Array.isArray(items)) throw new UpstreamError(`${url} did not answer a list of attestations`);
    listed.push(...(items as Listed[]));
    url = next;
  }

  const keep = new Map<string, { initiator: string }>();
  let commit: string | null | undefined;
  for (const item of listed) {
    if (!item?.bundle || typeof item.bundle !== 'object') continue;
    let statement: InTotoStatement;
    try {
      statement = statementOfBundle(item.bundle);
    } catch (err) {
      counts.attestationProblems.push(`${up.tag_name}: an upstream attestation is refused: ${(err as Error).message}`);
      continue;
    }
    // Other attestations naming these bytes (provenance, another release sharing an asset) are not this release's.
    const predicate = statement.predicate as Partial<ReleasePredicate> | undefined;
    if (statement.predicateType !== RELEASE_PREDICATE_TYPE || predicate?.tag !== up.tag_name) continue;
    commit ??= await resolveCommit(gitDirFor(ctx, access.repo), `refs/tags/${up.tag_name}`);
    const problem = subjectProblem(statement, assets, wanted, commit);
    if (problem) {
      counts.attestationProblems.push(`${up.tag_name}: the upstream's release attestation is not kept: ${problem}`);
      continue;
    }
    keep.set(JSON.stringify(item.bundle), { initiator: typeof item.initiator === 'string' && item.initiator.length <= 40 ? item.initiator : 'release' });
  }

  const kept = await listForeignAttestations(ctx.db, local.id);
  const gone = kept.filter((row) => !keep.has(row.bundle)).map((row) => row.id);
  await deleteAttestations(ctx.db, gone);
  counts.attestationsDeleted += gone.length;
  const digests = assets.map((a) => `sha256:${a.digest}`);
  const originRepository = `${owner}/${repo}`;
  for (const [bundle, { initiator }] of keep) {
    const id = await keepForeignAttestation(ctx.db, local, { originRepository, bundle, predicateType: RELEASE_PREDICATE_TYPE, initiator }, digests);
    if (id !== null) counts.attestationsStored++;
  }
}

/**
 * Why a release statement does not attest the mirrored bytes, or null when it does: its named
 * sha256 subjects must be exactly the mirrored assets (names the asset filter leaves out aside),
 * with their digests; a commit it names must be the mirrored tag's.
 */
export function subjectProblem(
  statement: InTotoStatement,
  assets: ReadonlyArray<Pick<Asset, 'name' | 'digest'>>,
  wanted: (name: string) => boolean,
  commit: string | null,
): string | null {
  const named = new Map<string, string>();
  for (const s of statement.subject) {
    if (typeof s?.name === 'string' && typeof s.digest?.sha256 === 'string') named.set(s.name, s.digest.sha256.toLowerCase());
    else if (typeof s?.digest?.sha1 === 'string' && commit !== null && s.digest.sha1.toLowerCase() !== commit) {
      return `it names commit ${s.digest.sha1}, the mirrored tag is at ${commit}`;
    }
  }
  for (const asset of assets) {
    const attested = named.get(asset.name);
    if (attested === undefined) return `it does not name ${asset.name}`;
    if (attested !== asset.digest) return `it names ${asset.name} with sha256 ${attested}, the mirrored bytes have ${asset.digest}`;
  }
  const held = new Set(assets.map((a) => a.name));
  for (const name of named.keys()) {
    if (!held.has(name) && wanted(name)) return `it names ${name}, which the mirror has not got`;
  }
  return null;
}

/** Removes the upstream attestations kept for releases the mirror has since deleted; how many. */
export async function removeOrphanedAttestations(ctx: AppContext, repositoryId: number): Promise<number> {
  const ids = await orphanedForeignAttestations(ctx.db, repositoryId);
  await deleteAttestations(ctx.db, ids);
  return ids.length;
}
