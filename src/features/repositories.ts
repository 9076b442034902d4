/**
 * @module features/repositories
 * `GET/PATCH/DELETE /repos/{owner}/{repo}` and collaborators.
 */
import type { Feature } from '../features.ts';
import { repositoryRoutes } from '../http/routes/repositories.ts';

export const repositoriesFeature: Feature = {
  name: 'repositories',
  api: repositoryRoutes,
};
