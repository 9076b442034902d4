/**
 * Scenario 1 — downloads. One large asset fetched through the API (`Accept:
 * application/octet-stream`, following any redirect) and through its browser URL, by one stream
 * and by 16 at once, against nginx serving the same file (a hard link to Wharf's blob, so both
 * read the same page-cached bytes) with sendfile. Also Wharf's peak memory while doing it, and
 * for a small asset, to show memory does not grow with the size.
 */
import { linkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FLAT_MEMORY_TARGET, MEMORY_TARGET, sizeLabel, type BenchContext } from '../lib/context.ts';
import { NGINX_INSTALL_HINT, startNginx, type NginxServer } from '../lib/nginx.ts';
import { PeakRss } from '../lib/rss.ts';
import { median } from '../lib/stats.ts';
import { Body, downloadConcurrently, upload, type ThroughputResult } from '../lib/transfer.ts';
import {
  assetApiUrl,
  assetUploadUrl,
  createRelease,
  createRepo,
  createUser,
  startWharf,
  uploadHeaders,
  type BenchRepo,
  type UploadedAsset,
  type WharfServer,
} from '../lib/wharf.ts';

const TARGET = { on: 'ratio', op: '>=', value: 0.9 } as const;

async function uploadFixture(server: WharfServer, repo: BenchRepo, releaseId: number, name: string, body: Body): Promise<UploadedAsset> {
  const res = await upload(assetUploadUrl(server, repo, releaseId, name), uploadHeaders(repo.owner.token), body);
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as UploadedAsset;
}

/** Puts the asset's bytes where nginx serves them: a hard link to the blob, else a copy. */
function exposeToNginx(server: WharfServer, asset: UploadedAsset, body: Body, root: string, name: string): void {
  const key = asset.digest?.replace(/^sha256:/, '') ?? '';
  const blob = path.join(server.dataDir, 'blobs', key.slice(0, 2), key.slice(2, 4), key);
  try {
    linkSync(blob, path.join(root, name));
  } catch {
    const out: Buffer[] = [];
    for (let sent = 0; sent < body.size; sent += body.block.length) out.push(body.block.subarray(0, Math.min(body.block.length, body.size - sent)));
    writeFileSync(path.join(root, name), Buffer.concat(out));
  }
}

export async function downloadScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const big = profile.bigAssetBytes;
  const small = profile.smallAssetBytes;
  const streams = profile.streams;
  ctx.log(`download: ${sizeLabel(big)} asset, 1 and ${streams} streams, ${profile.transferRounds} rounds`);

  const server = await startWharf(work, work.dir('download-data'));
  let nginx: NginxServer | null = null;
  try {
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'downloads');
    const release = await createRelease(server, repo, 'v1.0.0');
    const bigBody = new Body(big);
    const smallBody = new Body(small);
    const bigAsset = await uploadFixture(server, repo, release.id, 'big.bin', bigBody);
    const smallAsset = await uploadFixture(server, repo, release.id, 'small.bin', smallBody);

    const root = work.dir('nginx-root');
    exposeToNginx(server, bigAsset, bigBody, root, 'big.bin');
    exposeToNginx(server, smallAsset, smallBody, root, 'small.bin');
    if (ctx.nginxBinary) nginx = await startNginx(ctx.nginxBinary, work, root);

    const apiHeaders = { authorization: `token ${owner.token}`, accept: 'application/octet-stream' };
    const targets = (asset: UploadedAsset, file: string) => ({
      api: () => [assetApiUrl(server, repo, asset.id), apiHeaders] as const,
      browser: () => [asset.browser_download_url, {}] as const,
      nginx: () => [`${nginx!.base}/${file}`, {}] as const,
    });

    // Memory with the small asset first, so the big one cannot inflate it.
    const smallTargets = targets(smallAsset, 'small.bin');
    const smallPeak = new PeakRss([server.pid]);
    for (const n of [1, streams]) {
      await downloadConcurrently(...smallTargets.api(), n, small);
      await downloadConcurrently(...smallTargets.browser(), n, small);
    }
    const smallRss = smallPeak.stop();

    const bigTargets = targets(bigAsset, 'big.bin');
    const names = nginx ? (['nginx', 'api', 'browser'] as const) : (['api', 'browser'] as const);
    const results: Record<string, Record<number, ThroughputResult[]>> = { nginx: { 1: [], [streams]: [] }, api: { 1: [], [streams]: [] }, browser: { 1: [], [streams]: [] } };
    // Warm the page cache and both servers, unmeasured.
    for (const name of names) await downloadConcurrently(...bigTargets[name](), 1, big);

    const wharfPeak = new PeakRss([server.pid]);
    const nginxPeak = nginx ? new PeakRss(nginx.pids()) : null;
    for (let round = 0; round < profile.transferRounds; round++) {
      for (const n of [1, streams]) {
        // Interleaved, so a noisy neighbour hurts every target alike.
        for (const name of names) results[name]![n]!.push(await downloadConcurrently(...bigTargets[name](), n, big));
      }
    }
    const bigRss = wharfPeak.stop();
    const nginxRss = nginxPeak?.stop() ?? null;

    const mibps = (name: string, n: number) => {
      const list = results[name]![n]!;
      return list.length ? median(list.map((r) => r.mibPerSecond)) : null;
    };
    const missing = nginx ? undefined : `nginx baseline not run: ${NGINX_INSTALL_HINT}`;
    for (const n of [1, streams]) {
      const label = n === 1 ? '1 stream' : `${n} streams`;
      for (const via of ['api', 'browser'] as const) {
        ctx.record({
          scenario: 'download',
          name: `Download ${sizeLabel(big)}, ${via === 'api' ? 'API octet-stream' : 'browser URL'}, ${label}`,
          unit: 'MiB/s',
          wharf: mibps(via, n),
          baselineName: 'nginx sendfile',
          baseline: nginx ? mibps('nginx', n) : null,
          target: TARGET,
          note: missing,
        });
      }
    }
    ctx.memory({
      name: `Peak RSS, downloading ${sizeLabel(big)} (1 and ${streams} streams)`,
      unit: 'MiB',
      wharf: bigRss,
      baselineName: 'nginx, all processes',
      baseline: nginxRss,
      target: MEMORY_TARGET,
    });
    ctx.memory({
      name: `Peak RSS, downloading ${sizeLabel(big)} vs ${sizeLabel(small)}`,
      unit: 'MiB',
      wharf: bigRss,
      baselineName: `Wharf with ${sizeLabel(small)}`,
      baseline: smallRss,
      target: FLAT_MEMORY_TARGET,
    });
  } finally {
    await nginx?.stop();
    await server.stop();
  }
}
