/**
 * @module http/serializers/releases
 * Releases on the wire (`release`), in the field order GitHub's recordings show, with every asset
 * embedded. Pure formatting: the assets, accounts and reaction counts come loaded
 * (`services/release-details`, a fixed number of queries per page).
 */
import type { Account, Asset, Release, Repository } from '../../db/schema.ts';
import { renderMarkdown, renderPlainText } from '../../render/markdown.ts';
import type { ReleaseDetails } from '../../services/release-details.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import type { Urls } from '../urls.ts';
import { encodePathValue } from '../urls.ts';
import { assetJson, releaseWebTag } from './assets.ts';
import { nodeId } from './node-id.ts';
import { reactionRollup } from './reactions.ts';
import { simpleUser } from './users.ts';

/** Which renderings of `body` the client asked for (GitHub's `application/vnd.github.<x>+json`). */
export interface BodyFormat {
  raw: boolean;
  html: boolean;
  text: boolean;
  /** Value for `X-GitHub-Media-Type`. */
  mediaType: string;
}

export function bodyFormatFromAccept(accept: string | undefined): BodyFormat {
  const m = /application\/vnd\.github(?:\.v3)?\.(raw|text|html|full)\+json/i.exec(accept ?? '');
  const kind = (m?.[1] ?? 'raw').toLowerCase();
  return {
    raw: kind === 'raw' || kind === 'full',
    html: kind === 'html' || kind === 'full',
    text: kind === 'text' || kind === 'full',
    mediaType: m ? `github.v3; param=${kind}; format=json` : 'github.v3; format=json',
  };
}

const MENTION = /(?:^|[^\w`])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})\b/g;

function mentionsCount(body: string | null): number {
  if (!body) return 0;
  return new Set([...body.matchAll(MENTION)].map((m) => m[1]!.toLowerCase())).size;
}

/** Releases with their details loaded by `loadReleaseDetails(…, { reactions: true })`. */
export function releasesJson(access: RepoAccess, releases: Release[], details: ReleaseDetails, urls: Urls, format?: BodyFormat) {
  const fmt = format ?? bodyFormatFromAccept(undefined);
  return releases.map((release) =>
    releaseJsonFrom({
      owner: access.owner,
      repo: access.repo,
      release,
      assets: details.assets.get(release.id) ?? [],
      accounts: details.accounts,
      reactions: details.reactions.get(release.id),
      urls,
      format: fmt,
    }),
  );
}

export interface ReleaseJsonInput {
  owner: Account;
  repo: Repository;
  release: Release;
  /** The release's assets, in the order they are shown. */
  assets: Asset[];
  /** Accounts by id: the author and the uploaders. */
  accounts: Map<number, Account>;
  reactions: Map<string, number> | undefined;
  urls: Urls;
  format?: BodyFormat;
}

/** One release from rows already at hand (the API's pages, and webhook payloads built from event snapshots). */
export function releaseJsonFrom(input: ReleaseJsonInput) {
  const { owner, repo, release, accounts, urls } = input;
  const fmt = input.format ?? bodyFormatFromAccept(undefined);
  const full = `${encodeURIComponent(owner.login)}/${encodeURIComponent(repo.name)}`;
  const api = `${urls.api}/repos/${full}`;
  const author = accounts.get(release.author_id);
  const assets = input.assets.map((asset) => assetJson(asset, { owner, repo, release, accounts, urls }));
  const mentions = mentionsCount(release.body);
  return {
    url: `${api}/releases/${release.id}`,
    assets_url: `${api}/releases/${release.id}/assets`,
    upload_url: `${urls.uploads}/repos/${full}/releases/${release.id}/assets{?name,label}`,
    html_url: `${urls.web}/${full}/releases/tag/${encodePathValue(releaseWebTag(release))}`,
    id: release.id,
    author: author ? simpleUser(author, urls) : null,
    node_id: nodeId('Release', release.id),
    tag_name: release.tag_name,
    target_commitish: release.target_commitish,
    name: release.name,
    draft: release.draft === 1,
    immutable: release.immutable === 1,
    prerelease: release.prerelease === 1,
    created_at: release.created_at,
    updated_at: release.updated_at,
    published_at: release.published_at,
    assets,
    tarball_url: `${api}/tarball/${encodePathValue(release.tag_name)}`,
    zipball_url: `${api}/zipball/${encodePathValue(release.tag_name)}`,
    ...(fmt.raw ? { body: release.body } : {}),
    ...(fmt.html ? { body_html: renderMarkdown(release.body, { web: urls.web, owner: owner.login, repo: repo.name }) } : {}),
    ...(fmt.text ? { body_text: renderPlainText(release.body) } : {}),
    reactions: reactionRollup(`${api}/releases/${release.id}/reactions`, input.reactions),
    ...(mentions > 0 ? { mentions_count: mentions } : {}),
    // Wharf's extensions (docs/channels.md), after GitHub's members; GitHub clients ignore them.
    version: release.version ?? null,
    channel: release.channel ?? 'stable',
  };
}

export function releaseJson(access: RepoAccess, release: Release, details: ReleaseDetails, urls: Urls, format?: BodyFormat) {
  return releasesJson(access, [release], details, urls, format)[0]!;
}
