/**
 * Scenario 4 — write API. Releases created per second and small (4 KiB) assets uploaded per
 * second, each driven by `wrk` in its own process (16 connections, `wrk-unique-posts.lua` giving
 * every request its own tag, or its own asset name and bytes). Every create makes a new tag in
 * the real git repository. The baseline is the floor of any acknowledged write on this disk: a
 * bare Node server making the same request body durable (file + sha256 + fsync + rename). The
 * same wrk against a bare Node server that only reads each body and answers is the client's
 * ceiling: the bench shows it lies well above every figure here. Also the blob store's size on
 * disk after the small uploads.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startHookReceiver, startUploadBaseline, type BaselineServer } from '../lib/baselines.ts';
import type { BenchContext } from '../lib/context.ts';
import { wrk, type LoadResult } from '../lib/native-clients.ts';
import { createRelease, createRepo, createUser, ROOT, startWharf, type WharfServer } from '../lib/wharf.ts';

const SMALL = 4096;
const SCRIPT = path.join(ROOT, 'bench/lib/wrk-unique-posts.lua');
/** Release creation against the durable-write floor (issue target). */
const CREATE_TARGET = { on: 'ratio', op: '>=', value: 0.3 } as const;
/** A create waits its turn behind others on a loaded machine: seconds, not wrk's default 2. */
const TIMEOUT_SECONDS = 30;
/**
 * Unmeasured seconds of the same load on each server before the create runs. A fresh Wharf takes
 * tens of seconds of load before its rate settles (V8 optimising the hot paths, the heap growing
 * to its working size), as the read scenario found: one server's consecutive 8-second windows of
 * creates measured 707, 830, 886 and 925 per second.
 */
const WARM_SECONDS = 10;
/** Create runs per server, interleaved (Wharf, floor, Wharf, …); the median is reported. */
const CREATE_ROUNDS = 3;

function rates(runs: LoadResult[]): string {
  return runs.map((r) => Math.round(r.requestsPerSecond)).join(', ');
}

/** The run with the median rate (of an odd number of runs). */
function medianRun(runs: LoadResult[]): LoadResult {
  return [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)]!;
}

/** Bytes a directory takes on disk (allocated blocks, not apparent sizes). */
export function diskUsage(dir: string): number {
  if (!existsSync(dir)) return 0;
  // A temporary file of a request still in flight when wrk stopped may vanish while du walks the
  // directory: du then exits 1 but still prints the total of what it found.
  const du = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  const kib = Number(du.stdout.split(/\s/)[0]);
  return du.stdout && Number.isFinite(kib) ? kib * 1024 : NaN;
}

/** A run with any error answer or socket error is no figure: the scenario fails loudly instead. */
function checked(what: string, r: LoadResult): LoadResult {
  if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) throw new Error(`${what}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} socket errors`);
  return r;
}

function latencyNote(wharf: LoadResult, baseline: LoadResult): string {
  return `p50 ${wharf.p50Ms.toFixed(1)} ms, p99 ${wharf.p99Ms.toFixed(1)} ms per request (baseline ${baseline.p50Ms.toFixed(1)} / ${baseline.p99Ms.toFixed(1)} ms)`;
}

