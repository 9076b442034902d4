/**
 * @module services/latest-release
 * Which release is "latest" (GitHub's `/releases/latest` and the Latest badge). A repository may
 * designate one explicitly (`make_latest: "true"`); whenever none is designated or the designated
 * one stops being eligible, the repository's rule picks (docs/channels.md):
 * - `semver` (Wharf's default): the full release with the highest version; a release published
 *   without `make_latest` becomes latest only if no full release of its tag prefix has a higher
 *   version, so a patch on an old line (v1.9.3 after v2.1.0) never steals it;
 * - `github`: GitHub's rule, where an absent `make_latest` means "true", and the fallback is the
 *   legacy rule: the newest `created_at` (its commit's date), ties broken by the higher version
 *   (as semver orders them), then by the newer release.
 * `make_latest: "legacy"` applies the legacy rule under either.
 */
import type { Kysely } from 'kysely';
import type { Database, Release, Repository } from '../db/schema.ts';
import { findHighestVersion, findRelease, listLatestCandidates } from '../db/repos/releases-repo.ts';
import { readRules } from '../domain/release-version.ts';
import { updateRepository } from '../db/repos/repositories-repo.ts';

/** Numeric components of a version-like tag (`v1.10.2-rc1` → [1, 10, 2]); empty when none. */
function versionParts(tag: string): number[] {
  const m = /(\d+(?:\.\d+)*)/.exec(tag);
  return m ? m[1]!.split('.').map(Number) : [];
}

/** Numeric comparison of version-like tags (the legacy rule's tie-break when a tag has no semantic version). */
export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

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
    const byVersion = r.version_key !== null && best.version_key !== null ? byteOrder(r.version_key, best.version_key) : compareVersions(r.tag_name, best.tag_name);
    if (byDate > 0 || (byDate === 0 && (byVersion > 0 || (byVersion === 0 && r.id > best.id)))) best = r;
  }
  return best;
}

/** What the repository's rule picks when no eligible release is designated. */
async function ruleLatest(db: Kysely<Database>, repo: Repository, excludeId?: number): Promise<Release | null> {
  if (readRules(repo.release_rules).latest === 'semver') {
    const highest = await findHighestVersion(db, repo.id, { fullReleasesOnly: true, excludeId });
    if (highest) return highest;
  }
  return legacyLatest(await listLatestCandidates(db, repo.id), excludeId);
}

/** The current latest release of a repository, or null. */
export async function currentLatest(db: Kysely<Database>, repo: Repository): Promise<Release | null> {
  if (repo.latest_release_id !== null) {
    const designated = await findRelease(db, repo.id, repo.latest_release_id);
    if (designated && isEligibleForLatest(designated)) return designated;
  }
  return ruleLatest(db, repo);
}

/** Designates a release as latest (or clears the designation with null). */
export async function designateLatest(db: Kysely<Database>, repo: Repository, releaseId: number | null): Promise<void> {
  await updateRepository(db, repo.id, { latest_release_id: releaseId });
}

/**
 * Hands "latest" on after the designated latest was deleted, unpublished, turned into a
 * prerelease or opted out with `make_latest: "false"` (by the repository's rule), or applies
 * `make_latest: "legacy"` (`legacy`: GitHub's legacy rule whatever the repository's).
 */
export async function recomputeLatest(db: Kysely<Database>, repo: Repository, excludeId?: number, legacy = false): Promise<void> {
  const pick = legacy ? legacyLatest(await listLatestCandidates(db, repo.id), excludeId) : await ruleLatest(db, repo, excludeId);
  await designateLatest(db, repo, pick?.id ?? null);
}

/**
 * A release just published without `make_latest`: GitHub makes it latest; Wharf's `semver` rule
 * only when no full release of its tag prefix has a higher version (or when its tag has none).
 */
export async function latestByDefault(db: Kysely<Database>, repo: Repository, release: Release): Promise<boolean> {
  if (!isEligibleForLatest(release)) return false;
  if (readRules(repo.release_rules).latest === 'github' || release.version_key === null) return true;
  const highest = await findHighestVersion(db, repo.id, { fullReleasesOnly: true, prefix: release.tag_prefix });
  return !highest || highest.id === release.id || highest.version_key! <= release.version_key;
}
