/**
 * @module services/release-pages
 * Reads behind the release pages that the API has no endpoint for, with the API's visibility
 * rules: a draft is found by its `untagged-…` key only by users who may see drafts.
 */
import type { AppContext } from '../context.ts';
import type { Release } from '../db/schema.ts';
import { findReleaseByUntaggedKey, listRecentPublicReleases, type PublicReleaseRow } from '../db/repos/release-pages-repo.ts';
import { NotFoundError } from '../domain/errors.ts';
import { canSeeDrafts, getReleaseByTag } from './releases.ts';
import type { RepoAccess } from './repositories.ts';

const UNTAGGED = /^untagged-([0-9a-f]{20})$/;

/**
 * The release a web tag segment names: `untagged-<key>` (any release by key, drafts only for
 * push users) or a tag (published releases only, as the API's by-tag route).
 */
export async function getReleaseByWebTag(ctx: AppContext, access: RepoAccess, webTag: string): Promise<Release> {
  const untagged = UNTAGGED.exec(webTag);
  if (untagged) {
    const release = await findReleaseByUntaggedKey(ctx.db, access.repo.id, untagged[1]!);
    if (!release || (release.draft === 1 && !canSeeDrafts(access))) throw new NotFoundError();
    return release;
  }
  return getReleaseByTag(ctx, access, webTag);
}

/** The newest published releases of public repositories (the instance's front page). */
export async function recentPublicReleases(ctx: AppContext, limit: number): Promise<PublicReleaseRow[]> {
  return listRecentPublicReleases(ctx.db, Math.min(Math.max(limit, 1), 100));
}
