/**
 * @module http/request-target
 * The longest request target (path and query) Wharf serves. Answers echo parts of the address
 * in headers (a list's `Link` names its URL up to four times, a sign-in redirect carries it in
 * `return_to`), and common clients cap a response's header section (undici and Node's http
 * client at 16 KiB): an unbounded address would make an answer that client cannot read, and it
 * would drop the connection instead. 8 KiB is what nginx and most front ends accept by default
 * (`large_client_header_buffers 4 8k`), and far more than any GitHub client sends.
 */
import { closeAfterAnswer } from './progress-deadline.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UriTooLongError } from '../domain/errors.ts';

export const MAX_REQUEST_TARGET_BYTES = 8192;

/**
 * Refuses a request whose target is over the limit with `414 URI Too Long`, before credentials
 * are even looked at. Thrown from the first hook, so each part of the server answers in its own
 * shape: GitHub's JSON error on the API, the uploads host and git, the HTML error page on pages.
 */
export function refuseLongTarget(request: FastifyRequest, reply: FastifyReply): void {
  if (Buffer.byteLength(request.url) <= MAX_REQUEST_TARGET_BYTES) return;
  // A body that may follow (an upload) is not read: the connection ends with the answer.
  closeAfterAnswer(request, reply);
  throw new UriTooLongError();
}
