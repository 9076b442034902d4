/**
 * Scenario 2 — uploads. One large asset, then 16 concurrent mid-size ones, each sent by a `curl`
 * process of its own from a file in the page cache, against a bare Node `http` server doing the
 * minimum a durable upload needs (stream to a file while hashing with sha256, fsync, rename).
 * Every body is distinct, so Wharf's content addressing cannot skip a write. Also Wharf's peak
 * memory while receiving, for a large and a small asset.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startUploadBaseline, type BaselineServer } from '../lib/baselines.ts';
import { FLAT_MEMORY_TARGET, MEMORY_TARGET, sizeLabel, type BenchContext } from '../lib/context.ts';
import { PeakRss } from '../lib/rss.ts';
import { median } from '../lib/stats.ts';
import { curlUploads } from '../lib/native-clients.ts';
import { Body } from '../lib/transfer.ts';
import { assetUploadUrl, createRelease, createRepo, createUser, deleteAsset, startWharf, uploadHeaders, type WharfServer } from '../lib/wharf.ts';

const TARGET = { on: 'ratio', op: '>=', value: 0.8 } as const;

function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(path.join(dir, name), { force: true, recursive: true });
}

export async function uploadScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const big = profile.bigAssetBytes;
  const small = profile.smallAssetBytes;
  const each = profile.concurrentUploadBytes;
  const streams = profile.streams;
  ctx.log(`upload: ${sizeLabel(big)} asset and ${streams} × ${sizeLabel(each)}, ${profile.transferRounds} rounds`);

  const server: WharfServer = await startWharf(work, work.dir('upload-data'));
  const baselineDir = work.dir('upload-baseline');
  let baseline: BaselineServer | null = null;
  try {
    baseline = await startUploadBaseline(work, baselineDir);
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'uploads');
    const release = await createRelease(server, repo, 'v1.0.0');
    const headers = uploadHeaders(owner.token);
    let seq = 0;
    const bodiesDir = work.dir('upload-bodies');
    /** Distinct bodies written to files first, so writing them is not part of the measurement. */
    const files = (size: number, n: number) => Array.from({ length: n }, () => ({ file: new Body(size).writeTo(path.join(bodiesDir, `body-${++seq}.bin`)), bytes: size }));
    const send = async (bodies: { file: string; bytes: number }[], request: () => { url: string; headers: Record<string, string> }) => {
      try {
        return await curlUploads(
          bodies.map((b) => ({ ...b, ...request() })),
          201,
        );
      } finally {
        emptyDir(bodiesDir);
      }
    };
    const toWharf = (size: number, n: number) => send(files(size, n), () => ({ url: assetUploadUrl(server, repo, release.id, `asset-${++seq}.bin`), headers }));
    const toBaseline = (size: number, n: number) => send(files(size, n), () => ({ url: `${baseline!.base}/upload`, headers: { 'content-type': 'application/octet-stream' } }));
    /** Deletes what a measurement stored, so a full run needs a few GiB of disk, not dozens. */
    const discard = async (responses: string[]) => {
      for (const text of responses) await deleteAsset(server, repo, (JSON.parse(text) as { id: number }).id);
    };

    // Small asset first for the memory comparison; also warms both servers up.
    const smallPeak = new PeakRss([server.pid]);
    await discard((await toWharf(small, 1)).responses);
    const smallRss = smallPeak.stop();
    await toBaseline(small, 1);
    emptyDir(baselineDir);

    const one = { wharf: [] as number[], baseline: [] as number[] };
    const many = { wharf: [] as number[], baseline: [] as number[] };
    const wharfPeak = new PeakRss([server.pid]);
    const baselinePeak = new PeakRss([baseline.pid]);
    for (let round = 0; round < profile.transferRounds; round++) {
      one.baseline.push((await toBaseline(big, 1)).mibPerSecond);
      emptyDir(baselineDir);
      const w = await toWharf(big, 1);
      one.wharf.push(w.mibPerSecond);
      await discard(w.responses);
    }
    const singleRss = wharfPeak.stop();
    const concurrentPeak = new PeakRss([server.pid]);
    for (let round = 0; round < profile.transferRounds; round++) {
      many.baseline.push((await toBaseline(each, streams)).mibPerSecond);
      emptyDir(baselineDir);
      const w = await toWharf(each, streams);
      many.wharf.push(w.mibPerSecond);
      await discard(w.responses);
    }
    const concurrentRss = concurrentPeak.stop();
    const baselineRss = baselinePeak.stop();

    ctx.record({
      scenario: 'upload',
      name: `Upload ${sizeLabel(big)}, 1 stream`,
      unit: 'MiB/s',
      wharf: median(one.wharf),
      baselineName: 'bare Node: file + sha256 + fsync',
      baseline: median(one.baseline),
      target: TARGET,
    });
    ctx.record({
      scenario: 'upload',
      name: `Upload ${streams} × ${sizeLabel(each)} concurrently`,
      unit: 'MiB/s',
      wharf: median(many.wharf),
      baselineName: 'bare Node: file + sha256 + fsync',
      baseline: median(many.baseline),
      target: TARGET,
    });
    ctx.memory({
      name: `Peak RSS, uploading ${sizeLabel(big)}`,
      unit: 'MiB',
      wharf: singleRss,
      baselineName: 'bare Node upload server',
      baseline: baselineRss,
      target: MEMORY_TARGET,
    });
    ctx.memory({
      name: `Peak RSS, uploading ${streams} × ${sizeLabel(each)} concurrently`,
      unit: 'MiB',
      wharf: concurrentRss,
      baselineName: 'bare Node upload server',
      baseline: baselineRss,
      target: MEMORY_TARGET,
    });
    ctx.memory({
      name: `Peak RSS, uploading ${sizeLabel(big)} vs ${sizeLabel(small)}`,
      unit: 'MiB',
      wharf: singleRss,
      baselineName: `Wharf with ${sizeLabel(small)}`,
      baseline: smallRss,
      target: FLAT_MEMORY_TARGET,
    });
  } finally {
    await baseline?.stop();
    await server.stop();
  }
}
