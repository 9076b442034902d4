/**
 * @module services/latest-release
 * Which release is "latest". A repository may designate one explicitly (`make_latest: "true"`,
 * the default when a release is published); otherwise — and whenever the designated one stops
 * being eligible — GitHub's legacy rule applies: the published, non-prerelease release with the
 * newest `created_at` (its commit's date), ties broken by the higher version in the tag, then by
 * the newer release.
 */
import type { Kysely } from 'kysely';
import type { Database, Release, Repository } from '../db/schema.ts';
import { findRelease, listLatestCandidates } from '../db/repos/releases-repo.ts';
import { updateRepository } from '../db/repos/repositories-repo.ts';

/** Numeric components of a version-like tag (`v1.10.2-rc1` → [1, 10, 2]); empty when none. */
function versionParts(tag: string): number[] {
  const m = /(\d+(?:\.\d+)*)/.exec(tag);
  return m ? m[1]!.split('.').map(Number) : [];
}

export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isEligibleForLatest(release: Pick<Release, 'draft' | 'prerelease'>): boolean {
  return release.draft === 0 && release.prerelease === 0;
}

/** The legacy choice among candidates, optionally leaving one release out. */
export function legacyLatest(candidates: Release[], excludeId?: number): Release | null {
  let best: Release | null = null;
  for (const r of candidates) {
    if (r.id === excludeId || !isEligibleForLatest(r)) continue;
    if (!best) {
      best = r;
      continue;
    }
    const byDate = r.created_at.localeCompare(best.created_at);
    const byVersion = compareVersions(r.tag_name, best.tag_name);
    if (byDate > 0 || (byDate === 0 && (byVersion > 0 || (byVersion === 0 && r.id > best.id)))) best = r;
  }
  return best;
}

/** The current latest release of a repository, or null. */
export async function currentLatest(db: Kysely<Database>, repo: Repository): Promise<Release | null> {
  if (repo.latest_release_id !== null) {
    const designated = await findRelease(db, repo.id, repo.latest_release_id);
    if (designated && isEligibleForLatest(designated)) return designated;
  }
  return legacyLatest(await listLatestCandidates(db, repo.id));
}

/** Designates a release as latest (or clears the designation with null). */
export async function designateLatest(db: Kysely<Database>, repo: Repository, releaseId: number | null): Promise<void> {
  await updateRepository(db, repo.id, { latest_release_id: releaseId });
}

/**
 * Re-applies the legacy rule after the designated latest was deleted, unpublished, turned into a
 * prerelease or opted out with `make_latest: "false"`.
 */
export async function recomputeLatest(db: Kysely<Database>, repo: Repository, excludeId?: number): Promise<void> {
  const pick = legacyLatest(await listLatestCandidates(db, repo.id), excludeId);
  await designateLatest(db, repo, pick?.id ?? null);
}
