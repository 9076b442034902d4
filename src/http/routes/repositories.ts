/**
 * @module http/routes/repositories
 * `GET/PATCH/DELETE /repos/{owner}/{repo}` and collaborators.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Permission } from '../../db/schema.ts';
import { findAccountByLogin } from '../../db/repos/accounts-repo.ts';
import { findCollaboratorPermission, listCollaborators, removeCollaborator, upsertCollaborator } from '../../db/repos/repositories-repo.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { deleteRepositoryAndData, requirePermission, updateRepositorySettings } from '../../services/repositories.ts';
import { effectivePermission } from '../../services/permissions.ts';
import { isoSeconds } from '../../util/time.ts';
import { bodyObject } from '../json-body.ts';
import { parsePage } from '../../domain/page.ts';
import { repoAccess, sendPage } from '../route-helpers.ts';
import { permissionsObject, repositoryJson } from '../serializers/repositories.ts';
import { simpleUser } from '../serializers/users.ts';

const PERMISSIONS: Permission[] = ['pull', 'triage', 'push', 'maintain', 'admin'];

/** GitHub also accepts the older role names on this endpoint. */
function parsePermission(value: unknown): Permission | null {
  if (value === undefined || value === null) return 'push';
  if (value === 'read') return 'pull';
  if (value === 'write') return 'push';
  return PERMISSIONS.includes(value as Permission) ? (value as Permission) : null;
}

export function repositoryRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/repos/:owner/:repo', async (request) => {
    const access = await repoAccess(ctx, request);
    return repositoryJson(access.owner, access.repo, request.urls, request.principal ? access.permission : undefined);
  });

  app.patch('/repos/:owner/:repo', async (request) => {
    const access = await repoAccess(ctx, request);
    const repo = await updateRepositorySettings(ctx, access, bodyObject(request.body));
    return repositoryJson(access.owner, repo, request.urls, access.permission);
  });

  app.delete('/repos/:owner/:repo', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    await deleteRepositoryAndData(ctx, access);
    return reply.code(204).send();
  });

  app.get('/repos/:owner/:repo/collaborators', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    requirePermission(access, 'push');
    const page = parsePage(request.query);
    const owner = access.owner.type === 'User' ? [{ account: access.owner, permission: 'admin' as Permission }] : [];
    const all = [...owner, ...(await listCollaborators(ctx.db, access.repo.id))];
    const items = all.slice(page.offset, page.offset + page.perPage).map(({ account, permission }) => ({
      ...simpleUser(account, request.urls),
      permissions: permissionsObject(permission),
      role_name: permission === 'pull' ? 'read' : permission === 'push' ? 'write' : permission,
    }));
    return sendPage(request, reply, page, all.length, items);
  });

  app.get<{ Params: { owner: string; repo: string; username: string } }>('/repos/:owner/:repo/collaborators/:username', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const user = await findAccountByLogin(ctx.db, request.params.username);
    if (!user || user.type !== 'User') throw new NotFoundError();
    const isOwner = user.id === access.owner.id;
    const perm = isOwner ? 'admin' : await findCollaboratorPermission(ctx.db, access.repo.id, user.id);
    // GitHub answers 204 for collaborators (and the owner), 404 otherwise, with no body.
    if (!perm) throw new NotFoundError();
    return reply.code(204).send();
  });

  app.get<{ Params: { owner: string; repo: string; username: string } }>('/repos/:owner/:repo/collaborators/:username/permission', async (request) => {
    const access = await repoAccess(ctx, request);
    const user = await findAccountByLogin(ctx.db, request.params.username);
    if (!user || user.type !== 'User') throw new NotFoundError();
    const perm = await effectivePermission(ctx.db, { user, token: null as never, scopes: new Set(['repo']) }, access.repo, access.owner);
    const legacy = perm === 'admin' || perm === 'maintain' ? 'admin' : perm === 'push' || perm === 'triage' ? 'write' : perm === 'pull' ? 'read' : 'none';
    return { permission: legacy, role_name: perm ?? 'none', user: { ...simpleUser(user, request.urls), permissions: permissionsObject(perm) } };
  });

  app.put<{ Params: { owner: string; repo: string; username: string } }>('/repos/:owner/:repo/collaborators/:username', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    requirePermission(access, 'admin');
    const user = await findAccountByLogin(ctx.db, request.params.username);
    if (!user || user.type !== 'User') throw new NotFoundError();
    const body = bodyObject(request.body);
    const permission = parsePermission(body.permission);
    if (!permission) throw new ValidationError([{ resource: 'Repository', field: 'permission', code: 'invalid' }]);
    if (user.id === access.owner.id) {
      throw new ValidationError([{ resource: 'Repository', field: 'collaborator', code: 'custom', message: 'Repository owner cannot be a collaborator' }]);
    }
    // Wharf adds collaborators directly (no invitation round-trip), which GitHub answers with 204.
    await upsertCollaborator(ctx.db, access.repo.id, user.id, permission, isoSeconds());
    return reply.code(204).send();
  });

  app.delete<{ Params: { owner: string; repo: string; username: string } }>('/repos/:owner/:repo/collaborators/:username', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    requirePermission(access, 'admin');
    const user = await findAccountByLogin(ctx.db, request.params.username);
    if (!user) throw new NotFoundError();
    await removeCollaborator(ctx.db, access.repo.id, user.id);
    return reply.code(204).send();
  });
}
