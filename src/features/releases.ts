/**
 * @module features/releases
 * The Releases API and the push listener that keeps releases in step with their tags.
 */
import type { Feature } from '../features.ts';
import { releaseRoutes } from '../http/routes/releases.ts';
import { onRefsChanged } from '../services/releases.ts';

export const releasesFeature: Feature = {
  name: 'releases',
  api: releaseRoutes,
  async start(ctx) {
    ctx.pushListeners.add((repo, changes) => onRefsChanged(ctx, repo, changes));
  },
};
