/**
 * @module domain/errors
 * The few kinds of failure the services report. Each kind's HTTP status and GraphQL error type
 * are given once, in `domain/error-catalogue.ts`; the API, the pages and GraphQL only format.
 */

/** One entry of a GitHub `errors[]` array. */
export interface FieldError {
  resource?: string;
  field?: string;
  code: 'missing' | 'missing_field' | 'invalid' | 'already_exists' | 'unprocessable' | 'custom';
  message?: string;
  value?: unknown;
}

export class WharfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The object does not exist, or the caller may not know that it does (GitHub answers 404 for both). */
export class NotFoundError extends WharfError {
  constructor(message = 'Not Found') {
    super(message);
  }
}

/** 422 "Validation Failed" with an `errors[]` array. */
export class ValidationError extends WharfError {
  constructor(
    readonly errors: FieldError[],
    message = 'Validation Failed',
  ) {
    super(message);
  }
}

/** 422 whose body is a message without `errors[]` (GitHub's schema failures: "Invalid request.\n\n…"). */
export class InvalidRequestError extends WharfError {}

/** 400 (malformed input that is not a validation failure). */
export class BadRequestError extends WharfError {}

/** 401: missing or bad credentials. */
export class UnauthorizedError extends WharfError {
  constructor(message = 'Requires authentication') {
    super(message);
  }
}

/** 403: authenticated, visible, but not allowed (for example a token without the needed scope). */
export class ForbiddenError extends WharfError {}

/** 413: a request body over a configured limit. */
export class TooLargeError extends WharfError {}

/** 414: a request target (path and query) longer than Wharf serves. */
export class UriTooLongError extends WharfError {
  constructor(message = 'URI Too Long') {
    super(message);
  }
}

/** 408: the client stopped sending its request body, or sent it slower than the configured minimum rate. */
export class RequestTimeoutError extends WharfError {
  constructor(message = 'Request Timeout') {
    super(message);
  }
}

/**
 * 503 with `Retry-After`: Wharf sheds this request on purpose (its bounded queues are full)
 * rather than letting every request wait; the client may retry after `retryAfter` seconds.
 */
export class OverloadedError extends WharfError {
  constructor(
    message = 'Server is busy; retry later',
    readonly retryAfter = 5,
  ) {
    super(message);
  }
}

/** 429: too many attempts of something limited per caller (sign-ins); retry after `retryAfter` seconds. */
export class TooManyRequestsError extends WharfError {
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super(message);
  }
}

/** 409: the resource is in a state that forbids the change. */
export class ConflictError extends WharfError {}

/** 423: another request is writing to the same resumable upload right now. */
export class LockedError extends WharfError {
  constructor(message = 'The upload is locked by another request; retry shortly') {
    super(message);
  }
}

/** 460 (tus `checksum` extension): the bytes sent do not match the checksum sent with them. */
export class ChecksumMismatchError extends WharfError {
  constructor(message = 'Checksum Mismatch') {
    super(message);
  }
}

/** 507: the storage is full. */
export class InsufficientStorageError extends WharfError {}

/** 500 "Error saving asset", GitHub's answer when storing an upload fails (the message is safe to show). */
export class AssetSaveError extends WharfError {
  constructor() {
    super('Error saving asset');
  }
}
