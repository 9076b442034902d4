/**
 * Admission control (`src/http/admission.ts`): with a small number of requests in progress, a
 * burst of concurrent requests all get answers — those that find a place in the queue their
 * result, the rest a `503` with `Retry-After` in the shape of the part of the server they asked
 * (GitHub's JSON error on the API, the HTML error page on pages) — and never a reset. Requests are
 * held in progress deterministically by sending their headers and part of their body: a request
 * holds its place until its answer is prepared, and that needs the rest of its body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { admissionFor } from '../../src/http/admission.ts';
import { rememberedReadsAnswered } from '../../src/http/remembered-reads.ts';
import { createRepo, createUser, uniqueName } from '../support/fixtures.ts';
import { assertMatchesSchema } from '../support/openapi.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { starveLoop } from './support/busy-loop.ts';
import { connect, portOf, type RawConnection, type RawResponse } from './support/raw-http.ts';

const METRICS_TOKEN = 'admission-metrics-0123456789';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(env: Record<string, string>): Promise<TestServer> {
  server = await startServer({
    env: {
      WHARF_METRICS_TOKEN: METRICS_TOKEN,
      // The held requests keep their bodies open for as long as the test needs.
      WHARF_BODY_TIMEOUT_MS: '120000',
      WHARF_BODY_MIN_RATE: '0',
      ...env,
    },
  });
  return server;
}

/**
 * Of two pipelined requests, the second was read after a busy stretch of the loop and shed: the
 * first's answer (`closed` parsed it) may be its result or a 503, and the body after it holds
 * exactly one more answer, a 503 with Retry-After. Its JSON body.
 */
function shedSecondOfTwo(first: RawResponse): unknown {
  expect([200, 503]).toContain(first.status);
  const answers = first.body.split(/(?=HTTP\/1\.1 )/).filter((part) => part.startsWith('HTTP/1.1 '));
  expect(answers).toHaveLength(1);
  expect(answers[0]).toMatch(/^HTTP\/1\.1 503 /);
  expect(answers[0]).toMatch(/\r\nretry-after: \d+\r\n/i);
  return JSON.parse(answers[0]!.slice(answers[0]!.indexOf('\r\n\r\n') + 4));
}

