/**
 * @module http/errors
 * Failures as the API answers them: GitHub's error shapes (`basic-error`, `validation-error`)
 * with `documentation_url` and a string `status`. The status comes from the error catalogue
 * (`domain/error-catalogue.ts`); Fastify's own errors (body parsing, limits) are mapped here.
 * Unknown errors are logged and become a 500 whose body says nothing about the internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { knownFailure } from '../domain/error-catalogue.ts';
import type { FieldError } from '../domain/errors.ts';
import { asDomainError } from '../services/db-errors.ts';
import { failureNoted, noteFailure } from './request-log.ts';

export const DOCS_URL = 'https://docs.github.com/enterprise-server@3.19/rest';

export interface ErrorBody {
  message: string;
  documentation_url: string;
  status: string;
  errors?: FieldError[];
  request_id?: string;
}

export function errorBody(status: number, message: string, errors?: FieldError[]): ErrorBody {
  const body: ErrorBody = { message, documentation_url: DOCS_URL, status: String(status) };
  if (errors) body.errors = errors;
  return body;
}

interface Known {
  status: number;
  message: string;
  errors?: FieldError[];
}

/** Fastify's own errors (body parsing, limits, timeouts) carry a statusCode and a code. */
function fromFastify(err: FastifyError): Known | null {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, message: 'Problems parsing JSON' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, message: 'Request body too large' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, message: 'Bad Content-Length' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, message: 'Unsupported Media Type' };
    default:
      break;
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, message: err.statusCode === 400 ? 'Bad Request' : err.message };
  }
  return null;
}

export function sendError(reply: FastifyReply, status: number, message: string, errors?: FieldError[], documentationUrl?: string): FastifyReply {
  const body = errorBody(status, message, errors);
  if (!failureNoted(reply)) noteFailure(reply, message);
  if (documentationUrl) body.documentation_url = documentationUrl;
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/**
 * Route option naming the endpoint's page in GitHub's docs (`releases/releases#create-a-release`).
 * GitHub links validation failures (422) to the endpoint's anchor, other errors to the generic page.
 */
export interface DocsConfig {
  docs?: string;
}

export function docsConfig(docs: string): { config: DocsConfig } {
  return { config: { docs } };
}

function endpointDocsUrl(request: FastifyRequest): string | undefined {
  const docs = (request.routeOptions?.config as DocsConfig | undefined)?.docs;
  return docs ? `${DOCS_URL}/${docs}` : undefined;
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known: Known | null = knownFailure(asDomainError(err)) ?? fromFastify(err);
  if (known) {
    // Known server-side failures (a full disk, an asset that could not be saved) say what
    // happened to the caller; the request's log line carries the error for the operator.
    if (known.status >= 500) noteFailure(reply, known.message, err);
    if (known.status === 401) reply.header('www-authenticate', 'Basic realm="Wharf"');
    const retryAfter = (err as { retryAfter?: unknown }).retryAfter;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return sendError(reply, known.status, known.message, known.errors, known.status === 422 ? endpointDocsUrl(request) : undefined);
  }
  if (request.raw.socket?.destroyed) {
    // The client went away mid-request (a cancelled upload): nobody is waiting for an answer,
    // and a failure it caused is not a server fault. 499 is the status proxies log for this.
    noteFailure(reply, `client closed the connection before the response: ${err.message}`);
    return sendError(reply, 499, 'Client Closed Request');
  }
  // The body says nothing about the internals; the request's log line has the error and its stack.
  noteFailure(reply, err.message, err);
  return sendError(reply, 500, 'Internal Server Error');
}
