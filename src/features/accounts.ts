/**
 * @module features/accounts
 * Users and organizations (profiles, their repository lists, repository creation) and the site
 * administration API (users, impersonation tokens, organizations, token revocation).
 */
import type { Feature } from '../features.ts';
import { adminRoutes } from '../http/routes/admin.ts';
import { userRoutes } from '../http/routes/users.ts';

export const accountsFeature: Feature = {
  name: 'accounts',
  api: (app, ctx) => {
    userRoutes(app, ctx);
    adminRoutes(app, ctx);
  },
};
