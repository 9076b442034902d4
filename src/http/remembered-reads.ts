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
import { repositoryAndCredentialGenerations, type FoundGenerations } from '../services/generations.ts';
import { hasAnyScope } from '../services/oauth-scopes.ts';
import type { Principal } from '../services/tokens.ts';
import { answerConditionally, setCommonHeaders, setPrincipalHeaders, SUPPORTED_API_VERSIONS, type HeaderSource, type HeaderTarget } from './api-headers.ts';
import { admissionFor, enterAhead } from './admission.ts';
import { principalOf } from './auth.ts';
import { accessKey, answerKey, rememberedAccess, type CachedAccess, type RememberedAnswer } from './cached-reads.ts';
import { consume, rateHeaders, refund, type RateState } from './rate-limit.ts';
import { requestMessage, type RequestLine } from './request-log.ts';
import { MAX_REQUEST_TARGET_BYTES } from './request-target.ts';
import { scopeRuleFor, sendAcceptedScopes, type ScopeRule } from './route-scopes.ts';
import { requestUrlsOf, type Urls } from './urls.ts';
import { canSeeDrafts } from '../services/releases.ts';
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
 * The headers of a remembered answer to one kind of caller, built once by the very functions that
 * set them on every answer (`api-headers.ts`, `route-scopes.ts`, `rate-limit.ts`), as the flat
 * name/value list `writeHead` takes. Per request only the request id and the rate counts are
 * put in their places: what the other fourteen to twenty headers say depends on the answer, the
 * caller's scopes and token expiry, and settings, not on the request.
 */
interface HeaderTemplate {
  flat: string[];
  /**
   * The list handed to `writeHead`, filled in per request: `writeHead` turns it into the head's
   * text at once and keeps nothing of it, so one list serves every request (no copy per request).
   */
  head: string[];
  /** Where the request id's value goes. */
  id: number;
  /** Where the first rate-limit value goes (-1: rate limiting off), the others every second place after it. */
  rate: number;
}

/** What a request on the fast path has found so far. */
interface Asked {
  req: IncomingMessage;
  res: ServerResponse;
  started: number;
  startedAt: bigint;
  release: () => void;
  address: string;
  principal: Principal | null;
}

/** URL bases and answer keys kept for at most this many hosts and request targets; beyond, they are built again. */
const KEYS_KEPT = 256;

