/**
 * Pieces the fuzzing suites share: hostile path segments and numbers, percent-encoding of any
 * string, and a runner that sends generated requests with bounded concurrency while measuring
 * memory and open descriptors after a warm-up.
 */
import { readdirSync } from 'node:fs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { runLimited } from './limit.ts';

/** Seed of this run: `WHARF_FUZZ_SEED` replays one (a failing run prints its seed). */
export const FUZZ_SEED = Number(process.env.WHARF_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** Percent-encodes any string, lone surrogates included (as their UTF-8 replacement). */
export function encodeAny(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}

export const NASTY_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%00',
  '%FF%FE',
  '%C0%AF',
  '%E2%80%AE',
  '-',
  '--help',
  '~',
  '%20',
  '%0d%0a',
  'a'.repeat(5000),
  '%F0%9F%98%80',
  'null',
  'undefined',
  '[]',
  '%7B%7D',
  '__proto__',
  'constructor',
  'HEAD',
  'refs%2Fheads%2Fmain',
];
export const NUMBERS = ['0', '-1', '1', '00001', '1.5', '1e3', '1e400', 'NaN', 'Infinity', '9007199254740991', '9007199254740993', '99999999999999999999999', '0x10', '%201', '+1'];

/** An already percent-encoded path segment that is anything but a valid name. */
export const weirdSegment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_SEGMENTS, ...NUMBERS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(encodeAny) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map(encodeAny) },
);

/** Printable ASCII only (what a header value may hold). */
export const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });

/** Memory after a full collection (the `gc` function is exposed at run time for this), and descriptors. */
function measure(): { rss: number; heap: number; fds: number } {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed, fds: openDescriptors() };
}

export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/**
 * Gives a generated request's path and header values their final, flat form now. Strings built by
 * concatenation or `repeat` are flattened by V8 the first time they are sent, which would count
 * every request sent after the baseline as heap growth (about 1 KB each, 11 MB for the padding
 * headers alone in 24,000 requests) and hide a real leak in the noise or fake one.
 */
export function materialize<T extends { path: string; headers: Record<string, string> }>(request: T): T {
  return { ...request, path: JSON.parse(JSON.stringify(request.path)), headers: JSON.parse(JSON.stringify(request.headers)) };
}

export interface FuzzRunResult {
  /** The first failures (at most 20), each describing its request. */
  failures: string[];
  seconds: number;
  /** RSS growth (MiB) and descriptor growth between the end of the warm-up and the end. */
  rssGrowthMiB: number;
  /**
   * Growth of the JavaScript heap still reachable after a full garbage collection: what a leak
   * grows. RSS also holds memory the allocator keeps after large transient bodies (it plateaus
   * once the heaviest requests have all been seen, whatever the count).
   */
  heapGrowthMiB: number;
  fdGrowth: number;
  /** Process warnings raised during the run (a listener added per request shows up here first). */
  warnings: string[];
}

/**
 * Runs `send` over every generated item, `concurrency` at a time; `send` returns a failure or
 * null. Memory and descriptors are measured once the first `warmup` items have been answered
 * (caches, pools and JIT warm) and again at the end, each time after a full garbage collection.
 */
export async function runFuzz<T>(items: T[], send: (item: T) => Promise<string | null>, options: { concurrency: number; warmup: number }): Promise<FuzzRunResult> {
  const failures: string[] = [];
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const started = Date.now();
  let baseline = { rss: 0, heap: 0, fds: 0 };
  const chunks = [items.slice(0, options.warmup), items.slice(options.warmup)];
  try {
    for (const [i, chunk] of chunks.entries()) {
      const results = await runLimited(
        chunk.map((item) => () => send(item)),
        options.concurrency,
      );
      for (const f of results) if (f && failures.length < 20) failures.push(f);
      if (i === 0) baseline = measure();
    }
  } finally {
    process.off('warning', onWarning);
  }
  const seconds = (Date.now() - started) / 1000;
  const end = measure();
  return {
    failures,
    seconds,
    rssGrowthMiB: (end.rss - baseline.rss) / 2 ** 20,
    heapGrowthMiB: (end.heap - baseline.heap) / 2 ** 20,
    fdGrowth: end.fds - baseline.fds,
    warnings,
  };
}

/**
 * A 5xx that is a fault. A `503` with `Retry-After` is load shed on purpose (a request that waited
 * its queue timeout for a git slot on a loaded machine): an answer, not a failure.
 */
export function serverFault(status: number, headers: Record<string, unknown>): boolean {
  return status >= 500 && !(status === 503 && headers['retry-after'] !== undefined);
}
