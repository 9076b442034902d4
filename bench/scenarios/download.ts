/**
 * Scenario 1 — downloads, each stream a `curl -o /dev/null` process of its own. One large asset
 * fetched by one stream and by 16 at once:
 * - standalone: Wharf serving the bytes itself, through the API (`Accept:
 *   application/octet-stream`) and the browser URL;
 * - behind nginx, the documented production set-up: nginx proxying to Wharf (the plain proxy of
 *   docs/tls.md), and nginx with `WHARF_SENDFILE_HEADER=X-Accel-Redirect` (docs/deploy.md), where
 *   Wharf authorizes and counts and nginx sends the file;
 * against nginx serving the same file directly with sendfile (a hard link to Wharf's blob, so
 * every target reads the same page-cached bytes). nginx direct is also the client's ceiling: the
 * bench prints how far above every Wharf figure it is, and how much CPU curl used reaching it.
 * Also Wharf's peak memory while serving, for a small asset and a large one.
 */
import { linkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FLAT_MEMORY_TARGET, MEMORY_TARGET, sizeLabel, type BenchContext } from '../lib/context.ts';
import { curlDownloads, type ThroughputResult } from '../lib/native-clients.ts';
import { NGINX_INSTALL_HINT, startNginx, staticServer, wharfProxyServer, type NginxServer } from '../lib/nginx.ts';
import { PeakRss, readRss } from '../lib/rss.ts';
import { median } from '../lib/stats.ts';
import { Body, upload } from '../lib/transfer.ts';
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

const STANDALONE_TARGET = { on: 'ratio', op: '>=', value: 0.6 } as const;
const BEHIND_PROXY_TARGET = { on: 'ratio', op: '>=', value: 0.9 } as const;

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

type Via = 'nginx' | 'api' | 'browser' | 'proxy' | 'accel-api' | 'accel-browser';

const LABELS: Record<Exclude<Via, 'nginx'>, { name: string; behindProxy: boolean }> = {
  api: { name: 'standalone, API octet-stream', behindProxy: false },
  browser: { name: 'standalone, browser URL', behindProxy: false },
  proxy: { name: 'behind nginx (plain proxy), browser URL', behindProxy: true },
  'accel-api': { name: 'behind nginx (X-Accel-Redirect), API octet-stream', behindProxy: true },
  'accel-browser': { name: 'behind nginx (X-Accel-Redirect), browser URL', behindProxy: true },
};

