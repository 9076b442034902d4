/**
 * @module http/routes/reactions
 * Release reactions (reference §3.14):
 * - `GET    /repos/{o}/{r}/releases/{release_id}/reactions` (`content` filter, paginated, `Link`)
 * - `POST   /repos/{o}/{r}/releases/{release_id}/reactions` (`{content}`; 201 new, 200 existing)
 * - `DELETE /repos/{o}/{r}/releases/{release_id}/reactions/{reaction_id}` (204)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { ReleaseReaction } from '../../db/schema.ts';
import { accountsWithIds } from '../../services/accounts.ts';
import { createReaction, listReactions, removeReaction } from '../../services/reactions.ts';
import { docsConfig } from '../errors.ts';
import { parsePage } from '../../domain/page.ts';
import { parsePathId, repoAccess, sendPage } from '../route-helpers.ts';
import { reactionJson } from '../serializers/reactions.ts';

type ReleaseParams = { owner: string; repo: string; release_id: string };
type ReactionParams = ReleaseParams & { reaction_id: string };

async function reactionsJson(ctx: AppContext, request: FastifyRequest, reactions: ReleaseReaction[]) {
  const accounts = await accountsWithIds(
    ctx,
    reactions.map((r) => Number(r.user_id)),
  );
  return reactions.map((r) => reactionJson(r, accounts, request.urls));
}

export function reactionRoutes(app: FastifyInstance, ctx: AppContext): void {
  const docs = docsConfig('reactions/reactions#create-reaction-for-a-release');

  app.get<{ Params: ReleaseParams; Querystring: { content?: unknown } }>(
    '/repos/:owner/:repo/releases/:release_id/reactions',
    docsConfig('reactions/reactions#list-reactions-for-a-release'),
    async (request, reply) => {
      const access = await repoAccess(ctx, request);
      const page = parsePage(request.query);
      const { rows, total } = await listReactions(ctx, access, parsePathId(request.params.release_id), request.query.content, page);
      return sendPage(request, reply, page, total, await reactionsJson(ctx, request, rows));
    },
  );

  app.post<{ Params: ReleaseParams }>('/repos/:owner/:repo/releases/:release_id/reactions', docs, async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { reaction, created } = await createReaction(ctx, access, parsePathId(request.params.release_id), request.body);
    const [json] = await reactionsJson(ctx, request, [reaction]);
    return reply.code(created ? 201 : 200).send(json);
  });

  app.delete<{ Params: ReactionParams }>('/repos/:owner/:repo/releases/:release_id/reactions/:reaction_id', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    await removeReaction(ctx, access, parsePathId(request.params.release_id), parsePathId(request.params.reaction_id));
    return reply.code(204).send();
  });
}
