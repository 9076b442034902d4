/**
 * @module domain/error-catalogue
 * The one map from a kind of failure to what it means to each audience: its HTTP status (the
 * API's JSON error and the pages' HTML error use the same one) and its GraphQL error `type`.
 * `http/errors.ts`, `web/error-pages.ts` and `graphql/errors.ts` look failures up here and only
 * format them, so the three cannot drift apart. A failure not listed here is unexpected: a 500
 * (or `INTERNAL`) whose details are logged, never shown.
 */
import {
  AssetSaveError,
  BadRequestError,
  ChecksumMismatchError,
  ConflictError,
  ForbiddenError,
  InsufficientStorageError,
  InvalidRequestError,
  LockedError,
  NotFoundError,
  OverloadedError,
  RequestTimeoutError,
  TooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UriTooLongError,
  ValidationError,
  type FieldError,
  type WharfError,
} from './errors.ts';

/** The `type` GitHub's GraphQL API gives an error in `errors[]`. */
export type GraphQLErrorType = 'NOT_FOUND' | 'FORBIDDEN' | 'UNPROCESSABLE' | 'SERVICE_UNAVAILABLE' | 'INTERNAL';

export interface ErrorMeaning {
  status: number;
  graphqlType: GraphQLErrorType;
}

type ErrorClass = abstract new (...args: never[]) => WharfError;

/** Most specific first: a subclass is found before the class it extends. */
const CATALOGUE: ReadonlyArray<readonly [ErrorClass, ErrorMeaning]> = [
  [NotFoundError, { status: 404, graphqlType: 'NOT_FOUND' }],
  [ValidationError, { status: 422, graphqlType: 'UNPROCESSABLE' }],
  [InvalidRequestError, { status: 422, graphqlType: 'UNPROCESSABLE' }],
  [BadRequestError, { status: 400, graphqlType: 'UNPROCESSABLE' }],
  [UnauthorizedError, { status: 401, graphqlType: 'FORBIDDEN' }],
  [ForbiddenError, { status: 403, graphqlType: 'FORBIDDEN' }],
  [TooLargeError, { status: 413, graphqlType: 'UNPROCESSABLE' }],
  [UriTooLongError, { status: 414, graphqlType: 'UNPROCESSABLE' }],
  [ConflictError, { status: 409, graphqlType: 'UNPROCESSABLE' }],
  [LockedError, { status: 423, graphqlType: 'UNPROCESSABLE' }],
  [ChecksumMismatchError, { status: 460, graphqlType: 'UNPROCESSABLE' }],
  [InsufficientStorageError, { status: 507, graphqlType: 'SERVICE_UNAVAILABLE' }],
  [AssetSaveError, { status: 500, graphqlType: 'INTERNAL' }],
  [RequestTimeoutError, { status: 408, graphqlType: 'UNPROCESSABLE' }],
  [OverloadedError, { status: 503, graphqlType: 'SERVICE_UNAVAILABLE' }],
  [TooManyRequestsError, { status: 429, graphqlType: 'FORBIDDEN' }],
];

/** A failure as every layer reports it: what it means, the message it may show, and GitHub's `errors[]`. */
export interface KnownFailure extends ErrorMeaning {
  message: string;
  errors?: FieldError[];
}

export function knownFailure(err: unknown): KnownFailure | null {
  for (const [kind, meaning] of CATALOGUE) {
    if (err instanceof kind) {
      const failure: KnownFailure = { ...meaning, message: err.message };
      if (err instanceof ValidationError) failure.errors = err.errors;
      return failure;
    }
  }
  return null;
}

/** Every kind the catalogue knows (a test checks that each domain error has an entry). */
export const cataloguedKinds: readonly ErrorClass[] = CATALOGUE.map(([kind]) => kind);
