/**
 * @module http/request-log
 * One log line per request, written when the response has gone out: method, route template,
 * URL (credentials redacted), status, duration, the user (login, or none) and, for a 4xx or 5xx,
 * why — the message the client was given, and for a server fault the error itself with its stack.
 * Fastify's own two lines per request ("incoming request", "request completed") are turned off
 * in `app.ts`; everything an operator needs about a request is on this one line.
 *
 * The error paths (`http/errors.ts`, the web's error pages) call `noteFailure` with what they
 * answered; a 4xx sent without one (a plain `reply.code(401)`) is logged with its status text.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { redactUrl } from './log-redaction.ts';

interface Failure {
  message: string;
  err?: unknown;
}

// Keyed by the reply (one per request), so nothing is added to Fastify's request or reply shapes.
const failures = new WeakMap<FastifyReply, Failure>();

/** Records why this request failed: the message the client sees and, for a fault, the error. */
export function noteFailure(reply: FastifyReply, message: string, err?: unknown): void {
  failures.set(reply, err === undefined ? { message } : { message, err });
}

/** Whether the reason was already recorded (an error handler's note outranks the generic one of `sendError`). */
export function failureNoted(reply: FastifyReply): boolean {
  return failures.has(reply);
}

export interface RequestLine {
  method: string;
  /** The route template (`/api/v3/repos/:owner/:repo/releases`); null when no route matched. */
  route: string | null;
  url: string;
  status: number;
  /** Milliseconds from the request's arrival to the end of the response, to 0.1 ms. */
  responseTime: number;
  /** The signed-in user's login; null for anonymous requests. */
  user: string | null;
  remoteAddress: string;
  /** For a 4xx or 5xx: the message the client was given (or the status text). */
  error?: string;
  /** For a 5xx caused by an error: the error, serialized with its stack by pino. */
  err?: unknown;
}

export function requestLine(request: FastifyRequest, reply: FastifyReply): RequestLine {
  const status = reply.statusCode;
  const line: RequestLine = {
    method: request.method,
    route: request.is404 ? null : (request.routeOptions.url ?? null),
    url: redactUrl(request.url),
    status,
    responseTime: Math.round(reply.elapsedTime * 10) / 10,
    user: request.principal?.user.login ?? null,
    remoteAddress: request.ip,
  };
  if (status >= 400) {
    const failure = failures.get(reply);
    line.error = failure?.message ?? STATUS_CODES[status] ?? `HTTP ${status}`;
    if (status >= 500 && failure?.err !== undefined) line.err = failure.err;
  }
  return line;
}

/** The human part of the line: `GET /api/v3/meta 200 1.2ms alice — Not Found`. */
export function requestMessage(line: RequestLine): string {
  const who = line.user ? ` ${line.user}` : '';
  const why = line.error ? ` — ${line.error}` : '';
  return `${line.method} ${line.url} ${line.status} ${line.responseTime}ms${who}${why}`;
}

/** Probes polled every few seconds by load balancers and Prometheus: logged at `debug` while they succeed. */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** The `onResponse` hook: writes the line (`error` level for server faults, `debug` for passing probes, `info` otherwise). */
export async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const line = requestLine(request, reply);
  const level = line.status >= 500 ? 'error' : line.status < 400 && line.route !== null && PROBES.has(line.route) ? 'debug' : 'info';
  request.log[level](line, requestMessage(line));
}
