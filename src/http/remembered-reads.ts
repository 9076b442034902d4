/**
 * @module http/remembered-reads
 * The fast path of the API's hottest reads (docs/performance.md#the-fast-path): a `GET` of the
 * latest release, a release by tag or id, or a page of releases whose answer is remembered
 * (`http/cached-reads.ts`) is answered by a `request` listener ahead of Fastify's, without its
 * routing, hooks and reply machinery, which cost several times what the answer itself does.
 *
 * Nothing that decides whether and what a caller is answered is skipped; it is the same code, in
 * the same order: admission (a place, waiting in the same queue as every request), the
 * repository's and credentials' generations read from the database first, the caller's
 * credentials (the principal cache), the caller's access and the answer both remembered at the
 * generation just read, the route's scopes, the rate limit, the headers (`api-headers.ts`, every
 * one the route sends), `ETag` and `If-None-Match` / `If-Modified-Since` → 304 (not counted), and
 * one request-log line.
 *
 * Everything else goes to Fastify untouched, before anything is counted: a request that is not a
 * plain bodiless HTTP/1 `GET` of such a path, an answer or an access not remembered, credentials
 * that do not resolve, a token without the route's scope, a rate limit exhausted (its count is
 * given back; Fastify counts it again and answers 403), a server closing. A request admission
 * refuses (queue full, waited too long, the event loop stretched) is counted once, here, and
 * answered by Fastify's way. Not used behind a trusted proxy (the client's address and the URLs
 * then come from forwarded headers, which Fastify reads). With metrics on, its answers are counted
 * by the metrics feature (`watchRememberedReads`) as Fastify's hooks count every other request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { findGenerationsByName } from '../db/repos/generations-repo.ts';
import { hasAnyScope } from '../services/oauth-scopes.ts';
import { answerConditionally, setCommonHeaders, setPrincipalHeaders, SUPPORTED_API_VERSIONS, type HeaderSource, type HeaderTarget } from './api-headers.ts';
import { admissionFor, enterAhead } from './admission.ts';
import { principalOf } from './auth.ts';
import { answerKey, rememberedAccess, type RememberedAnswer } from './cached-reads.ts';
import { consume, rateHeaders, refund, type RateState } from './rate-limit.ts';
import { requestMessage, type RequestLine } from './request-log.ts';
import { MAX_REQUEST_TARGET_BYTES } from './request-target.ts';
import { scopeRuleFor, sendAcceptedScopes } from './route-scopes.ts';
import { requestUrlsOf } from './urls.ts';
import { redactUrl } from './log-redaction.ts';

/**
 * The paths whose answers may be remembered, with owner and repository names Fastify's router
 * takes as they are (no percent-encoding, no empty or duplicate segments). Anything else, even
 * if Fastify would route it to the same handler, takes Fastify's way.
 */
