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
import { PeakRss, readRss } from '../lib/rss.ts';
import { median } from '../lib/stats.ts';
import { Body, downloadConcurrently, upload } from '../lib/transfer.ts';
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
  const many = profile.concurrentDownloadBytes;
  const streams = profile.streams;
  ctx.log(`download: ${sizeLabel(big)} by 1 stream (${profile.transferRounds} rounds), ${sizeLabel(many)} by ${streams} streams (${profile.concurrentDownloadRounds} rounds)`);

  const server = await startWharf(work, work.dir('download-data'));
  const idleRss = readRss(server.pid).currentMiB;
  let nginx: NginxServer | null = null;
  try {
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'downloads');
    const release = await createRelease(server, repo, 'v1.0.0');
    const root = work.dir('nginx-root');
    const fixtures = new Map<number, { asset: UploadedAsset; file: string }>();
    for (const size of new Set([big, small, many])) {
      const body = new Body(size);
      const file = `asset-${size}.bin`;
      const asset = await uploadFixture(server, repo, release.id, file, body);
      exposeToNginx(server, asset, body, root, file);
      fixtures.set(size, { asset, file });
    }
    if (ctx.nginxBinary) nginx = await startNginx(ctx.nginxBinary, work, root);

    const apiHeaders = { authorization: `token ${owner.token}`, accept: 'application/octet-stream' };
    type Via = 'nginx' | 'api' | 'browser';
    const fetchVia = (via: Via, size: number, n: number) => {
      const { asset, file } = fixtures.get(size)!;
      if (via === 'api') return downloadConcurrently(assetApiUrl(server, repo, asset.id), apiHeaders, n, size);
      if (via === 'browser') return downloadConcurrently(asset.browser_download_url, {}, n, size);
      return downloadConcurrently(`${nginx!.base}/${file}`, {}, n, size);
    };

    // Memory with the small asset first, so the big one cannot inflate it.
    const smallPeak = new PeakRss([server.pid]);
    await fetchVia('api', small, 1);
    await fetchVia('browser', small, 1);
    const smallRss = smallPeak.stop();

    const names: Via[] = nginx ? ['nginx', 'api', 'browser'] : ['api', 'browser'];
    // Warm the page cache and every server, unmeasured.
    for (const via of names) await fetchVia(via, big, 1);

    const single = new Map<Via, number[]>(names.map((v) => [v, []]));
    const concurrent = new Map<Via, number[]>(names.map((v) => [v, []]));
    const wharfPeak = new PeakRss([server.pid]);
    const nginxPeak = nginx ? new PeakRss(nginx.pids()) : null;
    // Interleaved rounds, so a noisy neighbour hurts every target alike.
    for (let round = 0; round < profile.transferRounds; round++) {
      for (const via of names) single.get(via)!.push((await fetchVia(via, big, 1)).mibPerSecond);
    }
    const singleRss = wharfPeak.stop();
    const concurrentPeak = new PeakRss([server.pid]);
    for (let round = 0; round < profile.concurrentDownloadRounds; round++) {
      for (const via of names) concurrent.get(via)!.push((await fetchVia(via, many, streams)).mibPerSecond);
    }
    const concurrentRss = concurrentPeak.stop();
    const nginxRss = nginxPeak?.stop() ?? null;

    const missing = nginx ? undefined : `nginx baseline not run: ${NGINX_INSTALL_HINT}`;
    for (const [results, label] of [
      [single, `${sizeLabel(big)}, 1 stream`],
      [concurrent, `${streams} streams × ${sizeLabel(many)}`],
    ] as const) {
      for (const via of ['api', 'browser'] as const) {
        ctx.record({
          scenario: 'download',
          name: `Download ${label}, ${via === 'api' ? 'API octet-stream' : 'browser URL'}`,
          unit: 'MiB/s',
          wharf: median(results.get(via)!),
          baselineName: 'nginx sendfile',
          baseline: nginx ? median(results.get('nginx')!) : null,
          target: TARGET,
          note: missing,
        });
      }
    }
    ctx.memory({
      name: 'RSS after start-up, idle',
      unit: 'MiB',
      wharf: idleRss,
      baselineName: 'nginx, all processes',
      baseline: nginx ? nginx.pids().reduce((sum, pid) => sum + readRss(pid).currentMiB, 0) : null,
      note: 'Node, Fastify and the tsx TypeScript loader, before the first request',
    });
    ctx.memory({ name: `Peak RSS, downloading ${sizeLabel(big)}, 1 stream`, unit: 'MiB', wharf: singleRss, baselineName: 'nginx, all processes', baseline: nginxRss, target: MEMORY_TARGET });
    ctx.memory({ name: `Peak RSS, downloading ${streams} × ${sizeLabel(many)}`, unit: 'MiB', wharf: concurrentRss, baselineName: 'nginx, all processes', baseline: nginxRss, target: MEMORY_TARGET });
    ctx.memory({
      name: `Peak RSS, downloading ${sizeLabel(big)} vs ${sizeLabel(small)}`,
      unit: 'MiB',
      wharf: singleRss,
      baselineName: `Wharf with ${sizeLabel(small)}`,
      baseline: smallRss,
      target: FLAT_MEMORY_TARGET,
    });
  } finally {
    await nginx?.stop();
    await server.stop();
  }
}
