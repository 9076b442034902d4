/**
 * Read-API throughput of Wharf on this machine, through nginx, in three shapes:
 * - one node on the embedded store (SQLite + files), the default;
 * - one node on PostgreSQL + S3 (s3rver);
 * - two nodes on the same PostgreSQL + S3 and the same repositories directory.
 *
 * Each endpoint is loaded with autocannon for a fixed time with a fixed number of connections,
 * authenticated (rate limiting off). Needs a PostgreSQL server for tests (WHARF_TEST_DATABASE_URL,
 * default postgres://wharf:wharf@127.0.0.1:5432/postgres) and /usr/sbin/nginx.
 *
 * Run: `node --import tsx bench/multinode-read.ts [seconds] [connections]` (default 10 s, 32).
 * Results are printed and written to `bench/results/multinode-read.json`.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.WHARF_TEST_DATABASE_URL ||= 'postgres://wharf:wharf@127.0.0.1:5432/postgres';
const { startCluster } = await import('../test/multinode/cluster.ts');
const { createRepo, createUser, WorkRepo } = await import('../test/support/fixtures.ts');
const { call } = await import('../test/support/http.ts');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 32);

interface Shape {
  name: string;
  nodes: number;
  store: 'embedded' | 'shared';
}

const SHAPES: Shape[] = [
  { name: '1 node, SQLite + files', nodes: 1, store: 'embedded' },
  { name: '1 node, PostgreSQL + S3', nodes: 1, store: 'shared' },
  { name: '2 nodes, PostgreSQL + S3', nodes: 2, store: 'shared' },
];

interface Row {
  shape: string;
  endpoint: string;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  errors: number;
}

async function measure(shape: Shape): Promise<Row[]> {
  const cluster = await startCluster({ nodes: shape.nodes, store: shape.store, env: { WHARF_LOG_LEVEL: 'error' } });
  try {
    const user = await createUser(cluster.lb);
    const repo = await createRepo(cluster.lb, user, { description: 'benchmark repository' });
    const work = await WorkRepo.create();
    for (let i = 0; i < 5; i++) await work.commit(`commit ${i}`);
    await work.push(cluster.lb, repo.full, user.token, 'main');
    // Releases (when the releases API is present) make the list endpoint representative.
    for (let i = 0; i < 10; i++) {
      await call('POST', `${cluster.lb.api}/repos/${repo.full}/releases`, { token: user.token, body: { tag_name: `v1.0.${i}`, name: `v1.0.${i}` }, skipSchema: true });
    }
    const endpoints: Record<string, string> = {
      'GET /repos/{owner}/{repo}': `${cluster.lb.api}/repos/${repo.full}`,
      'GET /users/{username}': `${cluster.lb.api}/users/${user.login}`,
      'GET /repos/{owner}/{repo}/git/ref/heads/main': `${cluster.lb.api}/repos/${repo.full}/git/ref/heads/main`,
    };
    const releases = await call('GET', `${cluster.lb.api}/repos/${repo.full}/releases`, { token: user.token, skipSchema: true });
    if (releases.status === 200) endpoints['GET /repos/{owner}/{repo}/releases'] = `${cluster.lb.api}/repos/${repo.full}/releases`;
    const headers = { authorization: `token ${user.token}`, accept: 'application/vnd.github+json' };
    const rows: Row[] = [];
    for (const [endpoint, url] of Object.entries(endpoints)) {
      await autocannon({ url, connections: CONNECTIONS, duration: 2, headers }); // warm-up
      const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers });
      rows.push({
        shape: shape.name,
        endpoint,
        requestsPerSecond: Math.round(r.requests.average),
        latencyP50Ms: r.latency.p50,
        latencyP99Ms: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
      });
      console.log(
        `${shape.name.padEnd(26)} ${endpoint.padEnd(38)} ${String(rows.at(-1)!.requestsPerSecond).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  errors ${rows.at(-1)!.errors}`,
      );
    }
    return rows;
  } finally {
    await cluster.close();
  }
}

const results: Row[] = [];
for (const shape of SHAPES) results.push(...(await measure(shape)));
const out = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadAverage: os.loadavg() },
  seconds: SECONDS,
  connections: CONNECTIONS,
  results,
};
await writeFile(path.join(root, 'bench/results/multinode-read.json'), `${JSON.stringify(out, null, 2)}\n`);
process.exit(0);
