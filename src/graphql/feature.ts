/**
 * @module graphql/feature
 * `POST /api/graphql` (the GHES path; Octokit maps a `/api/v3` base URL to it and gh calls it for
 * every release lookup by tag, `release list` and `--verify-tag`). Same credentials and headers
 * as the REST API; GitHub requires authentication for GraphQL, so anonymous callers get 401.
 */
import { setMaxListeners } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import type { Feature } from '../features.ts';
import { setCommonHeaders } from '../http/api-headers.ts';
import { resolvePrincipal } from '../http/auth.ts';
import { currentCaller, runAsCaller, type GitCaller } from '../git/git-slots.ts';
import { bodyObject } from '../http/json-body.ts';
import { createGraphQLContext } from './context.ts';
import { runGraphQL } from './execute.ts';
import { buildWharfSchema } from './schema.ts';

/** The request's caller, its git work also abandoned when `outOfTime` fires. */
function withinTime(caller: GitCaller, outOfTime: AbortSignal): GitCaller {
  const signal = AbortSignal.any([caller.signal, outOfTime]);
  // Each of the query's git reads listens on it (up to 250): not a leak, so no listener limit.
  setMaxListeners(0, signal);
  return {
    get key() {
      return caller.key;
    },
    signal,
  };
}

function graphqlRoutes(app: FastifyInstance, ctx: AppContext): void {
  const schema = buildWharfSchema();
  app.post('/api/graphql', async (request, reply) => {
    setCommonHeaders(request, reply);
    request.principal = await resolvePrincipal(ctx, request);
    if (!request.principal) throw new UnauthorizedError('This endpoint requires you to be authenticated.');
    setCommonHeaders(request, reply);
    reply.header('cache-control', 'no-cache');
    const c = createGraphQLContext(ctx, request.principal, request.urls, request.ip);
    // Git work still waiting for its turn when the query's time is up gives up its place, as it
    // would if the client had left.
    const caller = currentCaller();
    const outOfTime = AbortSignal.timeout(ctx.config.graphqlTimeoutMs);
    const run = () => runGraphQL(schema, c, bodyObject(request.body));
    const result = await (caller ? runAsCaller(withinTime(caller, outOfTime), run) : run());
    return reply.type('application/json; charset=utf-8').send(result);
  });
}

export const graphqlFeature: Feature = { name: 'graphql', web: graphqlRoutes };
