/**
 * @module web/asset-downloads
 * The browser URLs of assets, at the web root:
 * - `GET {web}/{owner}/{repo}/releases/download/{tag}/{name}` (an asset's `browser_download_url`;
 *   `{tag}` may span several segments, and is a draft's `untagged-…` placeholder for drafts);
 * - `GET {web}/{owner}/{repo}/releases/latest/download/{name}` → 302 to the latest release's asset
 *   (`?channel=beta&major=2&prefix=cli-`: the latest of that line, docs/channels.md).
 *
 * A token is accepted on these URLs (private repositories), which GitHub itself lacks, and so is a
 * signed-in web session (the release pages link here). The bytes go out as the API's downloads do
 * (`http/routes/asset-downloads`).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { assetJson } from '../http/serializers/assets.ts';
import { sendAssetBytes } from '../http/routes/asset-downloads.ts';
import { getDownloadableAssetByTag, getLatestReleaseAsset } from '../services/assets.ts';
import { getRepoAccess } from '../services/repositories.ts';
import { parseLineQuery } from '../services/release-channels.ts';
import { browserPrincipal } from './web-auth.ts';

/** Splits the raw path after `/releases/download/` into its tag (any segments) and asset name. */
function tagAndName(rawUrl: string, marker: string): { tag: string; name: string } | null {
  const path = rawUrl.split('?')[0] ?? '';
  const at = path.indexOf(marker);
  if (at < 0) return null;
  const segments = path.slice(at + marker.length).split('/');
  if (segments.length < 2 || segments.some((s) => s === '')) return null;
  try {
    const name = decodeURIComponent(segments.pop()!);
    return { tag: segments.map(decodeURIComponent).join('/'), name };
  } catch {
    return null;
  }
}

export function assetDownloadRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.route<{ Params: { owner: string; repo: string } }>({
    method: ['GET', 'HEAD'],
    url: '/:owner/:repo/releases/download/*',
    handler: async (request, reply) => {
      request.principal = await browserPrincipal(ctx, request);
      const parts = tagAndName(request.raw.url ?? '', '/releases/download/');
      if (!parts) return reply.callNotFound();
      const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
      const { asset } = await getDownloadableAssetByTag(ctx, access, parts.tag, parts.name);
      return sendAssetBytes(ctx, request, reply, asset);
    },
  });

  app.get<{ Params: { owner: string; repo: string; name: string } }>('/:owner/:repo/releases/latest/download/:name', async (request, reply) => {
    request.principal = await browserPrincipal(ctx, request);
    const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
    const { asset, release } = await getLatestReleaseAsset(ctx, access, request.params.name, parseLineQuery(request.query));
    const target = assetJson(asset, { owner: access.owner, repo: access.repo, release, accounts: new Map(), urls: request.urls }).browser_download_url;
    return reply.code(302).header('location', target).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send('');
  });
}
