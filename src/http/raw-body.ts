/**
 * @module http/raw-body
 * Upload routes (the API's `/api/uploads` and the web page's) take the raw request body as a
 * stream and store the declared media type verbatim, whatever it is: ncipollo sends "raw", which
 * is not a valid media type and which Fastify would refuse. So the declared type is kept aside
 * and the body parser only ever sees octet-stream.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError } from '../domain/errors.ts';

const declaredTypes = new WeakMap<object, string | undefined>();

/** Makes every route in this encapsulation context receive its body as an untouched stream. */
export function acceptRawBodies(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    declaredTypes.set(request.raw, request.headers['content-type']);
    request.raw.headers['content-type'] = 'application/octet-stream';
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}

/** The media type the client declared, or application/octet-stream when it gave none. */
export function declaredContentType(request: FastifyRequest): string {
  return declaredTypes.get(request.raw)?.trim() || 'application/octet-stream';
}

/**
 * The body of an upload as the blob store takes it: its declared length (uploads must send
 * `Content-Length`; chunked bodies are refused, as GitHub's upload host refuses them), the stream
 * itself, and a signal aborted when the client goes away before the last byte.
 */
export function uploadBody(request: FastifyRequest): { size: number; body: Readable; signal: AbortSignal } {
  const length = request.headers['content-length'];
  if (request.headers['transfer-encoding'] !== undefined || length === undefined || !/^\d{1,16}$/.test(length)) {
    throw new BadRequestError('Bad Content-Length: ');
  }
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort(new Error('client disconnected'));
  });
  return { size: Number(length), body: (request.body as Readable | undefined) ?? request.raw, signal: controller.signal };
}
