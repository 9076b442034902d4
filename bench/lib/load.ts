/**
 * @module bench/lib/load
 * Closed-loop load for the write scenario: N clients in the bench, each sending its next request
 * when the last one is answered (a write costs the server far more than the client). Read load
 * comes from wrk in its own process (native-clients.ts).
 */
import { percentile } from './stats.ts';

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
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
