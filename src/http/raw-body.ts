/**
 * @module http/raw-body
 * Upload routes (the API's `/api/uploads` and the web page's) take the raw request body as a
 * stream and store the declared media type verbatim, whatever it is: ncipollo sends "raw", which
 * is not a valid media type and which Fastify would refuse. So the declared type is kept aside
 * and the body parser only ever sees octet-stream.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, RequestTimeoutError } from '../domain/errors.ts';
import { watchProgress, type ProgressRule } from './progress-deadline.ts';
import { leaveAdmission } from './admission.ts';

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
 * itself, how many bytes have arrived so far, and a signal aborted when the client goes away before
 * the last byte or stops making progress by `rule` (no byte for its idle time, or slower than its
 * minimum rate once its grace period has passed): the upload then ends with a 408 and the usual
 * clean-up.
 */
export function uploadBody(request: FastifyRequest, rule: ProgressRule): { size: number; body: Readable; signal: AbortSignal; received: () => number } {
  const length = request.headers['content-length'];
  if (request.headers['transfer-encoding'] !== undefined || length === undefined || !/^\d{1,16}$/.test(length)) {
    throw new BadRequestError('Bad Content-Length: ');
  }
  // From here the request moves bytes, bounded by the connection limit and the body watch: it
  // gives its place among the requests in progress to the next one.
  leaveAdmission(request);
  const controller = new AbortController();
  const raw = request.raw;
  const socket = raw.socket;
  const startBytes = socket.bytesRead;
  const received = () => socket.bytesRead - startBytes;
  const stop = watchProgress(
    // The blob store not taking bytes (a slow disk, S3 back-pressure) is not the client's fault.
    { bytes: () => socket.bytesRead, waitingOnUs: () => raw.complete || raw.readableLength >= raw.readableHighWaterMark },
    rule,
    (why) => controller.abort(new RequestTimeoutError(why === 'slow' ? `Upload slower than the minimum rate of ${rule.minBytesPerSecond} bytes per second` : 'Request Timeout')),
  );
  raw.once('end', stop);
  raw.once('close', () => {
    stop();
    if (!raw.complete) controller.abort(new Error('client disconnected'));
  });
  return { size: Number(length), body: (request.body as Readable | undefined) ?? raw, signal: controller.signal, received };
}
