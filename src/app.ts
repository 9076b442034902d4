/**
 * @module app
 * Builds Wharf: opens the store, runs migrations, creates the server and registers every
 * feature's routes (`features.ts`) into the four scopes — `/api/v3`, `/api/uploads`, raw-bodied
 * routes at the root (git's smart HTTP) and the web root. It never listens; `main.ts` (and the
 * tests) decide where to serve it. `buildApp` is the table of contents; the steps follow it.
 */
import { randomBytes } from 'node:crypto';
import type { ServerHttp2Session } from 'node:http2';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { createBlobStore } from './blobs/create-blob-store.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import type { WharfConfig } from './config/config.ts';
import { createLogger } from './config/logger.ts';
import { checkDirectories, checkInstanceKey, databaseError, loadTlsFiles } from './config/preflight.ts';
import { newCaches, type AppContext } from './context.ts';
import { openDatabase } from './db/dialect.ts';
import { configureGit } from './git/git.ts';
import { sweepQuarantines } from './git/quarantine-sweep.ts';
import { preparePrivateDirs, restrictDatabaseFiles } from './config/data-permissions.ts';
import { migrateToLatest } from './db/migrate.ts';
import { ForbiddenError } from './domain/errors.ts';
import { applyEtag, checkApiVersion, setCommonHeaders, setPrincipalHeaders } from './http/api-headers.ts';
import { resolvePrincipal } from './http/auth.ts';
import { readGenerationsFirst } from './http/cached-reads.ts';
import { answerRememberedReadsFirst } from './http/remembered-reads.ts';
import { bodyDeadline, bodyRule, clientErrorHandler, frameworkErrors, uploadRule } from './http/client-errors.ts';
import { errorHandler, sendError } from './http/errors.ts';
import { admissionFor, admit, leaveAdmission } from './http/admission.ts';
import { checkHeaderDeadlinesAfterReading } from './http/header-deadline.ts';
import { closeOnlyIdleConnections } from './http/idle-connections.ts';
import { trackGitCallers } from './http/git-callers.ts';
import { killGitUnder } from './git/git-processes.ts';
import { stopResidentGit } from './git/git.ts';
import { registerJsonParser } from './http/json-body.ts';
import { redactedRequest } from './http/log-redaction.ts';
import { logRequest } from './http/request-log.ts';
import { consume, enforceContentLimit, flushRateCounts, peek, rateHeaders, refund } from './http/rate-limit.ts';
import './http/request-context.ts';
import { enforceScopes, requireScopeRules, ruleOfRequest, sendAcceptedScopes } from './http/route-scopes.ts';
import { requestUrls } from './http/urls.ts';
import { refuseLongTarget } from './http/request-target.ts';
import { ensureBootstrapAdmin } from './services/accounts.ts';
import { RATE_FLUSH_INTERVAL_MS } from './services/rate-counts.ts';
import { PushListeners } from './services/push-events.ts';
import { features } from './features.ts';

export interface BuildOptions {
  logger?: Logger;
  blobStore?: BlobStore;
}

export interface Wharf {
  app: FastifyInstance;
  ctx: AppContext;
  /** Stops background work, closes the server (letting in-flight requests finish) and the store. */
  close(): Promise<void>;
}

/** GitHub-shaped request ids, from random bytes drawn a few kilobytes at a time rather than per request. */
function requestIds(): () => string {
  const size = 10;
  let entropy = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + size > entropy.length) {
      entropy = randomBytes(size * 512);
      offset = 0;
    }
    // GitHub's request ids look like `0681:23DC:3690DD:57E9DF:62D635A5`.
    const hex = entropy.toString('hex', offset, (offset += size)).toUpperCase();
    return `${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 14)}:${hex.slice(14, 20)}`;
  };
}

/** Routes under `/api/v3` that do not count against the rate limit. */
const UNCOUNTED = new Set(['/rate_limit']);

