/**
 * @module web/error-pages
 * Failures on pages become HTML pages with the same statuses the API uses (a hidden repository or
 * draft is a plain 404, never a hint that it exists). Anonymous visitors asked to sign in are
 * sent to the sign-in page instead. Unknown errors are logged and shown without details.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError, ConflictError, ForbiddenError, InvalidRequestError, NotFoundError, TooLargeError, UnauthorizedError, ValidationError } from '../domain/errors.ts';
import { html } from './html.ts';
import { sendPage } from './layout.ts';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign in required',
  403: 'Forbidden',
  404: 'Page not found',
  409: 'Conflict',
  413: 'Too large',
  422: 'Could not save',
  500: 'Something went wrong',
};

function statusOf(err: FastifyError): number {
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ValidationError || err instanceof InvalidRequestError) return 422;
  if (err instanceof BadRequestError) return 400;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof TooLargeError) return 413;
  if (err instanceof ConflictError) return 409;
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) return err.statusCode;
  return 500;
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

export function renderErrorPage(request: FastifyRequest, reply: FastifyReply, status: number, detail?: string): FastifyReply {
  const title = TITLES[status] ?? 'Error';
  return sendPage(request, reply, { title, body: html`<section class="error"><h1>${status} · ${title}</h1>${detail ? html`<p>${detail}</p>` : ''}</section>` }, status);
}

export function webErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = statusOf(err);
  // A browser is sent to sign in; a script or feed reader that sent bad credentials gets the 401.
  if (status === 401 && request.method === 'GET' && !request.principal && !request.headers.authorization) {
    return reply.redirect(`/login?return_to=${encodeURIComponent(request.url)}`, 303);
  }
  if (status === 500) {
    request.log.error({ err }, 'unhandled error on a page');
    return renderErrorPage(request, reply, 500);
  }
  const detail = status === 404 ? "This page does not exist, or you don't have access to it." : status === 422 ? validationMessages(err).join(' ') : err.message;
  return renderErrorPage(request, reply, status, detail);
}