export async function downloadScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const big = profile.bigAssetBytes;
  const small = profile.smallAssetBytes;
  const many = profile.concurrentDownloadBytes;
  const streams = profile.streams;
  ctx.log(
    `download: ${sizeLabel(big)} by 1 stream (${profile.transferRounds} rounds), ${sizeLabel(many)} by ${streams} streams (${profile.concurrentDownloadRounds} rounds), curl per stream`,
  );

  const dataDir = work.dir('download-data');
  const server = await startWharf(work, dataDir);
  // A second process on the same data directory, configured as behind nginx with X-Accel-Redirect.
  let accel: WharfServer | null = null;
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
    if (ctx.nginxBinary) {
      accel = await startWharf(work, dataDir, { WHARF_SENDFILE_HEADER: 'X-Accel-Redirect', WHARF_TRUST_PROXY: 'true' });
      const blobDir = path.join(dataDir, 'blobs');
      nginx = await startNginx(ctx.nginxBinary, work, [staticServer(root), wharfProxyServer(new URL(server.base).host, null), wharfProxyServer(new URL(accel.base).host, blobDir)]);
    }

    const apiHeaders = { authorization: `token ${owner.token}`, accept: 'application/octet-stream' };
    const fetchVia = (via: Via, size: number, n: number): Promise<ThroughputResult> => {
      const { asset, file } = fixtures.get(size)!;
      const apiPath = new URL(assetApiUrl(server, repo, asset.id)).pathname;
      const browserPath = new URL(asset.browser_download_url).pathname;
      switch (via) {
        case 'nginx':
          return curlDownloads(`${nginx!.bases[0]}/${file}`, {}, n, size);
        case 'api':
          return curlDownloads(`${server.base}${apiPath}`, apiHeaders, n, size);
        case 'browser':
          return curlDownloads(`${server.base}${browserPath}`, {}, n, size);
        case 'proxy':
          return curlDownloads(`${nginx!.bases[1]}${browserPath}`, {}, n, size);
        case 'accel-api':
          return curlDownloads(`${nginx!.bases[2]}${apiPath}`, apiHeaders, n, size);
        case 'accel-browser':
          return curlDownloads(`${nginx!.bases[2]}${browserPath}`, {}, n, size);
      }
    };

    // Memory with the small asset first, so the big one cannot inflate it.
    const smallPeak = new PeakRss([server.pid]);
    await fetchVia('api', small, 1);
    await fetchVia('browser', small, 1);
    const smallRss = smallPeak.stop();

    const vias: Via[] = nginx ? ['nginx', 'api', 'browser', 'proxy', 'accel-api', 'accel-browser'] : ['api', 'browser'];
    // Warm the page cache and every server, unmeasured.
    for (const via of vias) await fetchVia(via, big, 1);

    const single = new Map<Via, ThroughputResult[]>(vias.map((v) => [v, []]));
    const concurrent = new Map<Via, ThroughputResult[]>(vias.map((v) => [v, []]));
    const wharfPeak = new PeakRss([server.pid]);
    const nginxPeak = nginx ? new PeakRss(nginx.pids()) : null;
    // Interleaved rounds, so a noisy neighbour hurts every target alike.
    for (let round = 0; round < profile.transferRounds; round++) {
      for (const via of vias) single.get(via)!.push(await fetchVia(via, big, 1));
    }
    const singleRss = wharfPeak.stop();
    const concurrentPeak = new PeakRss([server.pid]);
    for (let round = 0; round < profile.concurrentDownloadRounds; round++) {
      for (const via of vias) concurrent.get(via)!.push(await fetchVia(via, many, streams));
    }
    const concurrentRss = concurrentPeak.stop();
    const nginxRss = nginxPeak?.stop() ?? null;

    const missing = nginx ? undefined : `nginx baseline not run: ${NGINX_INSTALL_HINT}`;
    const rate = (results: ThroughputResult[]) => median(results.map((r) => r.mibPerSecond));
    for (const [results, label] of [
      [single, `${sizeLabel(big)}, 1 stream`],
      [concurrent, `${streams} streams × ${sizeLabel(many)}`],
    ] as const) {
      for (const [via, { name, behindProxy }] of Object.entries(LABELS) as [Exclude<Via, 'nginx'>, (typeof LABELS)['api']][]) {
        if (!results.has(via)) continue;
        ctx.record({
          scenario: 'download',
          name: `Download ${label}, ${name}`,
          unit: 'MiB/s',
          wharf: rate(results.get(via)!),
          baselineName: 'nginx sendfile, direct',
          baseline: nginx ? rate(results.get('nginx')!) : null,
          target: via === 'proxy' ? null : behindProxy ? BEHIND_PROXY_TARGET : STANDALONE_TARGET,
          note: missing,
        });
      }
      if (nginx) {
        // The X-Accel-Redirect rows are nginx sending the file, bounded by the ceiling by design;
        // the figures that must sit well below it are those where Wharf moves the bytes.
        const wharfFastest = Math.max(...(['api', 'browser', 'proxy'] as const).map((v) => rate(results.get(v)!)));
        ctx.clientCheck({
          what: `Download ${label} (Wharf streaming)`,
          client: `curl (one process per stream)`,
          unit: 'MiB/s',
          ceiling: rate(results.get('nginx')!),
          measured: wharfFastest,
          clientCores: Math.max(...results.get('nginx')!.map((r) => r.busiestClientCores)),
          clientCoreLimit: 1,
        });
      }
    }
    ctx.memory({
      name: 'RSS after start-up, idle',
      unit: 'MiB',
      wharf: idleRss,
      baselineName: 'nginx, all processes',
      baseline: nginx ? nginx.pids().reduce((sum, pid) => sum + readRss(pid).currentMiB, 0) : null,
      note: 'Node, Fastify and the compiled server (dist/main.js), before the first request',
    });
    ctx.memory({
      name: `Peak RSS, downloading ${sizeLabel(big)}, 1 stream`,
      unit: 'MiB',
      wharf: singleRss,
      baselineName: 'nginx, all processes',
      baseline: nginxRss,
      target: MEMORY_TARGET,
    });
    ctx.memory({
      name: `Peak RSS, downloading ${streams} × ${sizeLabel(many)}`,
      unit: 'MiB',
      wharf: concurrentRss,
      baselineName: 'nginx, all processes',
      baseline: nginxRss,
      target: MEMORY_TARGET,
    });
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
    await accel?.stop();
    await server.stop();
  }
}