export async function buildApp(config: WharfConfig, options: BuildOptions = {}): Promise<Wharf> {
  // Requests are logged once each by `logRequest`; anything else logging a request goes through
  // the `req` serializer, which hides query credentials.
  const log = (options.logger ?? createLogger(config)).child({}, { serializers: { req: redactedRequest } });
  // Unusable settings end here as ConfigErrors naming the setting (exit 2 in main.ts).
  checkDirectories(config);
  checkInstanceKey(config);
  configureGit(config.git);
  const tlsFiles = config.tls ? loadTlsFiles(config.tls) : null;
  const { ctx, closeStore } = await openContext(config, log, options);
  const { app, closeSessions, closeStalled } = createServer(ctx, tlsFiles);
  await app.register((api) => apiScope(api, ctx), { prefix: '/api/v3' });
  await app.register((uploads) => uploadsScope(uploads, ctx), { prefix: '/api/uploads' });
  for (const feature of features) {
    // Raw bodies (git's smart HTTP) keep arriving or are cut off, as uploads are.
    if (!feature.raw) continue;
    await app.register(async (raw) => {
      bodyDeadline(raw, uploadRule(ctx));
      feature.raw!(raw, ctx);
    });
  }
  await app.register((web) => webScope(web, ctx));
  for (const feature of features) await feature.start?.(ctx);
  admissionFor(ctx).start();
  const rateFlusher = flushRateCountsEvery(ctx);

  return {
    app,
    ctx,
    async close() {
      for (const feature of features) await feature.stop?.(ctx);
      admissionFor(ctx).stop();
      const closing = app.close();
      closeSessions();
      const stopWatching = closeStalled();
      await closing;
      stopWatching();
      // Requests have all ended: a git process still working in this server's repositories
      // serves nobody (and would keep a pack or a lock half-written); nor does a resident one.
      stopResidentGit(config.repositoriesDir);
      killGitUnder(config.repositoriesDir);
      await rateFlusher.stop();
      await closeStore();
    },
  };
}

/**
 * Writes the rate-limit counts gathered in memory about once a second, and a last time on close,
 * so no counted request is lost (`services/rate-counts.ts`). A failed write is retried next time.
 */
function flushRateCountsEvery(ctx: AppContext): { stop(): Promise<void> } {
  if (!ctx.config.rateLimit.enabled) return { stop: async () => undefined };
  const flush = () =>
    flushRateCounts(ctx).catch((err: unknown) => {
      ctx.log.warn({ err }, 'could not write rate-limit counts; retrying');
    });
  const timer = setInterval(() => void flush(), RATE_FLUSH_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      // A flush already under way may have started before the last requests were counted.
      await flush();
      await flush();
    },
  };
}

/** Opens and migrates the database and opens the blob store: the context every service receives. */
async function openContext(config: WharfConfig, log: Logger, options: BuildOptions): Promise<{ ctx: AppContext; closeStore: () => Promise<void> }> {
  preparePrivateDirs(config, log);
  const handle = await openDatabase(config.databaseUrl).catch((err: unknown) => {
    throw databaseError(config, err);
  });
  await migrateToLatest(handle).catch(async (err: unknown) => {
    await handle.close().catch(() => undefined);
    throw databaseError(config, err);
  });
  restrictDatabaseFiles(config);
  const swept = await sweepQuarantines(config.repositoriesDir);
  if (swept > 0) log.info({ removed: swept }, 'removed push quarantine directories left by an interrupted push');
  warnAboutHostDerivedUrls(config, log);

  const ctx: AppContext = {
    config,
    db: handle.db,
    blobs: options.blobStore ?? (await createBlobStore(config)),
    log,
    pushListeners: new PushListeners(),
    ...newCaches(config),
    dbPool: () => handle.poolStats?.() ?? null,
  };
  await ensureBootstrapAdmin(ctx);
  return { ctx, closeStore: () => handle.close() };
}

/**
 * The server: transport (HTTP/1.1, or HTTP/2 with HTTP/1.1 over TLS), timeouts, request ids, and
 * what every request passes through before any scope (request URLs, over-long targets, NUL).
 */