export async function writeApiScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const clients = profile.writeClients;
  // Release creation costs git work and durable commits: a few seconds would count a handful of
  // requests on a busy machine.
  const seconds = Math.max(profile.writeSeconds, 10);
  ctx.log(`write API: wrk, ${clients} connections, ${seconds} s per run`);
  const server: WharfServer = await startWharf(work, work.dir('write-data'));
  const baselineDir = work.dir('write-baseline');
  let baseline: BaselineServer | null = null;
  let receiver: BaselineServer | null = null;
  try {
    baseline = await startUploadBaseline(work, baselineDir);
    receiver = await startHookReceiver(work);
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'writes');
    const baselineUrl = `${baseline.base}/write`;
    const run = (what: string, url: string, headers: Record<string, string>, args: string[]) =>
      wrk(url, { connections: clients, seconds, headers, timeoutSeconds: TIMEOUT_SECONDS, script: { file: SCRIPT, args } }).then((r) => checked(what, r));

    const json = { 'content-type': 'application/json' };
    // Warm both servers (JIT, prepared statements, the repository's resident git) unmeasured, as
    // the read scenario does: a fresh server's first seconds would count start-up, not the steady rate.
    const createUrl = `${server.api}/repos/${repo.full}/releases`;
    const createHeaders = { ...json, authorization: `token ${owner.token}` };
    const warm = (url: string, headers: Record<string, string>) =>
      wrk(url, { connections: clients, seconds: WARM_SECONDS, headers, timeoutSeconds: TIMEOUT_SECONDS, script: { file: SCRIPT, args: ['release', 'warm'] } });
    await warm(createUrl, createHeaders);
    await warm(baselineUrl, json);
    // Interleaved rounds, medians: a noisy neighbour (or the disk's pace) hurts both alike.
    const wharfRuns: LoadResult[] = [];
    const floorRuns: LoadResult[] = [];
    for (let round = 0; round < CREATE_ROUNDS; round++) {
      wharfRuns.push(await run('create releases', createUrl, createHeaders, ['release', `w${round}`]));
      floorRuns.push(await run('durable write floor (release bodies)', baselineUrl, json, ['release', `w${round}`]));
    }
    const releases = medianRun(wharfRuns);
    const releasesBaseline = medianRun(floorRuns);
    ctx.record({
      scenario: 'write',
      name: `Create release (new tag), ${clients} clients`,
      unit: 'req/s',
      wharf: releases.requestsPerSecond,
      baselineName: 'durable write floor',
      baseline: releasesBaseline.requestsPerSecond,
      target: CREATE_TARGET,
      note: `${latencyNote(releases, releasesBaseline)}; medians of ${CREATE_ROUNDS} interleaved runs after ${WARM_SECONDS} s of warm-up each (Wharf ${rates(wharfRuns)}, floor ${rates(floorRuns)} req/s)`,
    });

    // One release per connection keeps every release far below GitHub's assets-per-release limit.
    const ids: string[] = [];
    for (let i = 0; i < clients; i++) ids.push(String((await createRelease(server, repo, `assets-${i}`)).id));
    const octets = { 'content-type': 'application/octet-stream' };
    const blobsBefore = diskUsage(path.join(server.dataDir, 'blobs'));
    const assets = await run('upload assets', `${server.uploads}/repos/${repo.full}/releases/${ids[0]}/assets`, { ...octets, authorization: `token ${owner.token}` }, [
      'asset',
      'small',
      String(SMALL),
      `/api/uploads/repos/${repo.full}/releases/%s/assets?name=%s`,
      ...ids,
    ]);
    const blobBytes = diskUsage(path.join(server.dataDir, 'blobs')) - blobsBefore;
    const assetsBaseline = await run('durable write floor (4 KiB bodies)', baselineUrl, octets, ['body', String(SMALL)]);
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

    // The client's ceiling: the same wrk and script against a server that only reads and answers.
    const ceiling = await run('client ceiling', `${receiver.base}/hook/ceiling`, octets, ['body', String(SMALL)]);
    ctx.clientCheck({
      what: 'write API (creates and 4 KiB uploads)',
      client: `wrk (2 threads, ${clients} connections)`,
      unit: 'req/s',
      ceiling: ceiling.requestsPerSecond,
      ceilingFrom: 'a bare Node server reading each 4 KiB body',
      measured: Math.max(releases.requestsPerSecond, releasesBaseline.requestsPerSecond, assets.requestsPerSecond, assetsBaseline.requestsPerSecond),
      clientCores: ceiling.clientCores,
      clientCoreLimit: 2,
    });
  } finally {
    await receiver?.stop();
    await baseline?.stop();
    await server.stop();
  }
}
