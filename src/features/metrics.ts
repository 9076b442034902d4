/**
 * @module features/metrics
 * Prometheus metrics (prom-client): requests by route and status with their latency, bytes up and
 * down, requests in progress, queued and shed by admission control, uploads in flight, the sweeper's and the event queues' backlog, the database pool, and
 * Node's own metrics (event-loop lag, memory, CPU, handles). Served on a port of their own
 * (`WHARF_METRICS_PORT`), or on the main listener at `/metrics` to callers presenting
 * `Authorization: Bearer $WHARF_METRICS_TOKEN`; off when neither is set.
 *
 * Each app has its own registry, so several Wharfs in one process (the tests) do not mix counts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppContext } from '../context.ts';
import type { Feature } from '../features.ts';
import { admissionFor, type ShedReason } from '../http/admission.ts';
import { watchRememberedReads } from '../http/remembered-reads.ts';

interface Instruments {
  registry: Registry;
  server: Server | null;
}

const instruments = new WeakMap<AppContext, Instruments>();

/** The metrics listener's address (when WHARF_METRICS_PORT is set), for tests and the start-up line. */
export function metricsAddress(ctx: AppContext): AddressInfo | null {
  const address = instruments.get(ctx)?.server?.address();
  return address && typeof address === 'object' ? address : null;
}

function enabled(ctx: AppContext): boolean {
  return ctx.config.metricsPort !== null || ctx.config.metricsToken !== null;
}

function declaredLength(value: string | string[] | number | undefined): number {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

async function countRows(ctx: AppContext, table: 'blob_deletions' | 'event_queue' | 'webhook_jobs'): Promise<number> {
  const row = await ctx.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

function instrument(app: FastifyInstance, ctx: AppContext): Instruments {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'wharf_http_requests_total', help: 'HTTP requests answered, by route template and status', labelNames, registers: [registry] });
  const duration = new Histogram({
    name: 'wharf_http_request_duration_seconds',
    help: 'Time from request to the end of the response, by route template and status',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [registry],
  });
  const bytesIn = new Counter({
    name: 'wharf_http_request_bytes_total',
    help: 'Request body bytes received (declared Content-Length), by route template',
    labelNames: ['route'],
    registers: [registry],
  });
  const bytesOut = new Counter({
    name: 'wharf_http_response_bytes_total',
    help: 'Response body bytes sent (Content-Length), by route template',
    labelNames: ['route'],
    registers: [registry],
  });
  const uploads = new Gauge({ name: 'wharf_uploads_in_flight', help: 'Asset uploads being received now', registers: [registry] });
  new Gauge({
    name: 'wharf_backlog',
    help: 'Work waiting in the database: blobs the sweeper has still to delete, events not yet taken by a consumer, webhook deliveries not yet done',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const [blobs, events, webhooks] = await Promise.all([countRows(ctx, 'blob_deletions'), countRows(ctx, 'event_queue'), countRows(ctx, 'webhook_jobs')]);
      this.set({ queue: 'blob_deletions' }, blobs);
      this.set({ queue: 'events' }, events);
      this.set({ queue: 'webhook_deliveries' }, webhooks);
    },
  });
  const admission = admissionFor(ctx);
  new Gauge({
    name: 'wharf_http_requests_in_progress',
    help: 'Requests being prepared now (admission control; health checks and metrics not counted)',
    registers: [registry],
    collect() {
      this.set(admission.running);
    },
  });
  new Gauge({
    name: 'wharf_http_requests_queued',
    help: 'Requests waiting for a place among those in progress',
    registers: [registry],
    collect() {
      this.set(admission.queued);
    },
  });
  const reported: Record<ShedReason, number> = { queue_full: 0, queue_timeout: 0, loop_delay: 0 };
  new Counter({
    name: 'wharf_http_requests_shed_total',
    help: 'Requests answered 503 with Retry-After by admission control: the queue was full, the wait for a place ran out, or the event loop was too far behind',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const reason of Object.keys(reported) as ShedReason[]) {
        const now = admission.shedCount(reason);
        this.inc({ reason }, now - reported[reason]);
        reported[reason] = now;
      }
    },
  });
  new Gauge({
    name: 'wharf_db_pool_connections',
    help: 'Database connections of this node by state (PostgreSQL; SQLite has one connection)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const pool = ctx.dbPool?.();
      if (!pool) return;
      this.set({ state: 'total' }, pool.total);
      this.set({ state: 'idle' }, pool.idle);
      this.set({ state: 'waiting' }, pool.waiting);
    },
  });

  // Body sizes as sent: Fastify hands Node the Content-Length in writeHead, out of getHeader's reach.
  const sent = new WeakMap<object, number>();
  app.addHook('onSend', async (request, reply, payload) => {
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : Buffer.isBuffer(payload) ? payload.length : declaredLength(reply.getHeader('content-length'));
    sent.set(request, size);
    return payload;
  });
  app.addHook('onRequest', async (request, reply) => {
    const started = process.hrtime.bigint();
    const isUpload = request.url.startsWith('/api/uploads/');
    if (isUpload) uploads.inc();
    // 'close' fires once whether the response finished or the client went away.
    reply.raw.once('close', () => {
      if (isUpload) uploads.dec();
      const route = request.routeOptions.url ?? 'unmatched';
      const labels = { method: request.method, route, status: String(reply.raw.statusCode) };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      bytesIn.inc({ route }, declaredLength(request.headers['content-length']));
      bytesOut.inc({ route }, sent.get(request) ?? 0);
    });
  });
  // Remembered reads answered ahead of Fastify (`http/remembered-reads.ts`) pass none of its
  // hooks: counted here into the same instruments, with the same labels.
  watchRememberedReads(ctx, ({ route, status, started, bytes }) => {
    const labels = { method: 'GET', route, status: String(status) };
    requests.inc(labels);
    duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    bytesIn.inc({ route }, 0);
    bytesOut.inc({ route }, bytes);
  });
  return { registry, server: null };
}

/** Bearer token comparison in constant time (hashes have equal length whatever was sent). */
function tokenMatches(header: string | undefined, expected: string): boolean {
  const presented = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && presented.length > 0;
}

export const metricsFeature: Feature = {
  name: 'metrics',
  server(app, ctx) {
    if (!enabled(ctx)) return;
    const inst = instrument(app, ctx);
    instruments.set(ctx, inst);
    const token = ctx.config.metricsToken;
    if (token !== null) {
      app.get('/metrics', async (request, reply) => {
        if (!tokenMatches(request.headers.authorization, token)) {
          return reply.code(401).header('www-authenticate', 'Bearer realm="wharf metrics"').send({ message: 'Requires authentication' });
        }
        return reply
          .header('content-type', inst.registry.contentType)
          .header('cache-control', 'no-store')
          .send(await inst.registry.metrics());
      });
    }
  },
  async start(ctx) {
    const inst = instruments.get(ctx);
    if (!inst || ctx.config.metricsPort === null) return;
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
        return;
      }
      inst.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': inst.registry.contentType, 'cache-control': 'no-store' }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ctx.config.metricsPort!, ctx.config.host, () => resolve());
    });
    inst.server = server;
  },
  async stop(ctx) {
    const server = instruments.get(ctx)?.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  },
};
