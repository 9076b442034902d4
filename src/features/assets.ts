/**
 * @module features/assets
 * Release assets as a Wharf feature: the REST routes, the upload route, the browser download
 * URLs, and the sweeper that cleans up after unfinished uploads.
 */
import type { Feature } from '../features.ts';
import { AssetSweeper } from '../services/asset-sweeper.ts';
import { assetDownloadRoutes } from '../web/asset-downloads.ts';
import { authenticatePageScript } from '../web/web-auth.ts';
import { assetUploadRoutes } from '../http/routes/asset-uploads.ts';
import { releaseAssetRoutes } from '../http/routes/release-assets.ts';
import { tusUploadRoutes } from '../http/routes/tus-uploads.ts';
import type { AppContext } from '../context.ts';

const sweepers = new WeakMap<AppContext, AssetSweeper>();

export const assetsFeature: Feature = {
  name: 'assets',
  api: releaseAssetRoutes,
  uploads(app, ctx) {
    assetUploadRoutes(app, ctx);
    // The web uploader sends tus requests with the page's session and CSRF token.
    tusUploadRoutes(app, ctx, { authenticate: (request, rule) => authenticatePageScript(ctx, request, rule) });
  },
  web: assetDownloadRoutes,
  async start(ctx) {
    const sweeper = new AssetSweeper(ctx);
    sweepers.set(ctx, sweeper);
    sweeper.start();
  },
  async stop(ctx) {
    await sweepers.get(ctx)?.stop();
    sweepers.delete(ctx);
  },
};
