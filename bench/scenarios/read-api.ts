/**
 * Scenario 3 — read API. Throughput and latency, with wrk in its own process, of the three reads
 * release tooling makes most: the latest release (10 assets), a release by tag, and a page of 30
 * releases. The baseline is a bare Fastify route, in its own process, returning the same response
 * from memory: the very body Wharf returned for that path and the very headers it sent with it
 * (about twenty: media type, request id, API version, scopes, ETag, Last-Modified, Vary, caching
 * and hardening headers, captured from Wharf's answer at set-up; those Node sets itself — date,
 * connection, keep-alive, content-length, transfer-encoding — are left to Node): the cost of HTTP
 * and of sending that response in Node alone. The target rows are against that route. The same
 * route sending the body with only a content type (the baseline before the headers were added) is
 * measured too and reported beside them, without a target. nginx serving the same bytes from
 * files is the client's ceiling: the bench shows that wrk can drive well past the bare route, so
 * no figure is the load generator's. Requests authenticate as a user with read access only (the
 * common case, and the one that must filter drafts out).
 */
import { writeFileSync } from 'node:fs';
import { startStaticJsonBaseline, type BaselineServer } from '../lib/baselines.ts';
import type { BenchContext } from '../lib/context.ts';
import { wrk, type LoadResult } from '../lib/native-clients.ts';
import { startNginx, type NginxServer } from '../lib/nginx.ts';
import { median } from '../lib/stats.ts';
import { findPrism, PRISM_NOT_INSTALLED, startPrism } from '../lib/prism.ts';
import { createBenchDatabase } from '../lib/postgres.ts';
import { seedReleases } from '../lib/seed.ts';
import { api, createRepo, createUser, startWharf, type WharfServer } from '../lib/wharf.ts';

const TARGETS = [
  { on: 'ratio', op: '>=', value: 0.5 },
  { on: 'ratio', op: '>=', value: 0.5 },
  { on: 'ratio', op: '>=', value: 0.3 },
] as const;
const P99_TARGET = { on: 'ratio', op: '<=', value: 3 } as const;
const CONNECTIONS = 16;
const READ_ROUNDS = 3;

function medianLoad(rs: LoadResult[]): LoadResult {
  const m = (pick: (r: LoadResult) => number) => median(rs.map(pick));
  return {
    requestsPerSecond: m((r) => r.requestsPerSecond),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    requests: rs.reduce((s, r) => s + r.requests, 0),
    errors: rs.reduce((s, r) => s + r.errors, 0),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0),
    clientCores: m((r) => r.clientCores),
  };
}

/** Headers Node writes itself on every response; the baseline leaves them to Node. */
const NODE_SETS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

/** nginx answering each path with the file holding the bytes Wharf returned for it. */
function jsonFilesServer(routes: Record<string, string>): (listen: string) => string {
  return (listen) => `
  server {
    listen ${listen};
${Object.entries(routes)
  .map(([url, file]) => `    location = ${url} { alias ${file}; default_type "application/json; charset=utf-8"; }`)
  .join('\n')}
  }`;
}

export async function readApiScenario(ctx: BenchContext): Promise<void> {
  await readsOn(ctx, null);
  if (ctx.postgres) {
    const database = await createBenchDatabase(ctx.postgres);
    try {
      await readsOn(ctx, database.url);
    } finally {
      await database.drop();
    }
  }
}