const REMEMBERED_PATH = /^\/api\/v3\/repos\/([A-Za-z0-9][A-Za-z0-9-]*)\/([A-Za-z0-9._-]+)\/releases(?:\/latest|\/tags\/[^?#]+|\/\d+)?(?:\?[^#]*)?$/;

const answeredBy = new WeakMap<AppContext, { count: number }>();

/** What a fast-path answer tells those who count requests (the metrics feature). */
export interface AnsweredAhead {
  route: string;
  status: number;
  /** `process.hrtime.bigint()` when the request was read. */
  started: bigint;
  /** Body bytes sent (Content-Length). */
  bytes: number;
}

const watchers = new WeakMap<AppContext, Array<(answer: AnsweredAhead) => void>>();

/**
 * Calls `watch` once for every request this server answers on the fast path, when its response
 * closes (finished, or the client went away), as Fastify's `onRequest`/`close` hooks would have
 * counted it: the metrics feature counts these into the same instruments as every other request.
 */
export function watchRememberedReads(ctx: AppContext, watch: (answer: AnsweredAhead) => void): void {
  const list = watchers.get(ctx) ?? [];
  list.push(watch);
  watchers.set(ctx, list);
}

/** How many requests this server answered on the fast path (for the tests and the bench). */
export function rememberedReadsAnswered(ctx: AppContext): number {
  return answeredBy.get(ctx)?.count ?? 0;
}

/** Headers in the order they are set, names in lower case: Fastify's reply headers, for the fast path. */
class HeaderList implements HeaderTarget {
  readonly values: Record<string, string> = {};
  header(name: string, value: string): this {
    this.values[name.toLowerCase()] = value;
    return this;
  }
  getHeader(name: string): string | undefined {
    return this.values[name.toLowerCase()];
  }
}

/**
 * Puts the fast path ahead of Fastify's `request` listener on `app`'s server. Call it right after
 * creating the server, with the request ids Fastify uses (`genReqId`).
 */
export function answerRememberedReadsFirst(app: FastifyInstance, ctx: AppContext, nextRequestId: () => string): void {
  const { config } = ctx;
  if (!ctx.readCache.enabled || !config.readCache.fastPath || config.trustProxy !== false) return;
  const server = app.server;
  const [fastify] = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  if (!fastify) return;
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const admission = admissionFor(ctx);
  const answered = { count: 0 };
  answeredBy.set(ctx, answered);
  const urlsFixed = config.externalUrl !== null;

  /** The remembered answer for `req`, sent; false (nothing sent, nothing counted) for Fastify to answer. */
  async function answer(req: IncomingMessage, res: ServerResponse, owner: string, repo: string, started: number, startedAt: bigint): Promise<boolean> {
    // A place in admission's queue as any request waits for one (handing the request to Fastify
    // for want of a place at once sent a tenth of a busy server's reads the slow way). Each step
    // answers at once when it can (a place free, SQLite, a remembered caller, a rate count in
    // memory) and is awaited only when it gave a promise: no microtask turn per step.
    const entered = enterAhead(admission, req);
    const release = entered instanceof Promise ? await entered : entered;
    if (!release) return false;
    try {
      // The server began closing, or the client left, while it waited: Fastify's way, as always.
      if (closing || req.socket.destroyed) return false;
      const url = req.url!;
      const read = findGenerationsByName(ctx.db, owner, repo.replace(/\.git$/i, ''));
      const found = read instanceof Promise ? await read : read;
      if (!found) return false;
      const address = req.socket.remoteAddress ?? '';
      const who = principalOf(ctx, req.headers.authorization, address, found.credentials);
      const principal = who instanceof Promise ? await who : who;
      const cached = rememberedAccess(ctx, principal, found);
      if (!cached) return false;
      const urls = requestUrlsOf(config, req.headers.host, 'encrypted' in req.socket && req.socket.encrypted === true ? 'https' : 'http');
      const remembered = ctx.readCache.get<RememberedAnswer>(answerKey(url, req.headers.accept, urls, cached.access, found.generation));
      if (!remembered) return false;
      const rule = scopeRuleFor('GET', remembered.route.slice('/api/v3'.length));
      if (!rule || (principal && !hasAnyScope(principal, rule.required))) return false;

      // The headers, set as the API scope's hook, the route and `sendRemembered` set them.
      const caller: HeaderSource = { id: nextRequestId(), principal, headers: req.headers };
      const headers = new HeaderList();
      // The API scope's hook sets these before the caller is known.
      setCommonHeaders({ ...caller, principal: null }, headers);
      sendAcceptedScopes(headers, rule);
      setPrincipalHeaders(caller, headers);
      let rate: RateState | null = null;
      if (config.rateLimit.enabled) {
        const counted = consume(ctx, principal, address);
        rate = counted instanceof Promise ? await counted : counted;
        if (rate.used > rate.limit) {
          // Fastify's way counts it again and answers the 403.
          refund(ctx, rate);
          return false;
        }
        for (const [name, value] of Object.entries(rateHeaders(rate))) headers.header(name, value);
      }
      for (const [name, value] of remembered.headers) headers.header(name, value);
      const notModified = answerConditionally(caller, headers, remembered.etag, urlsFixed);
      if (notModified && rate) refund(ctx, rate);
      if (!notModified) {
        headers.header('content-type', 'application/json; charset=utf-8');
        headers.header('content-length', String(remembered.body.length));
      }
      const status = notModified ? 304 : 200;
      // As Fastify's `onSend`: the place goes to the next request while the bytes are sent.
      release();
      res.once('finish', () => logLine(caller.id, url, status, remembered.route, principal?.user.login ?? null, address, started));
      const watching = watchers.get(ctx);
      if (watching) {
        const seen: AnsweredAhead = { route: remembered.route, status, started: startedAt, bytes: notModified ? 0 : remembered.body.length };
        res.once('close', () => {
          for (const watch of watching) watch(seen);
        });
      }
      res.writeHead(status, headers.values);
      res.end(notModified ? undefined : remembered.body);
      answered.count += 1;
      return true;
    } finally {
      release();
    }
  }

  function logLine(reqId: string, url: string, status: number, route: string, user: string | null, remoteAddress: string, started: number): void {
    const line: RequestLine = { method: 'GET', route, url: redactUrl(url), status, responseTime: Math.round((performance.now() - started) * 10) / 10, user, remoteAddress };
    app.log.info({ reqId, ...line }, requestMessage(line));
  }

  server.removeListener('request', fastify);
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const match = closing ? null : rememberedPath(req);
    if (!match) return fastify.call(server, req, res);
    answer(req, res, match[1]!, match[2]!, started, process.hrtime.bigint()).then(
      (answered) => {
        if (!answered) fastify.call(server, req, res);
      },
      (err: unknown) => {
        // Bad credentials, a database error: Fastify's way meets it again and answers as always.
        if (res.headersSent) res.destroy(err as Error);
        else fastify.call(server, req, res);
      },
    );
  });
}

/** The owner and repository of a plain bodiless HTTP/1 `GET` of a path whose answer may be remembered. */
function rememberedPath(req: IncomingMessage): RegExpExecArray | null {
  if (req.method !== 'GET' || req.httpVersionMajor !== 1) return null;
  const url = req.url ?? '';
  if (Buffer.byteLength(url) > MAX_REQUEST_TARGET_BYTES || url.includes('%00')) return null;
  const { headers } = req;
  if ((headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined) return null;
  const version = headers['x-github-api-version'];
  if (version !== undefined && !SUPPORTED_API_VERSIONS.includes(version as string)) return null;
  return REMEMBERED_PATH.exec(url);
}
