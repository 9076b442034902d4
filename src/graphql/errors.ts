/**
 * @module graphql/errors
 * GraphQL errors in GitHub's shape. GitHub answers HTTP 200 with `data` (nulls where a field
 * failed) and `errors[]` whose entries carry a top-level `type` next to `path`, `locations` and
 * `message`, e.g. `{"type":"NOT_FOUND","path":["repository"],"locations":[{"line":1,"column":7}],
 * "message":"Could not resolve to a Repository with the name 'o/r'."}`. Errors raised by the
 * engine itself (syntax, validation) have no `type`, as on GitHub.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { knownFailure, type GraphQLErrorType } from '../domain/error-catalogue.ts';
import { asDomainError } from '../services/db-errors.ts';

/** The catalogue's types for domain failures, and the ones only GraphQL's own rules raise. */
export type GitHubErrorType =
  | GraphQLErrorType
  | 'MISSING_PAGINATION_BOUNDARIES'
  | 'EXCESSIVE_PAGINATION'
  | 'INVALID_CURSOR_ARGUMENTS'
  | 'MAX_NODE_LIMIT_EXCEEDED'
  | 'RESOURCE_LIMITS_EXCEEDED'
  | 'RATE_LIMITED';

/** Thrown by resolvers; graphql-js attaches path and locations. */
export class GitHubGraphQLError extends GraphQLError {
  constructor(
    readonly type: GitHubErrorType,
    message: string,
  ) {
    super(message, { extensions: { type } });
  }
}

export function notFound(message: string): GitHubGraphQLError {
  return new GitHubGraphQLError('NOT_FOUND', message);
}

export interface GitHubFormattedError {
  type?: string;
  path?: ReadonlyArray<string | number>;
  locations?: GraphQLFormattedError['locations'];
  message: string;
  extensions?: Record<string, unknown>;
}

/** GitHub's key order: `type`, `path`, `locations`, `message`. Internal details never leave. */
export function formatError(error: GraphQLError): GitHubFormattedError {
  const original = error.originalError;
  const own = error instanceof GitHubGraphQLError ? error : original instanceof GitHubGraphQLError ? original : null;
  const type = own ? own.type : serviceErrorType(original);
  const unexpected = original !== undefined && !(original instanceof GraphQLError) && !type;
  const out: GitHubFormattedError = {} as GitHubFormattedError;
  if (type) out.type = type;
  else if (unexpected) out.type = 'INTERNAL';
  if (error.path) out.path = error.path;
  if (error.locations) out.locations = error.locations;
  out.message = unexpected ? 'Something went wrong while executing your query. Please include the request id when reporting this issue.' : error.message;
  return out;
}

/**
 * Service failures that escaped a resolver keep their meaning, the type the error catalogue
 * gives them (and their message, which is safe); anything else is unexpected.
 */
function serviceErrorType(err: Error | undefined): GitHubErrorType | undefined {
  return err === undefined ? undefined : knownFailure(asDomainError(err))?.graphqlType;
}
