/**
 * @module features/git
 * A repository's git data: the REST views and refs API (tags, branches, refs, commits, source
 * archives) and git's smart HTTP protocol (clone, fetch, push) at `{web}/{owner}/{repo}.git`.
 */
import type { Feature } from '../features.ts';
import { gitHttpRoutes } from '../http/git-http.ts';
import { gitDataRoutes } from '../http/routes/git-data.ts';

export const gitFeature: Feature = {
  name: 'git',
  api: gitDataRoutes,
  raw: gitHttpRoutes,
};