function createServer(ctx: AppContext, https: ReturnType<typeof loadTlsFiles> | null): { app: FastifyInstance; closeSessions: () => void; closeStalled: () => () => void } {
  const { config } = ctx;
  // HTTP/2 only over TLS and only with HTTP/1.1 still offered: ALPN lets each client pick.
  const http2 = Boolean(https && config.tls?.http2);
  // Headers must arrive within their timeout, checked every second (Node's default is 30 s).
  const timeouts = { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs) };
  const transport = !https ? { http: timeouts } : http2 ? { http2: true, https: { ...https, allowHTTP1: true } } : { https: { ...https, ...timeouts } };
  const nextRequestId = requestIds();
  const app = Fastify({
    loggerInstance: ctx.log,
    // One line per request (`logRequest`, registered below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    ...transport,
    ...(config.trustProxy === false ? {} : { trustProxy: trustProxyOption(config.trustProxy) }),
    routerOptions: { maxParamLength: 4096, ignoreDuplicateSlashes: true },
    bodyLimit: config.maxJsonBodySize,
    genReqId: nextRequestId,
    requestIdHeader: false,
    return503OnClosing: true,
    // An idle socket (a client that stops sending mid-request) is dropped after the idle timeout;
    // long uploads that keep sending are not cut off. Headers must arrive within their own
    // timeout (checked every second), bodies must keep arriving (`bodyDeadline`). Idle keep-alive
    // connections outlive the clients' own idle timeouts, so the client always closes first.
    connectionTimeout: config.idleTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requestTimeout: 0,
    clientErrorHandler,
    // A path the router refuses before routing (a segment over `maxParamLength`) is a 404 like any
    // other: a browser gets the HTML page, not the API's JSON. Undecodable URLs stay a JSON 400.
    frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
      if (err.code !== 'FST_ERR_BAD_URL') {
        for (const feature of features) if (feature.notFound?.(request, reply)) return;
      }
      frameworkErrors(err, request, reply);
    },
    // HTTP/2 sessions are closed by Fastify itself (GOAWAY); `idle` exists only for HTTP/1.
    ...(http2 ? {} : { forceCloseConnections: 'idle' as const }),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  if (config.maxConnections > 0) app.server.maxConnections = config.maxConnections;
  const connections = http2 ? null : closeOnlyIdleConnections(app.server);
  if (!http2) checkHeaderDeadlinesAfterReading(app.server, timeouts.connectionsCheckingInterval);
  trackGitCallers(app);
  // Remembered reads are answered ahead of Fastify, once admitted (`http/remembered-reads.ts`).
  if (!http2) answerRememberedReadsFirst(app, ctx, nextRequestId);

  // Idle HTTP/2 sessions would hold the server open on shutdown until their timeout (72 s).
  const sessions = new Set<ServerHttp2Session>();
  if (http2) {
    app.server.on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
  }

  for (const feature of features) feature.server?.(app, ctx);
  app.decorateRequest('principal', null);
  app.decorateRequest('rate', null);
  app.decorateRequest('generations', null);
  app.decorateRequest('writeTarget', null);
  app.decorateRequest('urls', null as never);
  app.setErrorHandler(errorHandler);
  app.addHook('onResponse', logRequest);
  app.setNotFoundHandler((request, reply) => {
    for (const feature of features) {
      const handled = feature.notFound?.(request, reply);
      if (handled) return handled;
    }
    return sendError(reply, 404, 'Not Found');
  });
  const admission = admissionFor(ctx);
  app.addHook('onRequest', async (request, reply) => {
    request.urls = requestUrls(config, request);
    refuseLongTarget(request, reply);
    // No name on GitHub contains NUL, and PostgreSQL cannot even compare text holding one.
    // (The not-found handler answers browsers with the HTML page and other clients with JSON.)
    if (!request.is404 && /%00/.test(request.url.split('?')[0] ?? '')) return reply.callNotFound();
    // Past what this process can prepare in time: wait briefly for a place, or a 503 at once.
    await admit(admission, request, reply);
  });
  // The answer is prepared: its place goes to the next request while its bytes are sent.
  app.addHook('onSend', async (request, _reply, payload) => {
    leaveAdmission(request);
    return payload;
  });

  // GOAWAY on close: streams in flight finish, no new ones start.
  // An answer the client stopped reading does not hold the close for the idle timeout.
  const closeStalled = () => connections?.closeStalledWhileClosing() ?? (() => undefined);
  return { app, closeSessions: () => sessions.forEach((session) => session.close()), closeStalled };
}

/**
 * `/api/v3`: JSON bodies, request id → scopes → API-version check → credentials (401 on bad ones)
 * → rate limit (403 once exhausted) → route (access check → service → serializer) → ETag/304.
 */
