/**
 * @module features/meta
 * The API root (gh reads `X-OAuth-Scopes` from it at login), `/rate_limit` and `/meta`.
 */
import type { Feature } from '../features.ts';
import { metaRoutes } from '../http/routes/meta.ts';

export const metaFeature: Feature = {
  name: 'meta',
  api: metaRoutes,
};
