/**
 * @module services/update-feeds
 * What the desktop update feeds serve (docs/update-feeds.md): the releases of one channel (and
 * tag prefix), highest version first, with their uploaded assets and, for Tauri and Sparkle, the
 * signatures the developer uploaded beside the artifacts. The formats are written by
 * web/pages/update-feeds.ts; which asset serves which platform is domain/update-platforms.ts.
 */
import type { AppContext } from '../context.ts';
import type { Asset, Release } from '../db/schema.ts';
import { listAssetsForReleases } from '../db/repos/assets-repo.ts';
import { listByVersion } from '../db/repos/releases-repo.ts';
import { CHANNEL_NAME } from '../domain/release-version.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { RepoAccess } from './repositories.ts';

/** Signatures are a few hundred bytes of text; anything larger is not one. */
export const MAX_SIGNATURE_BYTES = 8 * 1024;
/** Squirrel's RELEASES lists every full and delta package: small, but more than a signature. */
export const MAX_RELEASES_FILE_BYTES = 1024 * 1024;
/** Sparkle's appcast lists a channel's recent releases; older ones help no client. */
export const APPCAST_ITEMS = 10;

export interface FeedRelease {
  release: Release;
  assets: Asset[];
}

export interface FeedQuery {
  channel: string;
  prefix?: string;
}

export function feedQuery(channel: string, query: unknown): FeedQuery {
  if (!CHANNEL_NAME.test(channel)) throw new NotFoundError();
  const prefix = (query as Record<string, unknown> | undefined)?.prefix;
  return { channel, prefix: typeof prefix === 'string' ? prefix : undefined };
}

/** The channel's newest releases by version, each with its uploaded assets. */
export async function channelReleases(ctx: AppContext, access: RepoAccess, feed: FeedQuery, limit: number): Promise<FeedRelease[]> {
  const releases = await listByVersion(ctx.db, access.repo.id, { channels: [feed.channel], prefix: feed.prefix }, limit);
  const assets = await listAssetsForReleases(
    ctx.db,
    releases.map((r) => r.id),
  );
  return releases.map((release) => ({ release, assets: assets.get(release.id) ?? [] }));
}

/** The text of a small asset (a signature, Squirrel's RELEASES), trimmed; null when not uploaded or larger than `maxBytes`. */
export async function readAssetText(ctx: Pick<AppContext, 'blobs'>, asset: Asset, maxBytes = MAX_SIGNATURE_BYTES): Promise<string | null> {
  if (asset.state !== 'uploaded' || !asset.blob_key || asset.size > maxBytes) return null;
  const chunks: Buffer[] = [];
  let bytes = 0;
  // The bytes read are counted, not only the size recorded for them: whatever the store holds
  // under the key, at most `maxBytes` of it is kept in memory (leaving the loop ends the read).
  for await (const chunk of await ctx.blobs.get(asset.blob_key)) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}
