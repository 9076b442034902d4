/**
 * Resumable (tus) uploads against the classic single-request upload, in the same run on the same
 * server, with curl as the out-of-process client for both (so the client's cost is the same):
 * - classic: `POST {upload_url}?name=…` with the file as the body (`curl -T`);
 * - tus: creation, then the whole file in one `PATCH` (the fastest a tus client can go);
 * - tus, resumed: the `PATCH` is cut (curl killed) about half-way, the offset read back with
 *   `HEAD`, and the rest sent with `curl -C <offset>`; reports what the cut cost in time and in
 *   bytes sent twice;
 * - the download of the result (`curl`, proxied bytes), and the server's peak RSS throughout.
 * Every upload's digest is checked against the file's sha256.
 *
 * Run: `node --import tsx bench/resumable-uploads.ts [sizeMiB] [runs]` (default 1024 MiB, 3 runs;
 * medians reported). With more than 2048 MiB it doubles as the measurement of assets beyond
 * 2 GiB. Results are printed and written to `bench/results/resumable-uploads.json`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.ts';
import { PeakRss } from './lib/rss.ts';
import { ROOT, api, createRelease, createRepo, createUser, startWharf } from './lib/wharf.ts';
import { WorkDir } from './lib/workdir.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const SIZE = Number(process.argv[2] ?? 1024) * MiB;
const RUNS = Number(process.argv[3] ?? 3);

/** A file of SIZE bytes that does not repeat (each MiB stamped with its index), and its sha256. */
async function makeFile(file: string): Promise<string> {
  const base = randomBytes(MiB);
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  for (let i = 0; i < SIZE / MiB; i++) {
    base.writeUInt32BE(i, 0);
    hash.update(base);
    await handle.write(base);
  }
  await handle.close();
  return hash.digest('hex');
}

/** curl, timed by curl itself: `%{time_total}` and the HTTP status. */
async function curl(args: string[]): Promise<{ status: number; seconds: number; headers: string }> {
  const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-D', '-', '-w', '\n%{http_code} %{time_total}', ...args], { maxBuffer: 16 * MiB });
  const lines = stdout.trimEnd().split('\n');
  const [status, seconds] = lines.pop()!.split(' ');
  return { status: Number(status), seconds: Number(seconds), headers: lines.join('\n') };
}

