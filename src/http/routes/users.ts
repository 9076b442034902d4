/**
 * @module http/routes/users
 * Users, organizations and their repository lists; repository creation for a user or an org.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { getAccount } from '../../services/accounts.ts';
import { accountDisclosure } from '../../services/permissions.ts';
import { createRepository, requireOrgRepositoryCreator } from '../../services/repositories.ts';
import { countOwnedRepositories, listVisibleRepositories, type RepositoryListQuery } from '../../services/repository-lists.ts';
import { bodyObject } from '../json-body.ts';
import { parsePage } from '../../domain/page.ts';
import { requireUser, sendPage } from '../route-helpers.ts';
import { organizationSimple, privateUser, publicUser } from '../serializers/users.ts';
import { repositoryJson } from '../serializers/repositories.ts';

export function userRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/user', async (request) => {
    const { user } = requireUser(request);
    const counts = { publicRepos: await countOwnedRepositories(ctx, user.id, false), privateRepos: await countOwnedRepositories(ctx, user.id, true) };
    return privateUser(user, request.urls, counts, accountDisclosure(request.principal, user));
  });

  app.get<{ Params: { username: string } }>('/users/:username', async (request) => {
    const account = await getAccount(ctx, request.params.username);
    return publicUser(account, request.urls, { publicRepos: await countOwnedRepositories(ctx, account.id, false) }, accountDisclosure(request.principal, account));
  });

  /** Lists repositories with the caller's permissions embedded when authenticated. */
  async function listFor(request: FastifyRequest, query: RepositoryListQuery) {
    const page = parsePage(request.query);
    const { items, total } = await listVisibleRepositories(ctx, request.principal, query, page);
    return { page, total, items: items.map(({ owner, repo, permission }) => repositoryJson(owner, repo, request.urls, permission)) };
  }

  function visibilityParam(query: unknown): 'all' | 'public' | 'private' {
    const v = (query as Record<string, unknown>)?.visibility;
    return v === 'public' || v === 'private' ? v : 'all';
  }

  app.get('/user/repos', async (request, reply) => {
    requireUser(request);
    const { page, total, items } = await listFor(request, { affiliatedOnly: true, visibility: visibilityParam(request.query) });
    return sendPage(request, reply, page, total, items);
  });

  app.get<{ Params: { username: string } }>('/users/:username/repos', async (request, reply) => {
    const owner = await getAccount(ctx, request.params.username);
    const { page, total, items } = await listFor(request, { ownerId: owner.id });
    return sendPage(request, reply, page, total, items);
  });

  app.get<{ Params: { org: string } }>('/orgs/:org', async (request) => {
    const org = await getAccount(ctx, request.params.org);
    if (org.type !== 'Organization') throw new NotFoundError();
    return {
      ...organizationSimple(org, request.urls),
      ...(org.name ? { name: org.name } : {}),
      html_url: `${request.urls.web}/${encodeURIComponent(org.login)}`,
      has_organization_projects: false,
      has_repository_projects: false,
      public_repos: await countOwnedRepositories(ctx, org.id, false),
      public_gists: 0,
      followers: 0,
      following: 0,
      type: 'Organization',
      created_at: org.created_at,
      updated_at: org.updated_at,
      archived_at: null,
    };
  });

  app.get<{ Params: { org: string } }>('/orgs/:org/repos', async (request, reply) => {
    const org = await getAccount(ctx, request.params.org);
    if (org.type !== 'Organization') throw new NotFoundError();
    const { page, total, items } = await listFor(request, { ownerId: org.id, visibility: visibilityParam(request.query) });
    return sendPage(request, reply, page, total, items);
  });

  app.post('/user/repos', async (request, reply) => {
    const principal = requireUser(request);
    const repo = await createRepository(ctx, principal.user, principal, bodyObject(request.body) as never);
    return reply.code(201).send(repositoryJson(principal.user, repo, request.urls, 'admin'));
  });

  app.post<{ Params: { org: string } }>('/orgs/:org/repos', async (request, reply) => {
    const principal = requireUser(request);
    const org = await getAccount(ctx, request.params.org);
    await requireOrgRepositoryCreator(ctx, org, principal);
    const repo = await createRepository(ctx, org, principal, bodyObject(request.body) as never);
    return reply.code(201).send(repositoryJson(org, repo, request.urls, 'admin'));
  });
}
