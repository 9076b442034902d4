/**
 * @module graphql/execute
 * One GraphQL request, from the decoded JSON body to GitHub's response body: parse (bounded),
 * validate against the schema, check the query's cost, execute, and format errors. Like GitHub,
 * problems with the query itself are answered with HTTP 200 and `errors[]`.
 */
import { execute, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { WharfError } from '../domain/errors.ts';
import type { GraphQLContext } from './context.ts';
import { formatError, type GitHubFormattedError } from './errors.ts';
import { chargeGraphQL } from '../http/rate-limit.ts';
import { checkQueryCost } from './limits.ts';
import { rootValue } from './root.ts';

export interface GraphQLResponse {
  data?: unknown;
  errors?: GitHubFormattedError[];
}

/** Bounds parsing work for hostile documents; GitHub's largest real queries are far below this. */
const MAX_TOKENS = 20_000;

function only(message: string): GraphQLResponse {
  return { errors: [{ message }] };
}

function readVariables(value: unknown): Record<string, unknown> | string {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    // Some clients send the variables as a JSON string.
    if (value.trim() === '') return {};
    try {
      return readVariables(JSON.parse(value));
    } catch {
      return 'Variables are invalid JSON.';
    }
  }
  if (typeof value !== 'object' || Array.isArray(value)) return 'Variables must be a JSON object.';
  return value as Record<string, unknown>;
}

export async function runGraphQL(schema: GraphQLSchema, c: GraphQLContext, body: Record<string, unknown>): Promise<GraphQLResponse> {
  const { query, operationName } = body;
  if (typeof query !== 'string' || query.trim() === '') return only('A query attribute must be specified and must be a string.');
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return only('An operationName must be a string.');
  const variables = readVariables(body.variables);
  if (typeof variables === 'string') return only(variables);

  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: MAX_TOKENS });
  } catch (err) {
    if (err instanceof GraphQLError) return { errors: [formatError(err)] };
    throw err;
  }
  const invalid = validate(schema, document, specifiedRules);
  if (invalid.length > 0) return { errors: invalid.map(formatError) };
  let cost: number;
  try {
    cost = checkQueryCost(document, operationName, variables);
  } catch (err) {
    if (err instanceof GraphQLError) return { errors: [formatError(err)] };
    throw err;
  }
  // Charged before it runs, as GitHub does; a spent budget answers with data none.
  if (c.app.config.rateLimit.enabled) {
    const state = await chargeGraphQL(c.app, c.principal, c.clientIp, cost);
    c.rate = { cost, state };
    if (state.used > state.limit) return { errors: [{ type: 'RATE_LIMITED', message: `API rate limit exceeded for user ID ${c.principal.user.id}.` }] };
  }

  const result = await execute({ schema, document, rootValue, contextValue: c, variableValues: variables, operationName: operationName ?? null });
  const response: GraphQLResponse = {};
  if ('data' in result) response.data = result.data;
  if (result.errors?.length) {
    for (const error of result.errors) {
      if (error.originalError && !(error.originalError instanceof GraphQLError) && !(error.originalError instanceof WharfError))
        c.app.log.error({ err: error.originalError, path: error.path }, 'graphql resolver failed');
    }
    response.errors = result.errors.map(formatError);
  }
  return response;
}
