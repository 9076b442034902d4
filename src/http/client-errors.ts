/**
 * @module http/client-errors
 * Failures that happen before a route runs (a request Node cannot parse, headers too large or too
 * slow, a URL that does not decode, a JSON body that never finishes) answered in GitHub's error
 * shape like everything else, instead of Fastify's or Node's own bodies.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { errorBody, sendError } from './errors.ts';
import { closeGracefully, watchProgress, type ProgressRule } from './progress-deadline.ts';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};

export function rawErrorResponse(status: number, message: string, extraHeaders = ''): string {
  const body = JSON.stringify(errorBody(status, message));
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}Connection: close\r\n\r\n${body}`;
}

/**
 * Sockets already answered. Node can raise `clientError` more than once for one socket (more
 * bytes arrive while the answer is still being written); each answer would add another
 * `finish` listener through `destroySoon`, so only the first is answered.
 */
const answered = new WeakSet<Socket>();

/** Node's `clientError`: the request could not even be parsed, or its headers came too slowly. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  let status = 400;
  let message = 'Bad Request';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    status = 408;
    message = 'Request Timeout';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    message = 'Request Header Fields Too Large';
  }
  closeGracefully(socket, rawErrorResponse(status, message));
}

/** Fastify's routing failures (a URL whose encoding is broken, a path parameter too long). */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') sendError(reply, 400, 'Bad Request');
  else sendError(reply, 404, 'Not Found');
}

/**
 * A request body must keep arriving: no byte for `rule.idleMs`, or an average below
 * `rule.minBytesPerSecond` once `rule.graceMs` has passed, and the request is answered 408 and its
 * connection closed gracefully, so a client trickling a body (or lying about its length) holds a
 * socket for a bounded time only. Progress is judged by bytes that arrived, after the event loop has
 * had a chance to read them (`watchProgress`): a busy server never cuts off a client whose body
 * is waiting in the kernel. Asset uploads have their own watch (`uploadBody`: they also renew their
 * lease on progress); git's smart HTTP uses this one with the upload rule.
 */
export function bodyDeadline(app: FastifyInstance, rule: ProgressRule): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.complete) return;
    const raw = request.raw;
    const socket = raw.socket;
    const stop = watchProgress(
      {
        bytes: () => socket.bytesRead,
        // A body nobody reads yet (a hook still running) stops the socket when its buffer is full:
        // the client is not to blame for that.
        waitingOnUs: () => raw.complete || raw.readableLength >= raw.readableHighWaterMark,
      },
      rule,
      () => {
        if (raw.complete || socket.destroyed) return;
        // The body will never be read now: let it flow into the void so the socket keeps reading.
        raw.resume();
        closeGracefully(socket, reply.raw.headersSent ? undefined : rawErrorResponse(408, 'Request Timeout'));
      },
    );
    raw.once('end', stop);
    raw.once('close', stop);
  });
}

/** The progress rule of request bodies, from the settings. */
export function bodyRule(ctx: AppContext): ProgressRule {
  return { idleMs: ctx.config.bodyTimeoutMs, graceMs: ctx.config.bodyTimeoutMs, minBytesPerSecond: ctx.config.bodyMinRate };
}

/**
 * The progress rule of uploads: idle for at most the connection idle timeout (a large file may
 * pause longer than a JSON body), and the same minimum rate once the body grace period has passed.
 */
export function uploadRule(ctx: AppContext): ProgressRule {
  return { idleMs: ctx.config.idleTimeoutMs, graceMs: ctx.config.bodyTimeoutMs, minBytesPerSecond: ctx.config.bodyMinRate };
}
