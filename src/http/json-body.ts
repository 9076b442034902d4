/**
 * @module http/json-body
 * JSON request bodies as GitHub reads them: any (or no) Content-Type, an empty body means no
 * members, malformed JSON or invalid UTF-8 is 400 "Problems parsing JSON", and a body that is
 * not an object is 400 "Body should be a JSON object". On the REST API a string holding U+0000 is
 * refused like invalid UTF-8: PostgreSQL cannot store it in text, and SQLite and PostgreSQL must
 * agree. (GraphQL variables may hold one: they only look things up, and GraphQL answers null.)
 */
import { closeAfterAnswer } from './progress-deadline.ts';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, TooLargeError } from '../domain/errors.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

export interface JsonParserOptions {
  /** Refuse strings holding U+0000 (bodies whose values are stored). */
  refuseNul?: boolean;
}

export function parseJsonBuffer(buffer: Buffer, options: JsonParserOptions = {}): unknown {
  if (buffer.length === 0) return undefined;
  let text: string;
  try {
    text = decoder.decode(buffer);
  } catch {
    throw new BadRequestError('Problems parsing JSON');
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequestError('Problems parsing JSON');
  }
  if (options.refuseNul && text.includes('\\u0000') && containsNul(value)) throw new BadRequestError('Problems parsing JSON');
  // `"\ud800"` is valid JSON but not text: a lone surrogate escape is refused like invalid UTF-8
  // (it would otherwise reach git, URLs and the database as a string no encoder accepts).
  if (SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(value)) throw new BadRequestError('Problems parsing JSON');
  return value;
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\0') || containsNul(v));
  return false;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
  return false;
}

/** Registers the tolerant JSON parser for every content type in this encapsulation context. */
export function registerJsonParser(app: FastifyInstance, options: JsonParserOptions = {}): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBuffer(body as Buffer, options));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/**
 * The body as an object of members; an absent body is `{}`. Routes whose service checks
 * permission hand the raw body on instead, so the check comes first (`domain/request-body.ts`).
 */
export { bodyMembers as bodyObject } from '../domain/request-body.ts';

/**
 * Makes every route in this encapsulation context receive its JSON body unread, for routes that
 * must check permission before they look at the body at all: a caller who may not see the
 * resource gets its 404 even for malformed or oversized JSON, never a 400 or 413 that would tell
 * it the route is there. The route reads the body with `readDeferredJson` after its check.
 */
export function deferJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  // A body refused before it was read is not drained: close the connection instead.
  app.addHook('onSend', async (request, reply) => {
    closeAfterAnswer(request, reply);
  });
}

/** Reads a body left unread by `deferJsonBodies`, as the API's JSON parser would have read it. */
export async function readDeferredJson(request: FastifyRequest, options: JsonParserOptions = {}): Promise<unknown> {
  const stream = request.body as Readable | undefined;
  if (!stream || typeof (stream as Partial<Readable>).on !== 'function') return request.body;
  const limit = request.routeOptions.bodyLimit ?? Infinity;
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new TooLargeError('Request body too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new TooLargeError('Request body too large');
    chunks.push(chunk as Buffer);
  }
  return parseJsonBuffer(Buffer.concat(chunks), options);
}
