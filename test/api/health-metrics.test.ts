/**
 * /healthz, /readyz and Prometheus /metrics on a real server: readiness follows the database,
 * the blob store and shutdown; metrics parse as Prometheus text and move with traffic.
 */
import { rename, writeFile, rm } from 'node:fs/promises';
import parsePrometheus, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthFeature } from '../../src/features/health.ts';
import { metricsAddress } from '../../src/features/metrics.ts';
import { rememberedReadsAnswered } from '../../src/http/remembered-reads.ts';
import { call } from '../support/http.ts';
import { ADMIN_TOKEN, startServer, testBlobStore, type TestServer } from '../support/server.ts';

const METRICS_TOKEN = 'metrics-secret-0123456789';

function family(families: PrometheusFamily[], name: string): PrometheusFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric ${name}`);
  return found;
}

function sampleValue(f: PrometheusFamily, labels: Record<string, string>): number {
  const sample = f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample ? Number(sample.value ?? sample.count) : 0;
}

/** Health answers are Wharf's own, not GitHub's: plain fetch, no OpenAPI validation. */
async function get(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function scrape(url: string, token?: string): Promise<PrometheusFamily[]> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

describe('health', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it('answers /healthz and /readyz without credentials', async () => {
    const health = await get(`${server.base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await get(`${server.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', blobStore: 'ok', git: 'ok', shutdown: 'ok' } });
    expect(ready.headers.get('cache-control')).toBe('no-store');
  });

  it.skipIf(testBlobStore !== 'fs')('turns unready while the blob store cannot be written, and ready again', async () => {
    const blobDir = server.config.blobDir;
    await rename(blobDir, `${blobDir}.away`).catch(() => undefined);
    await writeFile(blobDir, 'a file where the directory was');
    try {
      const unready = await get(`${server.base}/readyz`);
      expect(unready.status).toBe(503);
      expect(unready.body.status).toBe('unready');
      expect(unready.body.checks.blobStore).toMatch(/EEXIST|ENOTDIR/);
      expect(unready.body.checks.database).toBe('ok');
      // Liveness is not readiness: the process itself is fine.
      expect((await get(`${server.base}/healthz`)).status).toBe(200);
    } finally {
      await rm(blobDir, { force: true });
      await rename(`${blobDir}.away`, blobDir).catch(() => undefined);
    }
    expect((await get(`${server.base}/readyz`)).status).toBe(200);
  });
});

describe('readiness without a database, and during shutdown', () => {
  it('answers 503 naming the database once it is gone', async () => {
    const server = await startServer();
    try {
      await server.wharf.ctx.db.destroy();
      const res = await get(`${server.base}/readyz`);
      expect(res.status).toBe(503);
      expect(res.body.checks.database).not.toBe('ok');
      expect(res.body.checks.blobStore).toBe('ok');
    } finally {
      await server.wharf.app.close();
    }
  });

  it('is unready from the moment shutdown begins', async () => {
    const server = await startServer();
    try {
      // What close() does first (before the listener stops and in-flight requests drain; once
      // Fastify is closing it answers every new request 503 by itself).
      await healthFeature.stop!(server.wharf.ctx);
      const res = await get(`${server.base}/readyz`);
      expect(res.status).toBe(503);
      expect(res.body.checks).toEqual({ database: 'ok', blobStore: 'ok', git: 'ok', shutdown: 'shutting down' });
      expect((await get(`${server.base}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { WHARF_METRICS_TOKEN: METRICS_TOKEN, WHARF_METRICS_PORT: '0' } });
  });
  afterAll(() => server.close());

  it('are refused on the main listener without the bearer token', async () => {
    expect((await fetch(`${server.base}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('count requests by route and status, with latency and bytes, and Node process metrics', async () => {
    const url = `${server.base}/metrics`;
    const before = await scrape(url, METRICS_TOKEN);
    const requestsBefore = sampleValue(family(before, 'wharf_http_requests_total'), { route: '/api/v3/users/:username', status: '404' });
    for (let i = 0; i < 3; i++) expect((await call('GET', `${server.api}/users/nobody-${i}`)).status).toBe(404);
    const created = await call('POST', `${server.api}/user/repos`, { token: ADMIN_TOKEN, body: { name: 'metered', auto_init: true } });
    expect(created.status).toBe(201);
    const release = await call('POST', `${server.api}/repos/admin/metered/releases`, { token: ADMIN_TOKEN, body: { tag_name: 'v1' } });
    const upload = await fetch(`${server.uploads}/repos/admin/metered/releases/${release.body.id}/assets?name=a.bin`, {
      method: 'POST',
      headers: { authorization: `token ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10_000, 1),
    });
    expect(upload.status).toBe(201);

    const after = await scrape(url, METRICS_TOKEN);
    const requests = family(after, 'wharf_http_requests_total');
    expect(requests.type).toBe('COUNTER');
    expect(sampleValue(requests, { route: '/api/v3/users/:username', status: '404', method: 'GET' }) - requestsBefore).toBe(3);
    expect(sampleValue(requests, { route: '/api/v3/user/repos', status: '201', method: 'POST' })).toBe(1);
    expect(family(after, 'wharf_http_request_duration_seconds').type).toBe('HISTOGRAM');
    // (The parser keeps only a histogram's buckets; its count and sum are read from the text.)
    const text = await (await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(text).toMatch(/^wharf_http_request_duration_seconds_count\{method="POST",route="\/api\/v3\/user\/repos",status="201"\} 1$/m);
    expect(Number(/^wharf_http_request_duration_seconds_sum\{method="POST",route="\/api\/v3\/user\/repos",status="201"\} (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
    const uploadRoute = '/api/uploads/repos/:owner/:repo/releases/:release_id/assets';
    expect(sampleValue(family(after, 'wharf_http_request_bytes_total'), { route: uploadRoute })).toBe(10_000);
    expect(sampleValue(family(after, 'wharf_http_response_bytes_total'), { route: '/api/v3/user/repos' })).toBeGreaterThan(100);
    expect(sampleValue(family(after, 'wharf_uploads_in_flight'), {})).toBe(0);
    const backlog = family(after, 'wharf_backlog');
    expect(backlog.metrics.map((m) => m.labels?.queue).sort()).toEqual(['blob_deletions', 'events', 'webhook_deliveries']);
    // Node's own: event-loop lag and memory.
    expect(Number(family(after, 'nodejs_eventloop_lag_seconds').metrics[0]!.value)).toBeGreaterThanOrEqual(0);
    expect(Number(family(after, 'process_resident_memory_bytes').metrics[0]!.value)).toBeGreaterThan(10 * 1024 * 1024);
  });

  it('count remembered reads answered ahead of the framework as every other request', async () => {
    const created = await call('POST', `${server.api}/user/repos`, { token: ADMIN_TOKEN, body: { name: 'polled', auto_init: true } });
    expect(created.status).toBe(201);
    expect((await call('POST', `${server.api}/repos/admin/polled/releases`, { token: ADMIN_TOKEN, body: { tag_name: 'v1' } })).status).toBe(201);
    const latest = `${server.api}/repos/admin/polled/releases/latest`;
    const route = '/api/v3/repos/:owner/:repo/releases/latest';
    // The first rendering remembers the answer; the next ones take the fast path, metrics on.
    const first = await fetch(latest);
    expect(first.status).toBe(200);
    const bytes = (await first.arrayBuffer()).byteLength;
    const answeredBefore = rememberedReadsAnswered(server.wharf.ctx);
    const before = await scrape(`${server.base}/metrics`, METRICS_TOKEN);
    const countBefore = sampleValue(family(before, 'wharf_http_requests_total'), { route, status: '200', method: 'GET' });
    const bytesBefore = sampleValue(family(before, 'wharf_http_response_bytes_total'), { route });
    for (let i = 0; i < 4; i++) {
      const res = await fetch(latest);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(rememberedReadsAnswered(server.wharf.ctx) - answeredBefore).toBe(4);
    // Counted when the response closes, which may come after the client has read it.
    await expect
      .poll(
        async () => sampleValue(family(await scrape(`${server.base}/metrics`, METRICS_TOKEN), 'wharf_http_requests_total'), { route, status: '200', method: 'GET' }) - countBefore,
      )
      .toBe(4);
    const after = await scrape(`${server.base}/metrics`, METRICS_TOKEN);
    expect(sampleValue(family(after, 'wharf_http_response_bytes_total'), { route }) - bytesBefore).toBe(4 * bytes);
    const text = await (await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const count = /^wharf_http_request_duration_seconds_count\{method="GET",route="\/api\/v3\/repos\/:owner\/:repo\/releases\/latest",status="200"\} (\d+)$/m.exec(text);
    expect(Number(count?.[1])).toBe(countBefore + 4);
  });

  it('are also served on their own port, and off when neither setting is given', async () => {
    const address = metricsAddress(server.wharf.ctx)!;
    expect(address.port).toBeGreaterThan(0);
    const families = await scrape(`http://127.0.0.1:${address.port}/metrics`);
    expect(families.some((f) => f.name === 'wharf_http_requests_total')).toBe(true);
    const plain = await startServer();
    try {
      expect((await fetch(`${plain.base}/metrics`)).status).toBe(404);
      expect(metricsAddress(plain.wharf.ctx)).toBeNull();
    } finally {
      await plain.close();
    }
  });
});
