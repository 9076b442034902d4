/**
 * @module http/routes/mirrors
 * Pull mirrors, a documented Wharf extension (docs/mirrors.md): `GET/PUT/DELETE
 * /repos/{owner}/{repo}/mirror` and `POST /repos/{owner}/{repo}/mirror/sync` (a sync as soon as
 * a node's scheduler looks: 202).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { getMirror, removeMirror, requestSync, setMirror } from '../../services/mirrors.ts';
import { repoAccess } from '../route-helpers.ts';
import { encodePathValue } from '../urls.ts';
import { mirrorJson } from '../serializers/mirrors.ts';

export function mirrorRoutes(app: FastifyInstance, ctx: AppContext, wake: () => void): void {
  const selfUrl = (request: { urls: { api: string } }, owner: string, repo: string) => `${request.urls.api}/repos/${encodePathValue(owner)}/${encodePathValue(repo)}/mirror`;
  app.get('/repos/:owner/:repo/mirror', async (request) => {
    const access = await repoAccess(ctx, request);
    return mirrorJson(await getMirror(ctx, access), selfUrl(request, access.owner.login, access.repo.name));
  });
  app.put('/repos/:owner/:repo/mirror', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { mirror, created } = await setMirror(ctx, access, request.body);
    wake();
    return reply.code(created ? 201 : 200).send(mirrorJson(mirror, selfUrl(request, access.owner.login, access.repo.name)));
  });
  app.delete('/repos/:owner/:repo/mirror', async (request, reply) => {
    await removeMirror(ctx, await repoAccess(ctx, request));
    return reply.code(204).send();
  });
  app.post('/repos/:owner/:repo/mirror/sync', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const mirror = await requestSync(ctx, access);
    wake();
    return reply.code(202).send(mirrorJson(mirror, selfUrl(request, access.owner.login, access.repo.name)));
  });
}
