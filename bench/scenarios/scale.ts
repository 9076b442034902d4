/**
 * Scenario 5 — scale. One repository with many releases (100,000 with 1,000,000 assets in the
 * full run), seeded in bulk through Wharf's data layer while it is stopped, next to a small
 * repository (30 releases) seeded the same way. Measured: list page 1 against a deep page (page
 * 1,000 at full size), latest, latest per channel and major line, and by-tag lookups against the
 * small repository, start-up time
 * against an empty data directory, the database's size on disk and Wharf's peak memory.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { MEMORY_TARGET, type BenchContext } from '../lib/context.ts';
import { PeakRss } from '../lib/rss.ts';
import { seedReleases } from '../lib/seed.ts';
import { percentile, timed } from '../lib/stats.ts';
import { createRepo, createUser, startWharf, type WharfServer } from '../lib/wharf.ts';
import { diskUsage } from './write-api.ts';

const PER_PAGE = 30;

interface Latency {
  p50: number;
  p99: number;
}

/**
 * Sequential GETs of two URLs, alternating, so both see the same moments of a noisy machine:
 * per-request latency, not throughput.
 */
async function pairedLatencies(urlA: string, urlB: string, token: string, samples: number): Promise<[Latency, Latency]> {
  const headers = { authorization: `token ${token}`, accept: 'application/vnd.github+json' };
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < samples + 3; i++) {
    for (const [k, url] of [urlA, urlB].entries()) {
      const { value: status, seconds } = await timed(async () => {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        return res.status;
      });
      if (status !== 200) throw new Error(`${url}: ${status}`);
      if (i >= 3) times[k]!.push(seconds * 1000); // the first requests warm caches and JIT
    }
  }
  const summary = (t: number[]) => ({ p50: percentile(t, 50), p99: percentile(t, 99) });
  return [summary(times[0]), summary(times[1])];
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export async function scaleScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const releases = profile.scaleReleases;
  const assets = releases * profile.assetsPerRelease;
  const deepPage = Math.min(1000, Math.floor(releases / PER_PAGE));
  ctx.log(`scale: ${releases.toLocaleString('en')} releases, ${assets.toLocaleString('en')} assets`);
  const dataDir = work.dir('scale-data');

  let server: WharfServer = await startWharf(work, dataDir);
  const emptyStartupMs = server.startupMs;
  const owner = await createUser(server, 'bench');
  const reader = await createUser(server, 'reader');
  const big = await createRepo(server, owner, 'big');
  const small = await createRepo(server, owner, 'small');
  await server.stop();

  const seeding = await timed(() =>
    seedReleases(dataDir, [
      { repositoryId: big.id, authorId: owner.id, releases, assetsPerRelease: profile.assetsPerRelease },
      { repositoryId: small.id, authorId: owner.id, releases: PER_PAGE, assetsPerRelease: profile.assetsPerRelease },
    ]),
  );
  const [bigSeed, smallSeed] = seeding.value;
  ctx.log(`  seeded in ${seeding.seconds.toFixed(1)} s`);

  const dbBytes = ['wharf.db', 'wharf.db-wal', 'wharf.db-shm'].reduce((sum, f) => sum + fileSize(path.join(dataDir, f)), 0);
  server = await startWharf(work, dataDir);
  try {
    const peak = new PeakRss([server.pid]);
    const url = (repo: string, rest: string) => `${server.api}/repos/${owner.login}/${repo}/releases${rest}`;
    const n = profile.scaleSamples;
    const [pageDeep, page1] = await pairedLatencies(url('big', `?per_page=${PER_PAGE}&page=${deepPage}`), url('big', `?per_page=${PER_PAGE}&page=1`), reader.token, n);
    const [bigPage1, smallPage1] = await pairedLatencies(url('big', `?per_page=${PER_PAGE}&page=1`), url('small', `?per_page=${PER_PAGE}&page=1`), reader.token, n);
    const [latest, smallLatest] = await pairedLatencies(url('big', '/latest'), url('small', '/latest'), reader.token, n);
    const [byTag, smallByTag] = await pairedLatencies(url('big', `/tags/${bigSeed!.middleTag}`), url('small', `/tags/${smallSeed!.middleTag}`), reader.token, n);
    // Latest of one line (docs/channels.md): the highest version of a channel, and of a major line.
    const [channelLatest, smallChannelLatest] = await pairedLatencies(url('big', '/latest?channel=stable'), url('small', '/latest?channel=stable'), reader.token, n);
    const [majorLatest, smallMajorLatest] = await pairedLatencies(url('big', '/latest?channel=stable&major=0'), url('small', '/latest?channel=stable&major=0'), reader.token, n);
    const rss = peak.stop();

    const scaleName = `${releases.toLocaleString('en')} releases`;
    const rec = (
      name: string,
      unit: string,
      wharf: number,
      baselineName: string | null,
      baseline: number | null,
      target: { on: 'ratio' | 'wharf'; op: '>=' | '<='; value: number } | null = null,
      note?: string,
    ) => ctx.record({ scenario: 'scale', name, unit, wharf, baselineName, baseline, target, note });
    rec(`List page ${deepPage} vs page 1 (${scaleName}), p50`, 'ms', pageDeep.p50, 'page 1', page1.p50, { on: 'ratio', op: '<=', value: 1.5 });
    rec(`List page 1 (${scaleName}) vs 30 releases, p50`, 'ms', bigPage1.p50, '30 releases', smallPage1.p50);
    rec(`Get latest (${scaleName}) vs 30 releases, p50`, 'ms', latest.p50, '30 releases', smallLatest.p50);
    rec(`Get by tag (${scaleName}) vs 30 releases, p50`, 'ms', byTag.p50, '30 releases', smallByTag.p50);
    rec(`Get by tag (${scaleName}), p99`, 'ms', byTag.p99, '30 releases', smallByTag.p99);
    rec(`Latest per channel (${scaleName}) vs 30 releases, p50`, 'ms', channelLatest.p50, '30 releases', smallChannelLatest.p50, { on: 'ratio', op: '<=', value: 1.2 });
    rec(`Latest of a major line (${scaleName}) vs 30 releases, p50`, 'ms', majorLatest.p50, '30 releases', smallMajorLatest.p50, { on: 'ratio', op: '<=', value: 1.2 });
    rec(`Start-up with ${scaleName}`, 'ms', server.startupMs, 'empty data dir', emptyStartupMs, null, 'spawn to listening, the compiled server (dist/main.js)');
    rec(
      `Database on disk, ${scaleName} + ${assets.toLocaleString('en')} assets`,
      'MiB',
      dbBytes / 1024 / 1024,
      null,
      null,
      null,
      `${Math.round(dbBytes / (releases + assets))} bytes per row; seeded in ${seeding.seconds.toFixed(1)} s`,
    );
    rec(
      'Blob store on disk for the seeded assets',
      'MiB',
      diskUsage(path.join(dataDir, 'blobs')) / 1024 / 1024,
      null,
      null,
      null,
      'seeded assets are metadata only; blob bytes per asset are measured in the write scenario',
    );
    ctx.memory({ name: `Peak RSS, serving ${scaleName} / ${assets.toLocaleString('en')} assets`, unit: 'MiB', wharf: rss, target: MEMORY_TARGET });
  } finally {
    await server.stop();
  }
}
