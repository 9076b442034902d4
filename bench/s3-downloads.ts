/**
 * The download path on S3 storage: a 302 to a presigned URL (bytes go from the bucket to the
 * client) against streaming through Wharf (`WHARF_S3_PROXY_DOWNLOADS=true`), one node behind
 * nginx on PostgreSQL + s3rver, on this machine. For each mode:
 * - redirects (or small downloads) per second Wharf answers, with autocannon;
 * - wall time to fetch a large asset end to end (following the redirect), median of runs;
 * - CPU seconds the Wharf process spends per GiB downloaded (what leaves Wharf's hands).
 * A direct GET from s3rver is the baseline for the large fetch.
 *
 * Run: `node --import tsx bench/s3-downloads.ts [sizeMiB] [runs] [seconds]` (default 256, 3, 10).
 * Results are printed and written to `bench/results/s3-downloads.json`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.WHARF_TEST_DATABASE_URL ||= 'postgres://wharf:wharf@127.0.0.1:5432/postgres';
const { startCluster } = await import('../test/multinode/cluster.ts');
const { createRepo, createUser } = await import('../test/support/fixtures.ts');
const { call } = await import('../test/support/http.ts');

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZE = Number(process.argv[2] ?? 256) * 1024 * 1024;
const RUNS = Number(process.argv[3] ?? 3);
const SECONDS = Number(process.argv[4] ?? 10);

/** utime + stime of a process, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  // Fields 14 and 15 of /proc/<pid>/stat (counted after the command name), in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function timedFetch(url: string): Promise<{ seconds: number; sha256: string; status: number }> {
  const started = process.hrtime.bigint();
  const res = await fetch(url);
  const hash = createHash('sha256');
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, sha256: hash.digest('hex'), status: res.status };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface ModeResult {
  mode: string;
  answersPerSecond: number;
  answerStatus: number;
  largeFetchSeconds: number;
  largeFetchMiBps: number;
  wharfCpuSecondsPerGiB: number;
}

async function measure(mode: 'presigned redirect' | 'proxied through Wharf'): Promise<{ result: ModeResult; directSeconds: number }> {
  const cluster = await startCluster({
    nodes: 1,
    env: { WHARF_LOG_LEVEL: 'error', WHARF_S3_PROXY_DOWNLOADS: mode === 'proxied through Wharf' ? 'true' : 'false' },
  });
  try {
    const user = await createUser(cluster.lb);
    const repo = await createRepo(cluster.lb, user, { auto_init: true });
    const release = await call('POST', `${cluster.lb.api}/repos/${repo.full}/releases`, { token: user.token, body: { tag_name: 'v1.0.0' } });
    const upload = async (name: string, data: Buffer) => {
      const res = await call('POST', `${cluster.lb.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=${name}`, {
        token: user.token,
        raw: data,
        headers: { 'content-type': 'application/octet-stream' },
      });
      if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${res.text}`);
      return res.body as { browser_download_url: string };
    };
    const small = await upload('small.bin', randomBytes(64 * 1024));
    const bigData = randomBytes(SIZE);
    const bigSha = createHash('sha256').update(bigData).digest('hex');
    const big = await upload('big.bin', bigData);

    await autocannon({ url: small.browser_download_url, connections: 16, duration: 2 });
    const load = await autocannon({ url: small.browser_download_url, connections: 16, duration: SECONDS });
    const answerStatus = (await fetch(small.browser_download_url, { redirect: 'manual' })).status;

    const pid = cluster.nodes[0]!.process!.pid!;
    const cpuBefore = await cpuSeconds(pid);
    const times: number[] = [];
    let direct = 0;
    for (let i = 0; i < RUNS; i++) {
      const got = await timedFetch(big.browser_download_url);
      if (got.status !== 200 || got.sha256 !== bigSha) throw new Error(`large download: ${got.status}`);
      times.push(got.seconds);
    }
    const cpu = (await cpuSeconds(pid)) - cpuBefore;
    if (mode === 'presigned redirect') {
      // Baseline: the same object straight from the S3 server, no Wharf and no nginx.
      const location = (await fetch(big.browser_download_url, { redirect: 'manual' })).headers.get('location')!;
      const directTimes: number[] = [];
      for (let i = 0; i < RUNS; i++) directTimes.push((await timedFetch(location)).seconds);
      direct = median(directTimes);
    }
    const seconds = median(times);
    return {
      result: {
        mode,
        answersPerSecond: Math.round(load.requests.average),
        answerStatus,
        largeFetchSeconds: Number(seconds.toFixed(2)),
        largeFetchMiBps: Math.round(SIZE / 1024 / 1024 / seconds),
        wharfCpuSecondsPerGiB: Number((cpu / ((RUNS * SIZE) / 2 ** 30)).toFixed(2)),
      },
      directSeconds: direct,
    };
  } finally {
    await cluster.close();
  }
}

const presigned = await measure('presigned redirect');
const proxied = await measure('proxied through Wharf');
const out = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadAverage: os.loadavg() },
  largeAssetMiB: SIZE / 1024 / 1024,
  runs: RUNS,
  smallAssetKiB: 64,
  seconds: SECONDS,
  results: [presigned.result, proxied.result],
  directFromS3Seconds: Number(presigned.directSeconds.toFixed(2)),
};
console.table(out.results);
console.log(`direct GET from s3rver: ${out.directFromS3Seconds} s for ${out.largeAssetMiB} MiB`);
await writeFile(path.join(root, 'bench/results/s3-downloads.json'), `${JSON.stringify(out, null, 2)}\n`);
process.exit(0);