/** Templates kept per answer for at most this many kinds of caller; beyond, they are built again. */
const TEMPLATES_PER_ANSWER = 32;

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
  const rateLimited = config.rateLimit.enabled;

  // A remembered route's scope rule, looked up once per route.
  const rules = new Map<string, ScopeRule | undefined>();
  function ruleOf(route: string): ScopeRule | undefined {
    if (!rules.has(route)) rules.set(route, scopeRuleFor('GET', route.slice('/api/v3'.length)));
    return rules.get(route);
  }

  // What of a caller its headers depend on (scopes and token expiry), per token row.
  const callerKinds = new WeakMap<object, string>();
  function callerKind(principal: Principal | null): string {
    if (!principal) return '';
    let kind = callerKinds.get(principal.token);
    if (kind === undefined) {
      kind = `${[...principal.scopes].join(',')}\0${principal.token.expires_at ?? ''}`;
      callerKinds.set(principal.token, kind);
    }
    return kind;
  }

  // What every request would otherwise build anew (garbage the young generation collects: a
  // scavenge stops every request under way, and at thousands of requests a second how often one
  // runs is what the slowest of them wait for). Each is kept as the function that builds it would
  // build it, and compared in full before it is used again.
  // The URL bases, per scheme and Host header (a pure function of both and the settings).
  const urlsByHost = [new Map<string, Urls>(), new Map<string, Urls>()] as const;
  function urlsOf(host: string | undefined, https: boolean): Urls {
    const byHost = urlsByHost[https ? 1 : 0];
    let urls = byHost.get(host ?? '');
    if (!urls) {
      urls = requestUrlsOf(config, host, https ? 'https' : 'http');
      if (byHost.size >= KEYS_KEPT) byHost.clear();
      byHost.set(host ?? '', urls);
    }
    return urls;
  }

  // The key of a caller's remembered access, per token row (the principal cache hands each
  // request its own copy of a principal, around the same token, user and scopes), anonymous
  // callers apart, for the repository and generation and the caller it was last built from.
  interface AccessKey {
    repositoryId: number;
    generation: number;
    user: unknown;
    siteAdmin: unknown;
    scopes: unknown;
    key: string;
  }
  const accessKeys = new WeakMap<object, AccessKey>();
  let anonymousAccessKey: AccessKey | undefined;
  function accessOf(principal: Principal | null, found: FoundGenerations): CachedAccess | null {
    let kept = principal ? accessKeys.get(principal.token) : anonymousAccessKey;
    if (
      !kept ||
      kept.repositoryId !== found.repositoryId ||
      kept.generation !== found.generation ||
      (principal && (kept.user !== principal.user || kept.siteAdmin !== principal.user.site_admin || kept.scopes !== principal.scopes))
    ) {
      kept = {
        repositoryId: found.repositoryId,
        generation: found.generation,
        user: principal?.user,
        siteAdmin: principal?.user.site_admin,
        scopes: principal?.scopes,
        key: accessKey(principal, found),
      };
      if (principal) accessKeys.set(principal.token, kept);
      else anonymousAccessKey = kept;
    }
    return rememberedAccess(ctx, principal, found, kept.key);
  }

  // The key of a remembered answer, per request target, for what else it was last built from.
  interface AnswerKey {
    accept: string | undefined;
    urls: Urls;
    repositoryId: number;
    generation: number;
    drafts: boolean;
    key: string;
  }
  const answerKeys = new Map<string, AnswerKey>();
  function answerKeyOf(url: string, accept: string | undefined, urls: Urls, cached: CachedAccess, generation: number): string {
    const { access } = cached;
    const drafts = canSeeDrafts(access);
    const kept = answerKeys.get(url);
    if (kept && kept.accept === accept && kept.urls === urls && kept.repositoryId === access.repo.id && kept.generation === generation && kept.drafts === drafts) return kept.key;
    const key = answerKey(url, accept, urls, access, generation);
    if (answerKeys.size >= KEYS_KEPT) answerKeys.clear();
    answerKeys.set(url, { accept, urls, repositoryId: access.repo.id, generation, drafts, key });
    return key;
  }

  const templates = new WeakMap<RememberedAnswer, Map<string, HeaderTemplate>>();
  function templateFor(remembered: RememberedAnswer, rule: ScopeRule, principal: Principal | null): HeaderTemplate {
    let byCaller = templates.get(remembered);
    if (!byCaller) templates.set(remembered, (byCaller = new Map<string, HeaderTemplate>()));
    const kind = callerKind(principal);
    let template = byCaller.get(kind);
    if (template) return template;
    // In the order the API scope's hooks, the route and `sendRemembered` set them, by the same
    // functions; the request id and rate counts are filled in per request.
    const caller: HeaderSource = { id: '', principal, headers: {} };
    const headers = new HeaderList();
    setCommonHeaders({ ...caller, principal: null }, headers);
    sendAcceptedScopes(headers, rule);
    setPrincipalHeaders(caller, headers);
    if (rateLimited) for (const name of Object.keys(rateHeaders(RATE_SHAPE))) headers.header(name, '');
    for (const [name, value] of remembered.headers) headers.header(name, value);
    // Without validators in the request, this only sets ETag and the caching headers.
    answerConditionally(caller, headers, remembered.etag, urlsFixed);
    headers.header('content-type', 'application/json; charset=utf-8');
    headers.header('content-length', String(remembered.body.length));
    const flat = Object.entries(headers.values).flat();
    template = { flat, head: flat.slice(), id: flat.indexOf('x-github-request-id') + 1, rate: rateLimited ? flat.indexOf('x-ratelimit-limit') + 1 : -1 };
    if (byCaller.size >= TEMPLATES_PER_ANSWER) byCaller.clear();
    byCaller.set(kind, template);
    return template;
  }

  /**
   * The remembered answer for `req`, sent; false (nothing sent, nothing counted) for Fastify to
   * answer. Each step answers at once when it can (a place free, SQLite, a remembered caller, a
   * rate count in memory) and the next is chained only to a step that gave a promise: on SQLite a
   * remembered answer is sent in the request's own event, without a promise or microtask turn.
   */
  function answer(req: IncomingMessage, res: ServerResponse, owner: string, repo: string, started: number, startedAt: bigint): boolean | Promise<boolean> {
    // A place in admission's queue as any request waits for one (handing the request to Fastify
    // for want of a place at once sent a tenth of a busy server's reads the slow way).
    const entered = enterAhead(admission, req);
    if (entered instanceof Promise) return entered.then((release) => release !== null && admitted(req, res, owner, repo, started, startedAt, release));
    return entered !== null && admitted(req, res, owner, repo, started, startedAt, entered);
  }

  function admitted(req: IncomingMessage, res: ServerResponse, owner: string, repo: string, started: number, startedAt: bigint, release: () => void): boolean | Promise<boolean> {
    let done: boolean | Promise<boolean>;
    try {
      // The server began closing, or the client left, while it waited: Fastify's way, as always.
      if (closing || req.socket.destroyed) done = false;
      else {
        const read = repositoryAndCredentialGenerations(ctx.db, owner, repo.replace(/\.git$/i, ''));
        const asked: Asked = { req, res, started, startedAt, release, address: req.socket.remoteAddress ?? '', principal: null };
        done = read instanceof Promise ? read.then((found) => withGenerations(asked, found)) : withGenerations(asked, read);
      }
    } catch (err) {
      release();
      throw err;
    }
    if (done instanceof Promise) return done.finally(release);
    release();
    return done;
  }

  function withGenerations(asked: Asked, found: FoundGenerations | undefined): boolean | Promise<boolean> {
    if (!found) return false;
    const who = principalOf(ctx, asked.req.headers.authorization, asked.address, found.credentials);
    if (who instanceof Promise) {
      return who.then((principal) => {
        asked.principal = principal;
        return withCaller(asked, found);
      });
    }
    asked.principal = who;
    return withCaller(asked, found);
  }

  function withCaller(asked: Asked, found: FoundGenerations): boolean | Promise<boolean> {
    const { req, principal } = asked;
    const cached = accessOf(principal, found);
    if (!cached) return false;
    const urls = urlsOf(req.headers.host, 'encrypted' in req.socket && req.socket.encrypted === true);
    const remembered = ctx.readCache.get<RememberedAnswer>(answerKeyOf(req.url!, req.headers.accept, urls, cached, found.generation));
    if (!remembered) return false;
    const rule = ruleOf(remembered.route);
    if (!rule || (principal && !hasAnyScope(principal, rule.required))) return false;
    if (!rateLimited) return send(asked, remembered, rule, null);
    const counted = consume(ctx, principal, asked.address);
    return counted instanceof Promise ? counted.then((rate) => send(asked, remembered, rule, rate)) : send(asked, remembered, rule, counted);
  }

  function send(asked: Asked, remembered: RememberedAnswer, rule: ScopeRule, rate: RateState | null): boolean {
    const { req, res, principal } = asked;
    if (rate && rate.used > rate.limit) {
      // Fastify's way counts it again and answers the 403.
      refund(ctx, rate);
      return false;
    }
    const id = nextRequestId();
    let status = 200;
    let head: string[] | Record<string, string>;
    if (req.headers['if-none-match'] === undefined && req.headers['if-modified-since'] === undefined) {
      const template = templateFor(remembered, rule, principal);
      head = template.head;
      head[template.id] = id;
      if (rate) {
        let at = template.rate;
        for (const value of Object.values(rateHeaders(rate))) {
          head[at] = value;
          at += 2;
        }
      }
    } else {
      // A conditional request: the headers set one by one, as the API scope's hook, the route and
      // `sendRemembered` set them, and 304 when the client has the answer.
      const caller: HeaderSource = { id, principal, headers: req.headers };
      const headers = new HeaderList();
      setCommonHeaders({ ...caller, principal: null }, headers);
      sendAcceptedScopes(headers, rule);
      setPrincipalHeaders(caller, headers);
      if (rate) for (const [name, value] of Object.entries(rateHeaders(rate))) headers.header(name, value);
      for (const [name, value] of remembered.headers) headers.header(name, value);
      const notModified = answerConditionally(caller, headers, remembered.etag, urlsFixed);
      if (notModified) {
        if (rate) refund(ctx, rate);
        status = 304;
      } else {
        headers.header('content-type', 'application/json; charset=utf-8');
        headers.header('content-length', String(remembered.body.length));
      }
      head = headers.values;
    }
    // As Fastify's `onSend`: the place goes to the next request while the bytes are sent.
    asked.release();
    const { started, address } = asked;
    const url = req.url!;
    res.on('finish', () => logLine(id, url, status, remembered.route, principal?.user.login ?? null, address, started));
    const watching = watchers.get(ctx);
    if (watching) {
      const seen: AnsweredAhead = { route: remembered.route, status, started: asked.startedAt, bytes: status === 304 ? 0 : remembered.body.length };
      res.once('close', () => {
        for (const watch of watching) watch(seen);
      });
    }
    res.writeHead(status, head);
    res.end(status === 304 ? undefined : remembered.body);
    answered.count += 1;
    return true;
  }

  function logLine(reqId: string, url: string, status: number, route: string, user: string | null, remoteAddress: string, started: number): void {
    // The fields in the order Fastify's way logs them (`{ reqId, ...line }`), in one object.
    const line: RequestLine & { reqId: string } = {
      reqId,
      method: 'GET',
      route,
      url: redactUrl(url),
      status,
      responseTime: Math.round((performance.now() - started) * 10) / 10,
      user,
      remoteAddress,
    };
    app.log.info(line, requestMessage(line));
  }

  function toFastify(req: IncomingMessage, res: ServerResponse, err?: unknown): void {
    // Bad credentials, a database error: Fastify's way meets it again and answers as always.
    if (err !== undefined && res.headersSent) res.destroy(err as Error);
    else fastify!.call(server, req, res);
  }

  server.removeListener('request', fastify);
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const match = closing ? null : rememberedPath(req);
    if (!match) return fastify.call(server, req, res);
    let done: boolean | Promise<boolean>;
    try {
      // Only the metrics feature reads it: no BigInt per request without it.
      done = answer(req, res, match[1]!, match[2]!, started, watchers.has(ctx) ? process.hrtime.bigint() : 0n);
    } catch (err) {
      return toFastify(req, res, err);
    }
    if (done === false) return toFastify(req, res);
    if (done instanceof Promise) {
      done.then(
        (sent) => {
          if (!sent) toFastify(req, res);
        },
        (err: unknown) => toFastify(req, res, err),
      );
    }
  });
}

/** A rate state, for the names and order of the rate-limit headers. */
const RATE_SHAPE: RateState = { limit: 0, used: 0, remaining: 0, reset: 0, resource: 'core', bucket: '', windowStart: 0 };

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
