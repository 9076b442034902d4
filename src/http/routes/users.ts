/**
 * @module http/routes/users
 * Users, organizations and their repository lists; repository creation for a user or an org.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { findOrgRole } from '../../db/repos/accounts-repo.ts';
import { countRepositories, listRepositories } from '../../db/repos/repositories-repo.ts';
import type { Account } from '../../db/schema.ts';
import { ForbiddenError, NotFoundError } from '../../domain/errors.ts';
import { getAccount } from '../../services/accounts.ts';
import { accountDisclosure, effectivePermission, repositoryListViewer } from '../../services/permissions.ts';
import { actsAsSiteAdmin } from '../../services/oauth-scopes.ts';
import { createRepository } from '../../services/repositories.ts';
import { bodyObject } from '../json-body.ts';
import { parsePage } from '../pagination.ts';
import { requireUser, sendPage } from '../route-helpers.ts';
import { organizationSimple, privateUser, publicUser } from '../serializers/users.ts';
import { repositoryJson } from '../serializers/repositories.ts';

export function userRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/user', async (request) => {
    const { user } = requireUser(request);
    const counts = { publicRepos: await countRepositories(ctx.db, user.id, false), privateRepos: await countRepositories(ctx.db, user.id, true) };
    return privateUser(user, request.urls, counts, accountDisclosure(request.principal, user));
  });

  app.get<{ Params: { username: string } }>('/users/:username', async (request) => {
    const account = await getAccount(ctx, request.params.username);
    return publicUser(account, request.urls, { publicRepos: await countRepositories(ctx.db, account.id, false) }, accountDisclosure(request.principal, account));
  });

  /** Lists repositories with the caller's permissions embedded when authenticated. */
  async function listFor(request: FastifyRequest, filter: Parameters<typeof listRepositories>[1]) {
    const page = parsePage(request.query);
    const { rows, total } = await listRepositories(ctx.db, filter, page.perPage, page.offset);
    const owners = new Map<number, Account>();
    const items = [];
    for (const row of rows) {
      const { owner_login: _ownerLogin, ...repo } = row;
      let owner = owners.get(repo.owner_id);
      if (!owner) {
        owner = await getAccount(ctx, row.owner_login);
        owners.set(owner.id, owner);
      }
      const permission = request.principal ? await effectivePermission(ctx.db, request.principal, repo, owner) : undefined;
      items.push(repositoryJson(owner, repo, request.urls, permission));
    }
    return { page, total, items };
  }

  function visibilityParam(query: unknown): 'all' | 'public' | 'private' {
    const v = (query as Record<string, unknown>)?.visibility;
    return v === 'public' || v === 'private' ? v : 'all';
  }

  app.get('/user/repos', async (request, reply) => {
    requireUser(request);
    const viewer = { ...repositoryListViewer(request.principal), viewerIsSiteAdmin: false };
    const { page, total, items } = await listFor(request, { ...viewer, affiliatedOnly: true, visibility: visibilityParam(request.query) });
    return sendPage(request, reply, page, total, items);
  });

  app.get<{ Params: { username: string } }>('/users/:username/repos', async (request, reply) => {
    const owner = await getAccount(ctx, request.params.username);
    const { page, total, items } = await listFor(request, { ownerId: owner.id, ...repositoryListViewer(request.principal) });
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
      public_repos: await countRepositories(ctx.db, org.id, false),
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
    const { page, total, items } = await listFor(request, { ownerId: org.id, ...repositoryListViewer(request.principal), visibility: visibilityParam(request.query) });
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
    if (org.type !== 'Organization') throw new NotFoundError();
    const role = actsAsSiteAdmin(principal) ? 'admin' : await findOrgRole(ctx.db, org.id, principal.user.id);
    if (!role) throw new NotFoundError();
    if (role !== 'admin') throw new ForbiddenError('You need admin access to the organization to create repositories.');
    const repo = await createRepository(ctx, org, principal, bodyObject(request.body) as never);
    return reply.code(201).send(repositoryJson(org, repo, request.urls, 'admin'));
  });
}
