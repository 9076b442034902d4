/**
 * Scenario 4 — write API. Releases created per second and small (4 KiB) assets uploaded per
 * second, each by 16 concurrent clients in closed loops. Every create makes a new tag in the
 * real git repository. The baseline is the floor of any acknowledged write on this disk: a bare
 * Node server making the same request body durable (file + sha256 + fsync + rename).
 * Also the blob store's size on disk after the small uploads.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startUploadBaseline, type BaselineServer } from '../lib/baselines.ts';
import type { BenchContext } from '../lib/context.ts';
import { closedLoop, type LoadResult } from '../lib/load.ts';
import { Body, upload } from '../lib/transfer.ts';
import { api, assetUploadUrl, createRelease, createRepo, createUser, startWharf, uploadHeaders, type WharfServer } from '../lib/wharf.ts';

const SMALL = 4096;
/** Release creation against the durable-write floor (issue target). */
const CREATE_TARGET = { on: 'ratio', op: '>=', value: 0.3 } as const;

/** Bytes a directory takes on disk (allocated blocks, not apparent sizes). */
export function diskUsage(dir: string): number {
  if (!existsSync(dir)) return 0;
  try {
    return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]) * 1024;
  } catch {
    return NaN;
  }
}

function latencyNote(wharf: LoadResult, baseline: LoadResult): string {
  return `p50 ${wharf.p50Ms.toFixed(1)} ms, p99 ${wharf.p99Ms.toFixed(1)} ms per request (baseline ${baseline.p50Ms.toFixed(1)} / ${baseline.p99Ms.toFixed(1)} ms)`;
}

export async function writeApiScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const clients = profile.writeClients;
  ctx.log(`write API: ${clients} clients, ${profile.writeSeconds} s each`);
  const server: WharfServer = await startWharf(work, work.dir('write-data'));
  const baselineDir = work.dir('write-baseline');
  let baseline: BaselineServer | null = null;
  try {
    baseline = await startUploadBaseline(work, baselineDir);
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'writes');
    const baselineUrl = `${baseline.base}/write`;

    const createBody = (n: number) => ({ tag_name: `w${n}`, name: `Release w${n}`, body: `Notes for w${n}` });
    const releases = await closedLoop(clients, profile.writeSeconds, async (n) => {
      const res = await api('POST', `${server.api}/repos/${repo.full}/releases`, owner.token, createBody(n));
      if (res.status !== 201) throw new Error(`create release: ${res.status} ${res.text.slice(0, 300)}`);
    });
    const releasesBaseline = await closedLoop(clients, profile.writeSeconds, async (n) => {
      const res = await fetch(baselineUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(createBody(n)) });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`baseline: ${res.status}`);
    });
    ctx.record({
      scenario: 'write',
      name: `Create release (new tag), ${clients} clients`,
      unit: 'req/s',
      wharf: releases.requestsPerSecond,
      baselineName: 'durable write floor',
      baseline: releasesBaseline.requestsPerSecond,
      target: CREATE_TARGET,
      note: latencyNote(releases, releasesBaseline),
    });

    // One release per client keeps every release far below GitHub's assets-per-release limit.
    const targets: { id: number }[] = [];
    for (let i = 0; i < clients; i++) targets.push(await createRelease(server, repo, `assets-${i}`));
    const headers = uploadHeaders(owner.token);
    const blobsBefore = diskUsage(path.join(server.dataDir, 'blobs'));
    const assets = await closedLoop(clients, profile.writeSeconds, async (n) => {
      const release = targets[n % clients]!;
      const res = await upload(assetUploadUrl(server, repo, release.id, `small-${n}.bin`), headers, new Body(SMALL));
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${res.text.slice(0, 300)}`);
    });
    const blobBytes = diskUsage(path.join(server.dataDir, 'blobs')) - blobsBefore;
    const assetsBaseline = await closedLoop(clients, profile.writeSeconds, async () => {
      const res = await upload(baselineUrl, { 'content-type': 'application/octet-stream' }, new Body(SMALL));
      if (res.status !== 201) throw new Error(`baseline: ${res.status}`);
    });
    const baselineBytes = diskUsage(baselineDir);
    ctx.record({
      scenario: 'write',
      name: `Upload 4 KiB asset, ${clients} clients`,
      unit: 'req/s',
      wharf: assets.requestsPerSecond,
      baselineName: 'bare Node: file + sha256 + fsync',
      baseline: assetsBaseline.requestsPerSecond,
      note: latencyNote(assets, assetsBaseline),
    });
    ctx.record({
      scenario: 'write',
      name: 'Blob store on disk per 4 KiB asset',
      unit: 'KiB',
      wharf: blobBytes / assets.requests / 1024,
      baselineName: 'one file per upload',
      baseline: baselineBytes / assetsBaseline.requests / 1024,
    });
  } finally {
    await baseline?.stop();
    await server.stop();
  }
}
