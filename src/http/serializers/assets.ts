/**
 * @module http/serializers/assets
 * Release assets on the wire (`release-asset`), in the field order GitHub's recordings show.
 * `browser_download_url` uses the release's tag, or the draft's `untagged-…` placeholder.
 */
import type { Account, Asset, Release, Repository } from '../../db/schema.ts';
import type { Urls } from '../urls.ts';
import { encodePathValue } from '../urls.ts';
import { nodeId } from './node-id.ts';
import { simpleUser } from './users.ts';

/** The tag segment of a release's web URLs: its tag once published, `untagged-<hex>` while a draft. */
export function releaseWebTag(release: Pick<Release, 'draft' | 'tag_name' | 'untagged_key'>): string {
  return release.draft === 1 ? `untagged-${release.untagged_key}` : release.tag_name;
}

export interface AssetContext {
  owner: Account;
  repo: Repository;
  release: Pick<Release, 'draft' | 'tag_name' | 'untagged_key'>;
  /** Accounts by id, for `uploader`. */
  accounts: Map<number, Account>;
  urls: Urls;
}

export function assetJson(asset: Asset, c: AssetContext) {
  const full = `${encodeURIComponent(c.owner.login)}/${encodeURIComponent(c.repo.name)}`;
  const uploader = asset.uploader_id !== null ? c.accounts.get(asset.uploader_id) : undefined;
  return {
    url: `${c.urls.api}/repos/${full}/releases/assets/${asset.id}`,
    id: asset.id,
    node_id: nodeId('ReleaseAsset', asset.id),
    name: asset.name,
    label: asset.label,
    uploader: uploader ? simpleUser(uploader, c.urls) : null,
    content_type: asset.content_type,
    state: asset.state === 'uploaded' ? 'uploaded' : 'open',
    size: asset.size,
    digest: asset.digest ? `sha256:${asset.digest}` : null,
    download_count: asset.download_count,
    created_at: asset.created_at,
    updated_at: asset.updated_at,
    browser_download_url: `${c.urls.web}/${full}/releases/download/${encodePathValue(releaseWebTag(c.release))}/${encodeURIComponent(asset.name)}`,
  };
}
