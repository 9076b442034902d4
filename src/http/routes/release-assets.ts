/**
 * @module http/routes/release-assets
 * The Release Assets REST API under `/api/v3`:
 * - `GET    /repos/{o}/{r}/releases/{release_id}/assets` (paginated, `Link`)
 * - `GET    /repos/{o}/{r}/releases/assets/{asset_id}` (JSON, or the bytes with
 *   `Accept: application/octet-stream`: streamed 200/206, see asset-downloads)
 * - `PATCH  /repos/{o}/{r}/releases/assets/{asset_id}` (`name`, `label`, `state`)
 * - `DELETE /repos/{o}/{r}/releases/assets/{asset_id}` (204; unreferenced bytes go too)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Asset, Release } from '../../db/schema.ts';
import { accountsWithIds } from '../../services/accounts.ts';
import { deleteAsset, getAsset, getDownloadableAsset, listAssets, updateAsset } from '../../services/assets.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { docsConfig } from '../errors.ts';
import { parsePage } from '../../domain/page.ts';
import { parsePathId, repoAccess, sendPage } from '../route-helpers.ts';
import { assetJson } from '../serializers/assets.ts';
import { sendAssetBytes } from './asset-downloads.ts';

interface AssetParams {
  owner: string;
  repo: string;
  asset_id: string;
}

/** Serializes assets of one release, loading their uploaders in one query. */
export async function assetsJson(ctx: AppContext, request: FastifyRequest, access: RepoAccess, release: Release, assets: Asset[]) {
  const accounts = await accountsWithIds(
    ctx,
    assets.map((a) => a.uploader_id).filter((id): id is number => id !== null),
  );
  return assets.map((a) => assetJson(a, { owner: access.owner, repo: access.repo, release, accounts, urls: request.urls }));
}

function wantsBytes(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === 'application/octet-stream');
}

export function releaseAssetRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { owner: string; repo: string; release_id: string } }>('/repos/:owner/:repo/releases/:release_id/assets', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const page = parsePage(request.query);
    const { release, assets, total } = await listAssets(ctx, access, parsePathId(request.params.release_id), page.offset, page.perPage);
    return sendPage(request, reply, page, total, await assetsJson(ctx, request, access, release, assets));
  });

  // HEAD is routed explicitly so a HEAD for the bytes keeps its real Content-Length.
  app.route<{ Params: AssetParams }>({
    method: ['GET', 'HEAD'],
    url: '/repos/:owner/:repo/releases/assets/:asset_id',
    handler: async (request, reply) => {
      const access = await repoAccess(ctx, request);
      const id = parsePathId(request.params.asset_id);
      if (wantsBytes(request)) {
        const { asset } = await getDownloadableAsset(ctx, access, id);
        return sendAssetBytes(ctx, request, reply, asset);
      }
      const { asset, release } = await getAsset(ctx, access, id);
      const [json] = await assetsJson(ctx, request, access, release, [asset]);
      reply.header('last-modified', new Date(asset.updated_at).toUTCString());
      return json;
    },
  });

  app.patch<{ Params: AssetParams }>('/repos/:owner/:repo/releases/assets/:asset_id', docsConfig('releases/assets#update-a-release-asset'), async (request) => {
    const access = await repoAccess(ctx, request);
    const { asset, release } = await updateAsset(ctx, access, parsePathId(request.params.asset_id), request.body);
    const [json] = await assetsJson(ctx, request, access, release, [asset]);
    return json;
  });

  app.delete<{ Params: AssetParams }>('/repos/:owner/:repo/releases/assets/:asset_id', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    await deleteAsset(ctx, access, parsePathId(request.params.asset_id));
    return reply.code(204).send();
  });
}