/** The scenario on SQLite (`databaseUrl` null) or on the PostgreSQL database at `databaseUrl`. */
async function readsOn(ctx: BenchContext, databaseUrl: string | null): Promise<void> {
  const { profile, work } = ctx;
  const engine = databaseUrl ? ' (PostgreSQL)' : '';
  ctx.log(`read API${engine}: wrk, ${CONNECTIONS} connections, ${READ_ROUNDS} interleaved rounds of ${profile.loadSeconds} s per endpoint and target`);
  const dataDir = work.dir(`read-data${databaseUrl ? '-pg' : ''}`);
  const env: Record<string, string> = databaseUrl ? { WHARF_DATABASE_URL: databaseUrl } : {};

  let server: WharfServer = await startWharf(work, dataDir, env);
  const owner = await createUser(server, 'bench');
  const reader = await createUser(server, 'reader');
  const repo = await createRepo(server, owner, 'reads');
  await server.stop();
  const [seeded] = await seedReleases(dataDir, [{ repositoryId: repo.id, authorId: owner.id, releases: 100, assetsPerRelease: 10 }], databaseUrl ?? undefined);

  server = await startWharf(work, dataDir, env);
  let baseline: BaselineServer | null = null;
  let bodyOnly: BaselineServer | null = null;
  let nginx: NginxServer | null = null;
  try {
    const headers = { authorization: `token ${reader.token}`, accept: 'application/vnd.github+json' };
    const endpoints = [
      { name: 'Get latest release (10 assets)', path: `/api/v3/repos/${repo.full}/releases/latest` },
      { name: 'Get release by tag', path: `/api/v3/repos/${repo.full}/releases/tags/${seeded!.middleTag}` },
      { name: 'List releases, 30 per page', path: `/api/v3/repos/${repo.full}/releases?per_page=30` },
    ];
    const routes: Record<string, string> = {};
    const responses: Record<string, { body: string; headers: Record<string, string> }> = {};
    for (const [i, e] of endpoints.entries()) {
      const res = await api('GET', `${server.base}${e.path}`, reader.token);
      if (res.status !== 200) throw new Error(`${e.path}: ${res.status} ${res.text.slice(0, 300)}`);
      const file = work.file(`read-${i}${databaseUrl ? '-pg' : ''}.json`);
      writeFileSync(file, res.text);
      routes[e.path.split('?')[0]!] = file;
      const headers: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        if (!NODE_SETS.has(name)) headers[name] = value;
      });
      responses[e.path.split('?')[0]!] = { body: file, headers };
    }
    const routesFile = work.file(`read-routes${databaseUrl ? '-pg' : ''}.json`);
    writeFileSync(routesFile, JSON.stringify(responses));
    baseline = await startStaticJsonBaseline(work, routesFile);
    const bodyOnlyFile = work.file(`read-routes-body${databaseUrl ? '-pg' : ''}.json`);
    writeFileSync(bodyOnlyFile, JSON.stringify(routes));
    bodyOnly = await startStaticJsonBaseline(work, bodyOnlyFile);
    if (ctx.nginxBinary) nginx = await startNginx(ctx.nginxBinary, work, [jsonFilesServer(routes)]);

    // A fresh Wharf takes tens of seconds of load on a busy machine before its throughput settles
    // (V8 optimising the hot paths); measured without this, the first endpoint read 5× slow.
    for (const e of endpoints) await wrk(`${server.base}${e.path}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
    for (const [i, e] of endpoints.entries()) {
      const targets = [['bare Fastify', baseline.base], ['Wharf', server.base], ['bare Fastify, body only', bodyOnly.base], ...(nginx ? [['nginx', nginx.base]] : [])] as const;
      // Warm every server (JIT, caches) on this endpoint before measuring.
      for (const [, base] of targets) await wrk(`${base}${e.path}`, { connections: CONNECTIONS, seconds: 1, headers });
      // Interleaved rounds, medians: a noisy neighbour hurts every target alike.
      const rounds = new Map<string, LoadResult[]>(targets.map(([label]) => [label, []]));
      for (let round = 0; round < READ_ROUNDS; round++) {
        for (const [label, base] of targets) {
          const r = await wrk(`${base}${e.path}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
          if (r.non2xx || r.errors) throw new Error(`${label} ${e.path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
          rounds.get(label)!.push(r);
        }
      }
      const results = new Map<string, LoadResult>([...rounds].map(([label, rs]) => [label, medianLoad(rs)]));
      const wharf = results.get('Wharf')!;
      const base = results.get('bare Fastify')!;
      const row = (what: string, unit: string, pick: (r: LoadResult) => number, target: (typeof TARGETS)[number] | typeof P99_TARGET | null) =>
        ctx.record({
          scenario: 'read',
          name: `${e.name}${engine}: ${what}`,
          unit,
          wharf: pick(wharf),
          baselineName: 'bare Fastify, same response (body and headers)',
          baseline: pick(base),
          target,
        });
      row('throughput', 'req/s', (r) => r.requestsPerSecond, TARGETS[i]!);
      row('p50 latency', 'ms', (r) => r.p50Ms, null);
      row('p99 latency', 'ms', (r) => r.p99Ms, P99_TARGET);
      // The former baseline, for comparison with earlier runs: the body with a content type only.
      const plain = results.get('bare Fastify, body only')!;
      ctx.record({
        scenario: 'read',
        name: `${e.name}${engine}: throughput against the body alone`,
        unit: 'req/s',
        wharf: wharf.requestsPerSecond,
        baselineName: 'bare Fastify, same body, content type only',
        baseline: plain.requestsPerSecond,
        target: null,
        note: "informational: the baseline before it sent Wharf's headers",
      });
      const ceiling = results.get('nginx');
      if (ceiling) {
        ctx.clientCheck({
          what: `${e.name}${engine}`,
          client: 'wrk (2 threads, 16 connections)',
          unit: 'req/s',
          ceiling: ceiling.requestsPerSecond,
          measured: Math.max(base.requestsPerSecond, wharf.requestsPerSecond, results.get('bare Fastify, body only')!.requestsPerSecond),
          clientCores: ceiling.clientCores,
          clientCoreLimit: 2,
        });
      }
    }

    const prism = databaseUrl ? null : findPrism();
    const latestPath = endpoints[0]!.path.replace(/^\/api\/v3/, '');
    if (databaseUrl) {
      // Prism is measured once, against the SQLite run.
    } else if (!prism) {
      ctx.record({ scenario: 'read', name: 'Get latest release: Stoplight Prism mock of the GHES OpenAPI', unit: 'req/s', wharf: null, note: PRISM_NOT_INSTALLED });
    } else {
      const server2 = await startPrism(prism, work);
      try {
        const r = await wrk(`${server2.base}${latestPath}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
        const wharf = await wrk(`${server.base}${endpoints[0]!.path}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
        ctx.record({
          scenario: 'read',
          name: 'Get latest release vs Stoplight Prism mock',
          unit: 'req/s',
          wharf: wharf.requestsPerSecond,
          baselineName: 'Prism mock',
          baseline: r.requestsPerSecond,
        });
      } finally {
        await server2.stop();
      }
    }
  } finally {
    await nginx?.stop();
    await baseline?.stop();
    await bodyOnly?.stop();
    await server.stop();
  }
}