async function apiScope(api: FastifyInstance, ctx: AppContext): Promise<void> {
  requireScopeRules(api, '/api/v3');
  registerJsonParser(api, { refuseNul: true });
  bodyDeadline(api, bodyRule(ctx));
  api.addHook('onRequest', async (request, reply) => {
    setCommonHeaders(request, reply);
    const scopes = ruleOfRequest(request, '/api/v3');
    sendAcceptedScopes(reply, scopes);
    checkApiVersion(request);
    await readGenerationsFirst(ctx, request);
    request.principal = await resolvePrincipal(ctx, request);
    setPrincipalHeaders(request, reply);
    await countRequest(ctx, request, reply);
    enforceScopes(request, scopes);
    await enforceContentLimit(ctx, request);
  });
  api.addHook('onSend', async (request, reply, payload) => {
    const result = applyEtag(request, reply, payload, ctx.config.externalUrl !== null);
    if (reply.statusCode === 304 && request.rate) refund(ctx, request.rate);
    return result;
  });
  // An unknown API path (a trailing slash, an unsupported method) is GitHub's JSON 404 with
  // the same headers as any other API answer (request id, media type, CORS).
  api.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'Not Found'));
  for (const feature of features) feature.api?.(api, ctx);
}

/** `/api/uploads`: raw bodies (each route reads its own), credentials and scopes. */
async function uploadsScope(uploads: FastifyInstance, ctx: AppContext): Promise<void> {
  requireScopeRules(uploads, '/api/uploads');
  uploads.addHook('onRequest', async (request, reply) => {
    setCommonHeaders(request, reply);
    reply.header('cache-control', 'no-cache');
    const scopes = ruleOfRequest(request, '/api/uploads');
    sendAcceptedScopes(reply, scopes);
    request.principal = await resolvePrincipal(ctx, request);
    enforceScopes(request, scopes);
  });
  for (const feature of features) feature.uploads?.(uploads, ctx);
}

/** The web root: pages, feeds, browser downloads and GraphQL at `/api/graphql`. */
async function webScope(web: FastifyInstance, ctx: AppContext): Promise<void> {
  registerJsonParser(web);
  bodyDeadline(web, bodyRule(ctx));
  for (const feature of features) feature.web?.(web, ctx);
}

/**
 * Fastify's `trustProxy`: a list of addresses as is; a hop count as proxy-addr's classic rule (the
 * first N addresses counted from the peer are proxies). Fastify itself now treats a bare number
 * as "trust no one", since it cannot check the peer, so the rule is spelled out as a function.
 */
function trustProxyOption(trust: Exclude<WharfConfig['trustProxy'], false>): string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/**
 * Without `WHARF_EXTERNAL_URL` every URL Wharf returns follows the request's `Host`; harmless on
 * loopback, worth a warning anywhere else (such answers are kept out of shared caches, but clients
 * then see whatever host name they used).
 */
function warnAboutHostDerivedUrls(config: WharfConfig, log: Logger): void {
  const loopback = config.host === 'localhost' || config.host === '::1' || config.host.startsWith('127.');
  if (!config.externalUrl && !loopback) {
    log.warn({ host: config.host }, 'WHARF_EXTERNAL_URL is not set: URLs in answers follow the Host header; set it to the address clients use');
  }
}

async function countRequest(ctx: AppContext, request: FastifyRequest, reply: import('fastify').FastifyReply): Promise<void> {
  if (!ctx.config.rateLimit.enabled) return;
  const route = request.url.replace(/^\/api\/v3/, '').split('?')[0] ?? '';
  if (UNCOUNTED.has(route)) {
    reply.headers(rateHeaders(await peek(ctx, request.principal, request.ip)));
    return;
  }
  const state = await consume(ctx, request.principal, request.ip);
  request.rate = state;
  reply.headers(rateHeaders(state));
  if (state.used > state.limit) {
    reply.header('retry-after', String(Math.max(1, state.reset - Math.floor(Date.now() / 1000))));
    const who = request.principal ? `user ID ${request.principal.user.id}` : request.ip;
    const hint = request.principal ? '' : " (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)";
    throw new ForbiddenError(`API rate limit exceeded for ${who}.${hint}`);
  }
}
