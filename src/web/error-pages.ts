/**
 * @module web/error-pages
 * Failures on pages become HTML pages with the same statuses the API uses (a hidden repository or
 * draft is a plain 404, never a hint that it exists). Anonymous visitors asked to sign in are
 * sent to the sign-in page instead. Statuses come from the error catalogue
 * (`domain/error-catalogue.ts`), as the API's do. Unknown errors are logged and shown without details.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { knownFailure, type KnownFailure } from '../domain/error-catalogue.ts';
import { ValidationError } from '../domain/errors.ts';
import { errorHandler } from '../http/errors.ts';
import { noteFailure } from '../http/request-log.ts';
import { asDomainError } from '../services/db-errors.ts';
import { html } from './html.ts';
import { sendPage } from './layout.ts';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign in required',
  403: 'Forbidden',
  404: 'Page not found',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Too large',
  414: 'Address too long',
  422: 'Could not save',
  500: 'Something went wrong',
  503: 'Busy',
  507: 'Storage full',
};

/** The catalogue's meaning, or Fastify's own 4xx (a malformed form body); null for a fault. */
function failureOf(err: FastifyError): Pick<KnownFailure, 'status' | 'message'> | null {
  const known = knownFailure(asDomainError(err));
  if (known) return known;
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return { status: err.statusCode, message: err.message };
  return null;
}

/**
 * The longest `return_to` a sign-in redirect carries. Encoding can triple an address's length,
 * and the redirect's `Location` must stay well inside clients' header limits (16 KiB in undici).
 */
const MAX_RETURN_TO = 2048;

/** The sign-in page, coming back to `url` afterwards (or to its path, or home, when that is too long to carry). */
export function signInPath(url: string): string {
  for (const back of [url, url.split('?')[0]!]) {
    const encoded = encodeURIComponent(back);
    if (encoded.length <= MAX_RETURN_TO) return `/login?return_to=${encoded}`;
  }
  return '/login';
}

/** Human text for a validation failure's `errors[]`. */
export function validationMessages(err: unknown): string[] {
  if (err instanceof ValidationError) {
    const list = err.errors.map((e) => e.message ?? `${e.field ?? e.resource ?? 'value'} ${e.code.replace(/_/g, ' ')}`);
    return list.length ? list : [err.message];
  }
  if (err instanceof Error) return [err.message];
  return ['Unknown error'];
}

/** The statuses of refusals a form shows beside its fields (a fault or a sign-in request becomes a page of its own). */
const FORM_REFUSALS = new Set([403, 404, 409, 422]);

/**
 * A service's refusal of what a form asked, as the messages to show beside the form and the
 * status the catalogue gives it (the API answers the same request with that status); null for
 * anything else, which the caller rethrows to the error page.
 */
export function formRefusal(err: unknown): { status: number; messages: string[] } | null {
  const domain = asDomainError(err);
  const known = knownFailure(domain);
  if (!known || !FORM_REFUSALS.has(known.status)) return null;
  return { status: known.status, messages: known.status === 422 ? validationMessages(domain) : [known.message] };
}

export function renderErrorPage(request: FastifyRequest, reply: FastifyReply, status: number, detail?: string): FastifyReply {
  const title = TITLES[status] ?? 'Error';
  noteFailure(reply, detail ?? title);
  return sendPage(request, reply, { title, body: html`<section class="error"><h1>${status} · ${title}</h1>${detail ? html`<p>${detail}</p>` : ''}</section>` }, status);
}

export function webErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // `/api/…` is the API's even when a page route matched its path (`GET /api/graphql` fits
  // `/:owner/:repo`) and a hook before the pages' own refused it (an over-long URL's 414): JSON.
  if (request.url.startsWith('/api/')) return errorHandler(err, request, reply);
  const failure = failureOf(err);
  const status = failure?.status ?? 500;
  // A browser is sent to sign in; a script or feed reader that sent bad credentials gets the 401.
  if (status === 401 && request.method === 'GET' && !request.principal && !request.headers.authorization) {
    return reply.redirect(signInPath(request.url), 303);
  }
  if (!failure) {
    // The page shows no details; the request's log line has the error and its stack.
    const page = renderErrorPage(request, reply, 500);
    noteFailure(reply, err.message, err);
    return page;
  }
  const retryAfter = (err as { retryAfter?: unknown }).retryAfter;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  const detail = status === 404 ? "This page does not exist, or you don't have access to it." : status === 422 ? validationMessages(err).join(' ') : failure.message;
  const page = renderErrorPage(request, reply, status, detail);
  // The log says what went wrong (the page may say it more gently), with the error for faults.
  noteFailure(reply, failure.message, status >= 500 ? err : undefined);
  return page;
}
