/**
 * @module http/routes/immutable-releases
 * The immutable-release settings, with api.github.com's paths and shapes (GHES has not got them
 * yet): `GET/PUT/DELETE /repos/{owner}/{repo}/immutable-releases` and
 * `GET/PUT /orgs/{org}/settings/immutable-releases` with `…/repositories` (list, set, add, remove).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import {
  checkRepositoryImmutable,
  listSelectedRepositories,
  organizationPolicy,
  replaceSelectedRepositories,
  selectRepository,
  setOrganizationPolicy,
  setRepositoryImmutableReleases,
} from '../../services/immutable-releases.ts';
import { organizationForOwner } from '../../services/accounts.ts';
import { bodyObject } from '../json-body.ts';
import { repoAccess } from '../route-helpers.ts';
import { repositoryJson } from '../serializers/repositories.ts';

type OrgParams = { org: string };

export function immutableReleaseRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/repos/:owner/:repo/immutable-releases', async (request) => checkRepositoryImmutable(ctx, await repoAccess(ctx, request)));
  app.put('/repos/:owner/:repo/immutable-releases', async (request, reply) => {
    await setRepositoryImmutableReleases(ctx, await repoAccess(ctx, request), true);
    return reply.code(204).send();
  });
  app.delete('/repos/:owner/:repo/immutable-releases', async (request, reply) => {
    await setRepositoryImmutableReleases(ctx, await repoAccess(ctx, request), false);
    return reply.code(204).send();
  });

  app.get<{ Params: OrgParams }>('/orgs/:org/settings/immutable-releases', async (request) => {
    return organizationPolicy(ctx, await organizationForOwner(ctx, request.principal, request.params.org));
  });
  app.put<{ Params: OrgParams }>('/orgs/:org/settings/immutable-releases', async (request, reply) => {
    const org = await organizationForOwner(ctx, request.principal, request.params.org);
    await setOrganizationPolicy(ctx, org, bodyObject(request.body));
    return reply.code(204).send();
  });
  app.get<{ Params: OrgParams }>('/orgs/:org/settings/immutable-releases/repositories', async (request) => {
    const org = await organizationForOwner(ctx, request.principal, request.params.org);
    const repos = await listSelectedRepositories(ctx, org);
    return { total_count: repos.length, repositories: repos.map((repo) => repositoryJson(org, repo, request.urls, 'admin')) };
  });
  app.put<{ Params: OrgParams }>('/orgs/:org/settings/immutable-releases/repositories', async (request, reply) => {
    const org = await organizationForOwner(ctx, request.principal, request.params.org);
    await replaceSelectedRepositories(ctx, org, bodyObject(request.body));
    return reply.code(204).send();
  });
  for (const [method, selected] of [
    ['PUT', true],
    ['DELETE', false],
  ] as const) {
    app.route<{ Params: OrgParams & { repository_id: string } }>({
      method,
      url: '/orgs/:org/settings/immutable-releases/repositories/:repository_id',
      handler: async (request, reply) => {
        const org = await organizationForOwner(ctx, request.principal, request.params.org);
        const id = Number(request.params.repository_id);
        if (!Number.isSafeInteger(id) || id < 1) throw new NotFoundError();
        await selectRepository(ctx, org, id, selected);
        return reply.code(204).send();
      },
    });
  }
}
