/**
 * @module services/release-details
 * What a page of releases shows besides the rows themselves — their assets, the accounts involved
 * (authors and uploaders) and, for the API, their reaction counts — loaded with a fixed number of
 * queries whatever the page size, for the serializers and pages to format.
 */
import type { AppContext } from '../context.ts';
import type { Account, Asset, Release } from '../db/schema.ts';
import { findAccountsByIds } from '../db/repos/accounts-repo.ts';
import { listAssetsForReleases } from '../db/repos/assets-repo.ts';
import { countReactionsForReleases } from '../db/repos/reactions-repo.ts';

export interface ReleaseDetails {
  assets: Map<number, Asset[]>;
  accounts: Map<number, Account>;
  /** Reaction counts by release and content; loaded only when asked for (empty otherwise). */
  reactions: Map<number, Map<string, number>>;
}

export interface ReleaseDetailsOptions {
  /** Also assets still uploading (the release's own page for users with push access). */
  includeIncompleteAssets?: boolean;
  /** Also reaction counts (the API's `reactions` rollup). */
  reactions?: boolean;
}

/** The uploaded assets of these releases, by release, in one query (GraphQL's per-request loader). */
export async function assetsOfReleases(ctx: AppContext, releaseIds: readonly number[]): Promise<Map<number, Asset[]>> {
  return listAssetsForReleases(ctx.db, [...releaseIds]);
}

/**
 * Assets, accounts and (if asked) reaction counts of a page of releases: two queries, three with
 * reactions — and that one only counts releases someone has reacted to.
 */
export async function loadReleaseDetails(ctx: AppContext, releases: Release[], options: ReleaseDetailsOptions = {}): Promise<ReleaseDetails> {
  const reacted = options.reactions ? releases.filter((r) => r.reactions_changed_at !== null).map((r) => r.id) : [];
  const [assets, reactions] = await Promise.all([
    listAssetsForReleases(
      ctx.db,
      releases.map((r) => r.id),
      options.includeIncompleteAssets ?? false,
    ),
    countReactionsForReleases(ctx.db, reacted),
  ]);
  const ids = releases.map((r) => r.author_id);
  for (const list of assets.values()) for (const a of list) if (a.uploader_id !== null) ids.push(a.uploader_id);
  return { assets, accounts: await findAccountsByIds(ctx.db, ids), reactions };
}

/**
 * The details of a release this request has just created, from what created it instead of read
 * back: the assets it was created with (none through the API) and its author, the caller. Nobody
 * can have reacted to it yet. Renders the same as `loadReleaseDetails` would: the author's
 * rendered fields (login, type, site administration) are those of the caller's remembered account,
 * which is looked up again whenever any of them changes (the credentials' generation).
 */
export function createdReleaseDetails(release: Release, author: Account, assets: Asset[] = []): ReleaseDetails {
  const accounts = new Map<number, Account>([[author.id, author]]);
  return { assets: new Map([[release.id, assets]]), accounts, reactions: new Map() };
}
