/**
 * @module bench/lib/load
 * Load generation. Read throughput uses autocannon in its own process (so the generator does
 * not share an event loop with the bench); writes use a closed loop of N clients in the bench.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { onCleanup } from './cleanup.ts';
import { percentile } from './stats.ts';

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);
const AUTOCANNON = path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

export async function autocannon(url: string, options: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = [AUTOCANNON, '-j', '-c', String(options.connections), '-d', String(options.seconds)];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  const run = execFileAsync(process.execPath, args, { maxBuffer: 64 * 1024 * 1024, timeout: (options.seconds + 60) * 1000 });
  const unregister = onCleanup(() => void run.child.kill('SIGKILL'));
  const { stdout } = await run.finally(unregister);
  const json = JSON.parse(stdout) as AutocannonJson;
  return {
    requestsPerSecond: json.requests.average,
    p50Ms: json.latency.p50,
    p99Ms: json.latency.p99,
    requests: json.requests.total,
    errors: json.errors + json.timeouts,
    non2xx: json.non2xx,
  };
}

/**
 * `clients` loops, each sending `request(n)` one after another for `seconds`; counts successes
 * per second. A failed request fails the measurement: a fast error is not throughput.
 */
export async function closedLoop(clients: number, seconds: number, request: (n: number) => Promise<void>): Promise<LoadResult> {
  let n = 0;
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (process.hrtime.bigint() < deadline) {
        const i = n++;
        const t0 = process.hrtime.bigint();
        await request(i);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    requestsPerSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    requests: latencies.length,
    errors: 0,
    non2xx: 0,
  };
}
