/**
 * Scenario 3 — read API. Throughput and latency, with autocannon in its own process, of the
 * three reads release tooling makes most: the latest release (10 assets), a release by tag, and
 * a page of 30 releases. The baseline is a bare Fastify route returning the very same bytes
 * from memory: the cost of HTTP and JSON transfer alone. Requests authenticate as a user with
 * read access only (the common case, and the one that must filter drafts out).
 */
import { writeFileSync } from 'node:fs';
import { startStaticJsonBaseline, type BaselineServer } from '../lib/baselines.ts';
import type { BenchContext } from '../lib/context.ts';
import { autocannon, type LoadResult } from '../lib/load.ts';
import { findPrism, PRISM_NOT_INSTALLED, startPrism } from '../lib/prism.ts';
import { seedReleases } from '../lib/seed.ts';
import { api, createRepo, createUser, startWharf, type WharfServer } from '../lib/wharf.ts';

const TARGET = { on: 'ratio', op: '>=', value: 0.5 } as const;
const CONNECTIONS = 16;

export async function readApiScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  ctx.log(`read API: autocannon, ${CONNECTIONS} connections, ${profile.loadSeconds} s per endpoint and target`);
  const dataDir = work.dir('read-data');

  let server: WharfServer = await startWharf(work, dataDir);
  const owner = await createUser(server, 'bench');
  const reader = await createUser(server, 'reader');
  const repo = await createRepo(server, owner, 'reads');
  await server.stop();
  const [seeded] = await seedReleases(dataDir, [{ repositoryId: repo.id, authorId: owner.id, releases: 100, assetsPerRelease: 10 }]);

  server = await startWharf(work, dataDir);
  let baseline: BaselineServer | null = null;
  try {
    const headers = { authorization: `token ${reader.token}`, accept: 'application/vnd.github+json' };
    const endpoints = [
      { name: 'Get latest release (10 assets)', path: `/api/v3/repos/${repo.full}/releases/latest` },
      { name: 'Get release by tag', path: `/api/v3/repos/${repo.full}/releases/tags/${seeded!.middleTag}` },
      { name: 'List releases, 30 per page', path: `/api/v3/repos/${repo.full}/releases?per_page=30` },
    ];
    const routes: Record<string, string> = {};
    for (const [i, e] of endpoints.entries()) {
      const res = await api('GET', `${server.base}${e.path}`, reader.token);
      if (res.status !== 200) throw new Error(`${e.path}: ${res.status} ${res.text.slice(0, 300)}`);
      const file = work.file(`read-${i}.json`);
      writeFileSync(file, res.text);
      routes[e.path.split('?')[0]!] = file;
    }
    const routesFile = work.file('read-routes.json');
    writeFileSync(routesFile, JSON.stringify(routes));
    baseline = await startStaticJsonBaseline(work, routesFile);

    for (const e of endpoints) {
      // Warm both servers (JIT, caches) on this endpoint before measuring.
      for (const target of [baseline.base, server.base]) await autocannon(`${target}${e.path}`, { connections: CONNECTIONS, seconds: 1, headers });
      const base = await autocannon(`${baseline.base}${e.path}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
      const wharf = await autocannon(`${server.base}${e.path}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
      for (const [label, r] of [['bare Fastify', base], ['Wharf', wharf]] as const) {
        if (r.non2xx || r.errors) throw new Error(`${label} ${e.path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      }
      const row = (what: string, unit: string, pick: (r: LoadResult) => number, target: typeof TARGET | null) =>
        ctx.record({ scenario: 'read', name: `${e.name}: ${what}`, unit, wharf: pick(wharf), baselineName: 'bare Fastify, same bytes', baseline: pick(base), target });
      row('throughput', 'req/s', (r) => r.requestsPerSecond, TARGET);
      row('p50 latency', 'ms', (r) => r.p50Ms, null);
      row('p99 latency', 'ms', (r) => r.p99Ms, null);
    }

    const prism = findPrism();
    const latestPath = endpoints[0]!.path.replace(/^\/api\/v3/, '');
    if (!prism) {
      ctx.record({ scenario: 'read', name: 'Get latest release: Stoplight Prism mock of the GHES OpenAPI', unit: 'req/s', wharf: null, note: PRISM_NOT_INSTALLED });
    } else {
      const server2 = await startPrism(prism, work);
      try {
        const r = await autocannon(`${server2.base}${latestPath}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
        const wharf = await autocannon(`${server.base}${endpoints[0]!.path}`, { connections: CONNECTIONS, seconds: profile.loadSeconds, headers });
        ctx.record({ scenario: 'read', name: 'Get latest release vs Stoplight Prism mock', unit: 'req/s', wharf: wharf.requestsPerSecond, baselineName: 'Prism mock', baseline: r.requestsPerSecond });
      } finally {
        await server2.stop();
      }
    }
  } finally {
    await baseline?.stop();
    await server.stop();
  }
}
