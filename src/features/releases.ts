/**
 * @module features/releases
 * The Releases API (with release reactions) and the push listener that keeps releases in step with their tags.
 */
import type { Feature } from '../features.ts';
import { immutableReleaseRoutes } from '../http/routes/immutable-releases.ts';
import { reactionRoutes } from '../http/routes/reactions.ts';
import { releaseRoutes } from '../http/routes/releases.ts';
import { onRefsChanged } from '../services/releases.ts';

export const releasesFeature: Feature = {
  name: 'releases',
  api: (app, ctx) => {
    releaseRoutes(app, ctx);
    reactionRoutes(app, ctx);
    immutableReleaseRoutes(app, ctx);
  },
  async start(ctx) {
    ctx.pushListeners.add((trx, set) => onRefsChanged(trx, set.repo, set.changes, set.actorId));
  },
};
