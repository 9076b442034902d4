/**
 * @module http/routes/repositories
 * `GET/PATCH/DELETE /repos/{owner}/{repo}` and collaborators.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Permission } from '../../db/schema.ts';
import { addCollaborator, checkCollaborator, listRepositoryCollaborators, permissionOfUser, removeCollaborator } from '../../services/collaborators.ts';
import { deleteRepositoryAndData, updateRepositorySettings } from '../../services/repositories.ts';
import { parsePage } from '../../domain/page.ts';
import { repoAccess, sendPage } from '../route-helpers.ts';
import { permissionsObject, repositoryJson } from '../serializers/repositories.ts';
import { simpleUser } from '../serializers/users.ts';

type CollaboratorParams = { owner: string; repo: string; username: string };

/** GitHub's `role_name` spells pull and push as read and write. */
function roleName(permission: Permission): string {
  return permission === 'pull' ? 'read' : permission === 'push' ? 'write' : permission;
}

/** The legacy base role of `/permission`: maintain counts as write and triage as read (GitHub's description). */
function legacyPermission(permission: Permission | null): 'admin' | 'write' | 'read' | 'none' {
  if (permission === 'admin') return 'admin';
  if (permission === 'maintain' || permission === 'push') return 'write';
  if (permission === 'triage' || permission === 'pull') return 'read';
  return 'none';
}

export function repositoryRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/repos/:owner/:repo', async (request) => {
    const access = await repoAccess(ctx, request);
    return repositoryJson(access.owner, access.repo, request.urls, request.principal ? access.permission : undefined);
  });

  app.patch('/repos/:owner/:repo', async (request) => {
    const access = await repoAccess(ctx, request);
    const repo = await updateRepositorySettings(ctx, access, request.body);
    return repositoryJson(access.owner, repo, request.urls, access.permission);
  });

  app.delete('/repos/:owner/:repo', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    await deleteRepositoryAndData(ctx, access);
    return reply.code(204).send();
  });

  app.get('/repos/:owner/:repo/collaborators', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const page = parsePage(request.query);
    const all = await listRepositoryCollaborators(ctx, access);
    const items = all.slice(page.offset, page.offset + page.perPage).map(({ account, permission }) => ({
      ...simpleUser(account, request.urls),
      permissions: permissionsObject(permission),
      role_name: roleName(permission),
    }));
    return sendPage(request, reply, page, all.length, items);
  });

  // 204 for a collaborator (or the owner), 404 otherwise, with no body.
  app.get<{ Params: CollaboratorParams }>('/repos/:owner/:repo/collaborators/:username', async (request, reply) => {
    await checkCollaborator(ctx, await repoAccess(ctx, request), request.params.username);
    return reply.code(204).send();
  });

  app.get<{ Params: CollaboratorParams }>('/repos/:owner/:repo/collaborators/:username/permission', async (request) => {
    const { user, permission } = await permissionOfUser(ctx, await repoAccess(ctx, request), request.params.username);
    return {
      permission: legacyPermission(permission),
      role_name: permission ? roleName(permission) : 'none',
      user: { ...simpleUser(user, request.urls), permissions: permissionsObject(permission) },
    };
  });

  // Wharf adds collaborators directly (no invitation round-trip), which GitHub answers with 204.
  app.put<{ Params: CollaboratorParams }>('/repos/:owner/:repo/collaborators/:username', async (request, reply) => {
    await addCollaborator(ctx, await repoAccess(ctx, request), request.params.username, request.body);
    return reply.code(204).send();
  });

  app.delete<{ Params: CollaboratorParams }>('/repos/:owner/:repo/collaborators/:username', async (request, reply) => {
    await removeCollaborator(ctx, await repoAccess(ctx, request), request.params.username);
    return reply.code(204).send();
  });
}