function header(headers: string, name: string): string | null {
  const m = new RegExp(`^${name}:\\s*(.*?)\\r?$`, 'im').exec(headers);
  return m ? m[1]! : null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const mibps = (seconds: number) => Math.round((SIZE / MiB / seconds) * 10) / 10;

async function main(): Promise<void> {
  installSignalHandlers();
  const work = new WorkDir();
  const load = loadavg()[0]!;
  const file = work.file('payload.bin');
  const sha = await makeFile(file);
  const server = await startWharf(work, work.dir('data'), { WHARF_MAX_ASSET_SIZE: String(Math.max(SIZE, 2 * 1024 * MiB)) });
  const user = await createUser(server, 'bench');
  const repo = await createRepo(server, user, 'uploads');
  const release = await createRelease(server, repo, 'v1', { draft: true });
  const auth = ['-H', `Authorization: token ${user.token}`];
  const tusHeaders = [...auth, '-H', 'Tus-Resumable: 1.0.0'];
  const endpoint = `${server.uploads}/repos/${repo.full}/releases/${release.id}/assets`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  const digestOf = async (name: string) => {
    const assets = (await api('GET', `${server.api}/repos/${repo.full}/releases/${release.id}/assets?per_page=100`, user.token)).body as Array<{ name: string; digest: string }>;
    return assets.find((a) => a.name === name)?.digest;
  };
  const check = async (name: string) => {
    const digest = await digestOf(name);
    if (digest !== `sha256:${sha}`) throw new Error(`${name}: digest ${digest}, expected sha256:${sha}`);
  };
  const createTus = async (name: string) => {
    const created = await curl(['-X', 'POST', ...tusHeaders, '-H', `Upload-Length: ${SIZE}`, '-H', `Upload-Metadata: name ${b64(name)}`, `${endpoint}/resumable`]);
    if (created.status !== 201) throw new Error(`tus creation: ${created.status}`);
    return header(created.headers, 'location')!;
  };
  const patch = (location: string, offset: number, extra: string[] = []) =>
    curl([
      '-X',
      'PATCH',
      ...tusHeaders,
      '-H',
      `Upload-Offset: ${offset}`,
      '-H',
      'Content-Type: application/offset+octet-stream',
      ...(offset ? ['-C', String(offset)] : []),
      '-T',
      file,
      ...extra,
      location,
    ]);

  const classic: number[] = [];
  const tus: number[] = [];
  const resumed: number[] = [];
  const resent: number[] = [];
  const download: number[] = [];
  let peakUpload = 0;
  let peakDownload = 0;
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order, so neither side always runs on a warmer page cache.
    const order = i % 2 === 0 ? ['classic', 'tus'] : ['tus', 'classic'];
    for (const kind of order) {
      const rss = new PeakRss([server.pid]);
      if (kind === 'classic') {
        const name = `classic-${i}.bin`;
        const r = await curl(['-X', 'POST', ...auth, '-H', 'Content-Type: application/octet-stream', '-T', file, `${endpoint}?name=${name}`]);
        if (r.status !== 201) throw new Error(`classic upload: ${r.status}`);
        classic.push(r.seconds);
        await check(name);
      } else {
        const name = `tus-${i}.bin`;
        const started = process.hrtime.bigint();
        const location = await createTus(name);
        const r = await patch(location, 0);
        if (r.status !== 204) throw new Error(`tus PATCH: ${r.status}`);
        tus.push(Number(process.hrtime.bigint() - started) / 1e9);
        await check(name);
      }
      peakUpload = Math.max(peakUpload, rss.stop());
    }

    // Cut half-way: curl reads the file from a pipe that is fed half of it, then killed; the
    // offset is read back with HEAD and the rest sent with `curl -C <offset>`.
    const name = `resumed-${i}.bin`;
    const started = process.hrtime.bigint();
    const location = await createTus(name);
    const half = Math.floor(SIZE / 2 / MiB) * MiB;
    const cut = spawn(
      'curl',
      [
        '-sS',
        '-o',
        '/dev/null',
        '-X',
        'PATCH',
        ...tusHeaders,
        '-H',
        'Upload-Offset: 0',
        '-H',
        'Content-Type: application/offset+octet-stream',
        '-H',
        `Content-Length: ${SIZE}`,
        '-H',
        'Transfer-Encoding:',
        '-T',
        '-',
        location,
      ],
      { stdio: ['pipe', 'ignore', 'ignore'] },
    );
    const exited = new Promise((resolve) => cut.once('exit', resolve));
    cut.stdin.on('error', () => {});
    await pipeline(createReadStream(file, { end: half - 1 }), cut.stdin, { end: false });
    // Let the bytes in flight arrive and be staged, as a real cut would find them.
    await new Promise((r) => setTimeout(r, 500));
    cut.kill('SIGKILL');
    await exited;
    // The server records what arrived once it notices the cut: a client asks until it sees it.
    let offset = 0;
    for (let tries = 0; tries < 100 && !(offset > 0); tries++) {
      if (tries) await new Promise((r) => setTimeout(r, 100));
      const head = await curl(['-I', ...tusHeaders, location]);
      if (head.status !== 200) throw new Error(`HEAD after the cut: ${head.status}`);
      offset = Number(header(head.headers, 'upload-offset'));
    }
    let rest = await patch(location, offset);
    // 423 while the cut request still holds the upload's lock: retry shortly, as tus clients do.
    for (let tries = 0; rest.status === 423 && tries < 50; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      rest = await patch(location, offset);
    }
    if (rest.status !== 204) throw new Error(`tus resume: ${rest.status} at ${offset}`);
    resumed.push(Number(process.hrtime.bigint() - started) / 1e9);
    // Bytes sent before the cut beyond the durable offset are sent again.
    resent.push(Math.round(((half - offset) / MiB) * 10) / 10);
    await check(name);

    const rss = new PeakRss([server.pid]);
    const d = await curl(['-H', 'Accept: application/octet-stream', ...auth, '-L', `${server.api}/repos/${repo.full}/releases/assets/${await assetId(`tus-${i}.bin`)}`]);
    if (d.status !== 200) throw new Error(`download: ${d.status}`);
    download.push(d.seconds);
    peakDownload = Math.max(peakDownload, rss.stop());
  }

  async function assetId(name: string): Promise<number> {
    const assets = (await api('GET', `${server.api}/repos/${repo.full}/releases/${release.id}/assets?per_page=100`, user.token)).body as Array<{ name: string; id: number }>;
    return assets.find((a) => a.name === name)!.id;
  }

  const result = {
    sizeMiB: SIZE / MiB,
    runs: RUNS,
    loadAtStart: Math.round(load * 100) / 100,
    classicSeconds: median(classic),
    classicMiBps: mibps(median(classic)),
    tusSeconds: median(tus),
    tusMiBps: mibps(median(tus)),
    tusVsClassic: Math.round((median(classic) / median(tus)) * 100) / 100,
    resumedSeconds: median(resumed),
    resumedVsUncut: Math.round((median(resumed) / median(tus)) * 100) / 100,
    resentMiBEstimate: median(resent),
    downloadSeconds: median(download),
    downloadMiBps: mibps(median(download)),
    peakRssUploadMiB: Math.round(peakUpload),
    peakRssDownloadMiB: Math.round(peakDownload),
  };
  await server.stop();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(ROOT, 'bench', 'results', 'resumable-uploads.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
