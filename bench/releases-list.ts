/**
 * Listing cost in a large repository: a page of 100 releases (each with 3 assets) out of 10,000,
 * first page against a page deep in the list, over HTTP against a real server.
 *
 *   node --import tsx bench/releases-list.ts [--releases 10000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/config.ts';

const count = Number(process.argv[process.argv.indexOf('--releases') + 1]) || 10_000;
const TOKEN = 'wharf_bench_token_releases_list_000000000000';

async function main() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-bench-'));
  const config = loadConfig({ WHARF_DATA_DIR: dataDir, WHARF_PORT: '0', WHARF_ADMIN_TOKEN: TOKEN, WHARF_RATE_LIMIT: 'false' });
  const wharf = await buildApp(config, { logger: pino({ level: 'silent' }) });
  await wharf.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = wharf.app.server.address() as { port: number };
  const api = `http://127.0.0.1:${port}/api/v3`;
  const headers = { authorization: `token ${TOKEN}`, 'content-type': 'application/json' };
  try {
    await fetch(`${api}/user/repos`, { method: 'POST', headers, body: JSON.stringify({ name: 'big', auto_init: true }) });
    const db = wharf.ctx.db;
    const repo = await db.selectFrom('repositories').selectAll().where('name', '=', 'big').executeTakeFirstOrThrow();
    const seedStart = performance.now();
    const base = Date.parse('2020-01-01T00:00:00Z');
    for (let start = 0; start < count; start += 500) {
      await db.transaction().execute(async (trx) => {
        const rows = [];
        for (let i = start; i < Math.min(count, start + 500); i++) {
          const at = new Date(base + i * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          rows.push({
            repository_id: repo.id,
            tag_name: `v${i}`,
            published_tag: `v${i}`,
            target_commitish: 'main',
            name: `Release ${i}`,
            body: `Notes for ${i}`,
            draft: 0,
            prerelease: 0,
            immutable: 0,
            author_id: 1,
            untagged_key: i.toString(16).padStart(20, '0'),
            created_at: at,
            published_at: at,
            updated_at: at,
          });
        }
        const inserted = await trx.insertInto('releases').values(rows).returning(['id', 'created_at']).execute();
        const assets = inserted.flatMap((r) =>
          [0, 1, 2].map((k) => ({
            release_id: r.id,
            repository_id: repo.id,
            name: `tool-${k}.tar.gz`,
            label: null,
            content_type: 'application/gzip',
            size: 1024,
            digest: 'a'.repeat(64),
            blob_key: 'a'.repeat(64),
            state: 'uploaded' as const,
            download_count: 0,
            uploader_id: 1,
            created_at: r.created_at,
            updated_at: r.created_at,
          })),
        );
        await trx.insertInto('assets').values(assets).execute();
      });
    }
    const seedMs = performance.now() - seedStart;

    async function time(url: string, runs = 30): Promise<{ median: number; p95: number }> {
      const samples: number[] = [];
      for (let i = 0; i < runs + 3; i++) {
        const t0 = performance.now();
        const res = await fetch(url, { headers });
        const body = (await res.json()) as unknown[];
        if (res.status !== 200 || body.length !== 100) throw new Error(`unexpected ${res.status} ${body.length}`);
        if (i >= 3) samples.push(performance.now() - t0); // first runs warm caches
      }
      samples.sort((a, b) => a - b);
      return { median: samples[Math.floor(samples.length / 2)]!, p95: samples[Math.floor(samples.length * 0.95)]! };
    }
    const lastPage = Math.ceil(count / 100);
    const first = await time(`${api}/repos/admin/big/releases?per_page=100&page=1`);
    const deep = await time(`${api}/repos/admin/big/releases?per_page=100&page=${lastPage}`);
    const mid = await time(`${api}/repos/admin/big/releases?per_page=100&page=${Math.ceil(lastPage / 2)}`);
    console.log(`releases: ${count} (+${count * 3} assets), seeded in ${(seedMs / 1000).toFixed(1)} s`);
    console.log(`page 1 of ${lastPage} (100 per page): median ${first.median.toFixed(1)} ms, p95 ${first.p95.toFixed(1)} ms`);
    console.log(`page ${Math.ceil(lastPage / 2)}:  median ${mid.median.toFixed(1)} ms, p95 ${mid.p95.toFixed(1)} ms`);
    console.log(`page ${lastPage}: median ${deep.median.toFixed(1)} ms, p95 ${deep.p95.toFixed(1)} ms`);
    console.log(`deep/first ratio: ${(deep.median / first.median).toFixed(2)}`);
  } finally {
    await wharf.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
