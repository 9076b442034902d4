/**
 * @module graphql/feature
 * `POST /api/graphql` (the GHES path; Octokit maps a `/api/v3` base URL to it and gh calls it for
 * every release lookup by tag, `release list` and `--verify-tag`). Same credentials and headers
 * as the REST API; GitHub requires authentication for GraphQL, so anonymous callers get 401.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { UnauthorizedError } from '../domain/errors.ts';
import type { Feature } from '../features.ts';
import { setCommonHeaders } from '../http/api-headers.ts';
import { resolvePrincipal } from '../http/auth.ts';
import { bodyObject } from '../http/json-body.ts';
import { createGraphQLContext } from './context.ts';
import { runGraphQL } from './execute.ts';
import { buildWharfSchema } from './schema.ts';

function graphqlRoutes(app: FastifyInstance, ctx: AppContext): void {
  const schema = buildWharfSchema();
  app.post('/api/graphql', async (request, reply) => {
    setCommonHeaders(request, reply);
    request.principal = await resolvePrincipal(ctx, request);
    if (!request.principal) throw new UnauthorizedError('This endpoint requires you to be authenticated.');
    setCommonHeaders(request, reply);
    reply.header('cache-control', 'no-cache');
    const c = createGraphQLContext(ctx, request.principal, request.urls, request.ip);
    const result = await runGraphQL(schema, c, bodyObject(request.body));
    return reply.type('application/json; charset=utf-8').send(result);
  });
}

export const graphqlFeature: Feature = { name: 'graphql', web: graphqlRoutes };