/** Admission's figures from `/metrics` (never shed itself). */
async function figures(s: TestServer): Promise<{ inProgress: number; queued: number; full: number; timedOut: number; loopDelay: number; uploads: number }> {
  const res = await fetch(`${s.base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  const families = parsePrometheus(await res.text());
  const value = (name: string, labels: Record<string, string> = {}) => {
    const f = families.find((x) => x.name === name);
    const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return Number(m?.value ?? 0);
  };
  return {
    inProgress: value('wharf_http_requests_in_progress'),
    queued: value('wharf_http_requests_queued'),
    full: value('wharf_http_requests_shed_total', { reason: 'queue_full' }),
    timedOut: value('wharf_http_requests_shed_total', { reason: 'queue_timeout' }),
    loopDelay: value('wharf_http_requests_shed_total', { reason: 'loop_delay' }),
    uploads: value('wharf_uploads_in_flight'),
  };
}

/** Polls until `check` holds (generous deadline: the machine may be loaded). */
async function until(s: TestServer, check: (f: Awaited<ReturnType<typeof figures>>) => boolean): Promise<Awaited<ReturnType<typeof figures>>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const f = await figures(s);
    if (check(f)) return f;
    if (Date.now() > deadline) throw new Error(`admission figures never matched: ${JSON.stringify(f)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A request in progress (creating a repository): its headers and the first byte of its body sent,
 * the rest held back until `finish`.
 */
async function hold(s: TestServer, token: string): Promise<{ finish(): Promise<RawResponse> }> {
  const body = JSON.stringify({ name: uniqueName('held') });
  const conn: RawConnection = await connect(portOf(s.base));
  conn.write(
    `POST /api/v3/user/repos HTTP/1.1\r\nHost: x\r\nAuthorization: token ${token}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
  );
  conn.write(body.slice(0, 1));
  return {
    finish() {
      conn.write(body.slice(1));
      return conn.closed;
    },
  };
}

interface Answer {
  kind: 'api' | 'page';
  status: number;
  retryAfter: string | null;
  contentType: string;
  body: string;
}

async function ask(s: TestServer, kind: Answer['kind']): Promise<Answer> {
  const res = kind === 'api' ? await fetch(`${s.api}/meta`) : await fetch(`${s.base}/`, { headers: { accept: 'text/html' } });
  return { kind, status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

function expectShed(answer: Answer): void {
  expect(answer.status).toBe(503);
  expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
  if (answer.kind === 'api') {
    expect(answer.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(answer.body);
    assertMatchesSchema('basic-error', body);
    expect(body).toMatchObject({ message: 'Server is busy; retry later', status: '503' });
  } else {
    expect(answer.contentType).toMatch(/^text\/html/);
    expect(answer.body).toContain('503');
  }
}

describe('admission control', () => {
  it('answers a burst beyond its places: the queued ones their result, the rest 503 with Retry-After', async () => {
    const s = await start({ WHARF_MAX_REQUESTS_IN_PROGRESS: '2', WHARF_REQUEST_QUEUE_SIZE: '3', WHARF_REQUEST_QUEUE_TIMEOUT_MS: '120000' });
    const owner = await createUser(s);
    const holders = [await hold(s, owner.token), await hold(s, owner.token)];
    await until(s, (f) => f.inProgress === 2);

    // Health checks and metrics are never shed, whatever the load.
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);

    const kinds: Answer['kind'][] = ['api', 'page', 'api', 'page', 'api', 'page', 'api', 'api', 'page', 'api'];
    const answers = kinds.map((kind) => ask(s, kind));
    // Three wait for a place, seven are refused at once (and answered while the others wait).
    await until(s, (f) => f.queued === 3 && f.full === 7);

    const held = await Promise.all(holders.map((h) => h.finish()));
    for (const answer of held) expect(answer.status).toBe(201);
    const all = await Promise.all(answers);
    const served = all.filter((a) => a.status === 200);
    const shed = all.filter((a) => a.status !== 200);
    expect(served).toHaveLength(3);
    expect(shed).toHaveLength(7);
    for (const answer of shed) expectShed(answer);
    const after = await until(s, (f) => f.inProgress === 0 && f.queued === 0);
    expect(after.timedOut).toBe(0);
    expect((await ask(s, 'api')).status).toBe(200);
  });

  it('refuses a request that waited its queue timeout for a place', async () => {
    const s = await start({ WHARF_MAX_REQUESTS_IN_PROGRESS: '1', WHARF_REQUEST_QUEUE_SIZE: '4', WHARF_REQUEST_QUEUE_TIMEOUT_MS: '300' });
    const owner = await createUser(s);
    const holder = await hold(s, owner.token);
    await until(s, (f) => f.inProgress === 1);
    const [api, page] = await Promise.all([ask(s, 'api'), ask(s, 'page')]);
    expectShed(api);
    expectShed(page);
    expect(api.retryAfter).toBe('1');
    const f = await figures(s);
    expect(f.timedOut).toBe(2);
    expect(f.full).toBe(0);
    expect((await holder.finish()).status).toBe(201);
    expect((await ask(s, 'api')).status).toBe(200);
  });

  it('sheds a request read after the event loop was busy past its limit without a break, and serves the next', async () => {
    const s = await startServer({ env: { WHARF_MAX_EVENT_LOOP_DELAY_MS: '200' } });
    server = s;
    const conn = await connect(portOf(s.base));
    // Two pipelined requests arrive together; the first keeps the loop busy for 1 s as it is
    // read (a long synchronous stretch), so the second is read at its end, having waited.
    s.wharf.app.server.once('request', () => starveLoop(1000));
    conn.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v3/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // The first may have been admitted before the stretch began, or shed at its end.
    expect(shedSecondOfTwo(await conn.closed)).toMatchObject({ status: '503' });
    // Once the loop has had a break, requests are served again.
    expect((await ask(s, 'api')).status).toBe(200);
  });

  it('counts a remembered read it sheds once, and answers it as any shed request', async () => {
    // Metrics off: remembered reads then take the fast path ahead of Fastify (`remembered-reads.ts`),
    // which takes its place from the same admission and hands a refusal to Fastify to answer.
    const s = await startServer({ env: { WHARF_MAX_EVENT_LOOP_DELAY_MS: '200' } });
    server = s;
    const owner = await createUser(s);
    const repo = await createRepo(s, owner, { auto_init: true });
    const created = await fetch(`${s.api}/repos/${repo.full}/releases`, {
      method: 'POST',
      headers: { authorization: `token ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tag_name: 'v1.0.0' }),
    });
    expect(created.status).toBe(201);
    const latest = `/api/v3/repos/${repo.full}/releases/latest`;
    // Rendered once, then remembered: the next one is answered on the fast path.
    for (let i = 0; i < 2; i++) expect((await fetch(`${s.base}${latest}`)).status).toBe(200);
    const answered = rememberedReadsAnswered(s.wharf.ctx);
    expect((await fetch(`${s.base}${latest}`)).status).toBe(200);
    expect(rememberedReadsAnswered(s.wharf.ctx)).toBe(answered + 1);

    const admission = admissionFor(s.wharf.ctx);
    const shedBefore = admission.shedCount('loop_delay');
    const conn = await connect(portOf(s.base));
    // The first of two pipelined reads keeps the loop busy for 1 s once answered; the second is
    // read at the end of that stretch and shed.
    s.wharf.app.server.once('request', () => starveLoop(1000));
    conn.write(`GET ${latest} HTTP/1.1\r\nHost: x\r\n\r\nGET ${latest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const first = await conn.closed;
    // The first may have been answered before the stretch began, or shed (the test shares the loop).
    const body = shedSecondOfTwo(first);
    assertMatchesSchema('basic-error', body);
    expect(body).toMatchObject({ message: 'Server is busy; retry later', status: '503' });
    // Each shed request counted once: by the fast path, then answered by Fastify's way without
    // asking admission again.
    expect(admission.shedCount('loop_delay')).toBe(shedBefore + (first.status === 503 ? 2 : 1));
    expect((await fetch(`${s.base}${latest}`)).status).toBe(200);
  });

  it('answers every connection of a burst read after the event loop was blocked: its result or 503 with Retry-After', async () => {
    // One place and a short wait: a burst of a hundred and fifty requests, all in the kernel while
    // the loop is blocked, is far more than the server takes in time. Which ones are served and
    // which are shed depends on the machine; that each gets one or the other does not.
    const s = await start({
      WHARF_MAX_REQUESTS_IN_PROGRESS: '1',
      WHARF_REQUEST_QUEUE_SIZE: '1',
      WHARF_REQUEST_QUEUE_TIMEOUT_MS: '200',
      WHARF_MAX_EVENT_LOOP_DELAY_MS: '300',
    });
    const port = portOf(s.base);
    const before = await figures(s);
    const connections: RawConnection[] = [];
    for (let i = 0; i < 150; i++) connections.push(await connect(port));
    for (const conn of connections) conn.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // The server runs in this process: blocking this loop blocks it, and every request above
    // waits unread in the kernel, as behind a long synchronous stretch of work.
    starveLoop(1000);
    const answers = await Promise.all(connections.map((conn) => conn.closed));

    const served = answers.filter((a) => a.status === 200);
    const shed = answers.filter((a) => a.status === 503);
    // Never closed without an answer (status 0), never anything else.
    expect(answers.filter((a) => a.status !== 200 && a.status !== 503).map((a) => a.status)).toEqual([]);
    for (const answer of shed) {
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(answer.body)).toMatchObject({ message: 'Server is busy; retry later', status: '503' });
    }
    for (const answer of served) expect(JSON.parse(answer.body)).toHaveProperty('installed_version');
    // Every 503 is one admission counted as shed, for one of its reasons.
    const after = await until(s, (f) => f.inProgress === 0 && f.queued === 0);
    expect(after.full + after.timedOut + after.loopDelay - (before.full + before.timedOut + before.loopDelay)).toBe(shed.length);
    // And the server serves again.
    expect((await ask(s, 'api')).status).toBe(200);
  });

  it('takes in a new connection while a burst read in one turn of the event loop is still being prepared', async () => {
    // Node takes one new connection from the kernel per turn of its event loop. A turn that
    // prepared every request it had read left a connection opened meanwhile waiting in the kernel
    // until all were answered: behind a few hundred busy keep-alive connections, for seconds.
    const s = await start({});
    const port = portOf(s.base);
    let accepted = 0;
    s.wharf.app.server.on('connection', () => accepted++);
    const burst: RawConnection[] = [];
    for (let i = 0; i < 150; i++) burst.push(await connect(port));
    // Every connection of the burst taken in by the server, so that their requests are read together.
    await until(s, () => accepted >= burst.length);
    let answered = 0;
    s.wharf.app.server.on('request', (_request: IncomingMessage, response: ServerResponse) => response.once('finish', () => answered++));
    let answeredWhenAccepted = -1;
    const late = net.connect(port, '127.0.0.1');
    late.on('error', () => undefined);
    s.wharf.app.server.on('connection', (socket: Socket) => {
      if (socket.remotePort === late.localPort) answeredWhenAccepted = answered;
    });
    for (const conn of burst) conn.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // net.connect opens its socket on the next tick; then the loop is blocked until every request
    // above and the new connection wait in the kernel, to be found by one poll of the sockets.
    await new Promise((resolve) => process.nextTick(resolve));
    starveLoop(300);
    try {
      const answers = await Promise.all(burst.map((conn) => conn.closed));
      expect(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body}`)).toEqual([]);
      await until(s, () => answeredWhenAccepted >= 0);
    } finally {
      late.destroy();
    }
    expect(answeredWhenAccepted).toBeLessThan(burst.length);
  });

  it('does not count an upload whose body is streaming against the requests in progress', async () => {
    const s = await start({ WHARF_MAX_REQUESTS_IN_PROGRESS: '1', WHARF_REQUEST_QUEUE_SIZE: '0' });
    const owner = await createUser(s);
    const repo = await createRepo(s, owner, { auto_init: true });
    const created = await fetch(`${s.api}/repos/${repo.full}/releases`, {
      method: 'POST',
      headers: { authorization: `token ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tag_name: 'v1.0.0' }),
    });
    expect(created.status).toBe(201);
    const release = (await created.json()) as { id: number };

    const size = 4096;
    const conn = await connect(portOf(s.base));
    conn.write(
      `POST /api/uploads/repos/${repo.full}/releases/${release.id}/assets?name=big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: token ${owner.token}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
    );
    conn.write(Buffer.alloc(1024, 1));
    // Once its body streams (it has passed admission: nothing else was in progress), the upload
    // no longer holds the only place.
    await until(s, (f) => f.uploads === 1 && f.inProgress === 0);
    expect((await ask(s, 'api')).status).toBe(200);
    conn.write(Buffer.alloc(size - 1024, 1));
    const uploaded = await conn.closed;
    expect(uploaded.status).toBe(201);
    expect((await figures(s)).full).toBe(0);
  });
});
