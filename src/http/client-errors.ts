/**
 * @module http/client-errors
 * Failures that happen before a route runs (a request Node cannot parse, headers too large or too
 * slow, a URL that does not decode, a JSON body that never finishes) answered in GitHub's error
 * shape like everything else, instead of Fastify's or Node's own bodies.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, sendError } from './errors.ts';

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

function rawErrorResponse(status: number, message: string): string {
  const body = JSON.stringify(errorBody(status, message));
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
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
  if (socket.writable) socket.end(rawErrorResponse(status, message));
  socket.destroySoon();
}

/** Fastify's routing failures (a URL whose encoding is broken, a path parameter too long). */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_BAD_URL') sendError(reply, 400, 'Bad Request');
  else sendError(reply, 404, 'Not Found');
}

/**
 * A JSON request must have sent its whole body `timeoutMs` after it started, or it is answered
 * 408 and its connection closed: a client trickling a body (or lying about its length) holds a
 * socket for a bounded time only. Uploads are not registered here; their limit is idleness.
 */
export function bodyDeadline(app: FastifyInstance, timeoutMs: number): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.complete) return;
    const timer = setTimeout(() => {
      const socket = request.raw.socket;
      if (request.raw.complete || socket.destroyed) return;
      if (!reply.raw.headersSent) socket.end(rawErrorResponse(408, 'Request Timeout'));
      socket.destroySoon();
    }, timeoutMs);
    timer.unref();
    request.raw.once('end', () => clearTimeout(timer));
    request.raw.once('close', () => clearTimeout(timer));
  });
}
