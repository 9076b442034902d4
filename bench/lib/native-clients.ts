/**
 * @module bench/lib/native-clients
 * The load generators of the transfer and read scenarios: native programs in their own processes
 * (`curl`, one process per download stream; `wrk` for request load), so the client cannot be what
 * limits a figure. Each one runs under `/usr/bin/time`, which reports the CPU seconds the client
 * itself used: together with a ceiling measured on nginx, that shows how far from its own limit
 * the client was.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { onCleanup } from './cleanup.ts';

export const MiB = 1024 * 1024;
const TIME = '/usr/bin/time';

export const NATIVE_CLIENTS_HINT = "install Debian's curl, wrk and time (apt-get install curl wrk time)";

/** Which native clients are missing (empty when the bench can run). */
export function missingNativeClients(): string[] {
  const onPath = (name: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/${name}`));
  return [...(existsSync(TIME) ? [] : ['time']), ...(['curl', 'wrk'] as const).filter((n) => !onPath(n))];
}

interface Timed {
  stdout: string;
  stderr: string;
  code: number | null;
  /** CPU seconds (user + system) of the client process, from `/usr/bin/time`. */
  cpuSeconds: number;
}

/** Runs `command` under `/usr/bin/time`; its CPU time is the last line of stderr. */
function runTimed(command: string, args: string[], timeoutMs: number): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const child = spawn(TIME, ['-f', 'cpu %U %S', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const unregister = onCleanup(() => void child.kill('SIGKILL'));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      unregister();
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      unregister();
      const stderr = Buffer.concat(err).toString('utf8');
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, code, cpuSeconds: m ? Number(m[1]) + Number(m[2]) : NaN });
    });
  });
}

export interface ThroughputResult {
  seconds: number;
  bytes: number;
  mibPerSecond: number;
  /** CPU the clients used, in cores (CPU seconds ÷ wall seconds), summed over every stream. */
  clientCores: number;
  /** The busiest single client process, in cores: near 1 means that stream was client-bound. */
  busiestClientCores: number;
}

/**
 * `streams` simultaneous `curl -o /dev/null` processes fetching `url` (following redirects as gh
 * and browsers do; curl drops `Authorization` when a redirect leaves the host). Each must get a
 * 200 with `expectedBytes`. Throughput is every byte over the wall time of the whole set.
 */
export async function curlDownloads(url: string, headers: Record<string, string>, streams: number, expectedBytes: number): Promise<ThroughputResult> {
  const args = ['--silent', '--show-error', '--location', '--max-redirs', '5', '--output', '/dev/null', '--write-out', '%{http_code} %{size_download}\\n'];
  for (const [k, v] of Object.entries(headers)) args.push('--header', `${k}: ${v}`);
  args.push(url);
  const started = process.hrtime.bigint();
  const runs = await Promise.all(
    Array.from({ length: streams }, async () => {
      const r = await runTimed('curl', args, 600_000);
      return { ...r, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let bytes = 0;
  for (const r of runs) {
    const [status, size] = r.stdout.trim().split(/\s+/).map(Number);
    if (r.code !== 0 || status !== 200 || size !== expectedBytes) {
      throw new Error(`curl ${url}: exit ${r.code}, status ${status}, ${size} of ${expectedBytes} bytes ${r.stderr.slice(0, 300)}`);
    }
    bytes += size;
  }
  return {
    seconds,
    bytes,
    mibPerSecond: bytes / MiB / seconds,
    clientCores: runs.reduce((s, r) => s + r.cpuSeconds, 0) / seconds,
    busiestClientCores: Math.max(...runs.map((r) => r.cpuSeconds / r.seconds)),
  };
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** CPU wrk used, in cores. */
  clientCores: number;
}

/** wrk's latency figures ("812.00us", "1.25ms", "2.01s") in milliseconds. */
export function wrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** Parses wrk's `--latency` report. */
export function parseWrk(text: string): Omit<LoadResult, 'clientCores'> {
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(text);
  const total = /(\d+) requests in/.exec(text);
  const p50 = /^\s*50%\s+(\S+)/m.exec(text);
  const p99 = /^\s*99%\s+(\S+)/m.exec(text);
  if (!rps || !total || !p50 || !p99) throw new Error(`unexpected wrk output:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requestsPerSecond: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: wrkDuration(p50[1]!),
    p99Ms: wrkDuration(p99[1]!),
    // Read errors on keep-alive connections the server closes at the end are not failures.
    errors: socket ? Number(socket[1]) + Number(socket[3]) + Number(socket[4]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/**
 * `wrk` with `connections` keep-alive connections over two threads for `seconds`; `script` (a Lua
 * file, with its arguments) shapes each request, as for writes that must each create something.
 */
export async function wrk(
  url: string,
  options: {
    connections: number;
    seconds: number;
    headers?: Record<string, string>;
    threads?: number;
    script?: { file: string; args: string[] };
    timeoutSeconds?: number;
  },
): Promise<LoadResult & { socketErrors: SocketErrors; output: string }> {
  const args = [
    '--threads',
    String(options.threads ?? 2),
    '--connections',
    String(options.connections),
    '--duration',
    `${options.seconds}s`,
    '--timeout',
    `${options.timeoutSeconds ?? 10}s`,
    '--latency',
  ];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('--header', `${k}: ${v}`);
  if (options.script) args.push('--script', options.script.file);
  args.push(url);
  if (options.script) args.push('--', ...options.script.args);
  const r = await runTimed('wrk', args, (options.seconds + 60) * 1000);
  if (r.code !== 0) throw new Error(`wrk ${url}: exit ${r.code}: ${r.stderr.slice(0, 500)}`);
  return { ...parseWrk(r.stdout), socketErrors: wrkSocketErrors(r.stdout), clientCores: r.cpuSeconds / options.seconds, output: r.stdout };
}

/** wrk's "Socket errors" line: connections refused, reset or closed without an answer, writes refused, answers later than `--timeout`. */
export interface SocketErrors {
  connect: number;
  read: number;
  write: number;
  timeout: number;
}

export function wrkSocketErrors(text: string): SocketErrors {
  const m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return m ? { connect: Number(m[1]), read: Number(m[2]), write: Number(m[3]), timeout: Number(m[4]) } : { connect: 0, read: 0, write: 0, timeout: 0 };
}

export interface UploadResponse {
  status: number;
  text: string;
}

/**
 * Simultaneous uploads with `curl -X POST -T FILE`, one process per file, which streams each file
 * from the page cache as the server takes it. Each must be answered with `okStatus`.
 */
export async function curlUploads(
  requests: { url: string; headers: Record<string, string>; file: string; bytes: number }[],
  okStatus: number,
): Promise<Omit<ThroughputResult, 'busiestClientCores'> & { responses: string[] }> {
  const started = process.hrtime.bigint();
  const runs = await Promise.all(
    requests.map(({ url, headers, file }) => {
      // No `Expect: 100-continue` round trip: clients that upload assets do not wait for one.
      const args = ['--silent', '--show-error', '--request', 'POST', '--upload-file', file, '--header', 'Expect:', '--write-out', '\\n%{http_code}'];
      for (const [k, v] of Object.entries(headers)) args.push('--header', `${k}: ${v}`);
      args.push(url);
      return runTimed('curl', args, 600_000);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const responses: string[] = [];
  for (const r of runs) {
    const cut = r.stdout.lastIndexOf('\n');
    const status = Number(r.stdout.slice(cut + 1));
    if (r.code !== 0 || status !== okStatus) throw new Error(`curl upload: exit ${r.code}, status ${status}: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
    responses.push(r.stdout.slice(0, cut));
  }
  const bytes = requests.reduce((s, r) => s + r.bytes, 0);
  return { seconds, bytes, mibPerSecond: bytes / MiB / seconds, clientCores: runs.reduce((s, r) => s + r.cpuSeconds, 0) / seconds, responses };
}
