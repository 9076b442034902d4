/**
 * @module bench/lib/context
 * What every scenario receives: the profile, the run's work directory, where nginx is, and
 * where to put its records (memory figures are gathered into their own section of the table).
 */
import type { Profile } from './options.ts';
import { makeRecord, type BenchRecord, type RecordInput } from './report.ts';
import type { WorkDir } from './workdir.ts';

/**
 * Evidence that a figure was set by the server, not by the load generator: the same client
 * against a server that is faster at the job (nginx from the page cache) reached `ceiling`,
 * `headroom` times what was `measured`, using `clientCores` of CPU while doing it.
 */
export interface ClientCheck {
  what: string;
  client: string;
  unit: string;
  ceiling: number;
  /** What answered at the ceiling; nginx unless said. */
  ceilingFrom?: string;
  measured: number;
  /** ceiling ÷ measured; below HEADROOM_NEEDED the measurement may be client-bound. */
  headroom: number;
  /** CPU the client used at the ceiling, in cores (the busiest process for one-process-per-stream clients). */
  clientCores: number;
  /** Cores the client can use at most (its threads); near that, the client may be the limit. */
  clientCoreLimit: number;
  ok: boolean;
}

/** How far above a measurement the client's ceiling must be for the figure to count as server-bound. */
export const HEADROOM_NEEDED = 1.25;
/** A client using this share of the cores it can use, or more, may itself be the limit. */
export const CLIENT_BUSY_SHARE = 0.9;
/** A client using less than this share of the cores it can use was mostly waiting for the server. */
export const IDLE_SHARE = 0.5;

export class BenchContext {
  readonly records: BenchRecord[] = [];
  readonly memoryRecords: BenchRecord[] = [];
  readonly checks: ClientCheck[] = [];

  constructor(
    readonly profile: Profile,
    readonly work: WorkDir,
    readonly nginxBinary: string | null,
    /** PostgreSQL server for the scenarios that also run there (`--postgres`), or null. */
    readonly postgres: string | null = null,
  ) {}

  record(input: RecordInput): void {
    const r = makeRecord(input);
    this.records.push(r);
    this.log(
      `  ${r.name}: ${r.wharf ?? r.note ?? '—'}${r.unit ? ` ${r.unit}` : ''}${r.baseline !== null ? ` vs ${r.baseline} ${r.unit} (${r.baselineName})` : ''}${r.ratio !== null ? ` = ${r.ratio}×` : ''}`,
    );
  }

  memory(input: Omit<RecordInput, 'scenario'>): void {
    const r = makeRecord({ ...input, scenario: 'memory' });
    this.memoryRecords.push(r);
    this.log(`  ${r.name}: ${r.wharf} ${r.unit}${r.baseline !== null ? ` vs ${r.baseline} (${r.baselineName})` : ''}`);
  }

  /** Records that `measured` (and everything below it) is not capped by the client. */
  clientCheck(input: Omit<ClientCheck, 'headroom' | 'ok'>): void {
    const headroom = input.ceiling / input.measured;
    // Either the same client went well past the figure elsewhere, or it sat mostly idle waiting
    // for the server (on a machine shared with other work, a fast server can be held near the
    // figure by the machine itself; the client's own CPU then shows who was waiting for whom).
    const ok = input.clientCores < CLIENT_BUSY_SHARE * input.clientCoreLimit && (headroom >= HEADROOM_NEEDED || input.clientCores < IDLE_SHARE * input.clientCoreLimit);
    const check: ClientCheck = { ...input, headroom, ok };
    this.checks.push(check);
    this.log(`  ${clientCheckLine(check)}`);
  }

  log(message: string): void {
    process.stderr.write(`${message}\n`);
  }
}

export function sizeLabel(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0 ? `${bytes / (1024 * MiB)} GiB` : `${Math.round(bytes / MiB)} MiB`;
}

/** The memory target from the issue: peak RSS under 200 MiB whatever the asset size. */
export const MEMORY_TARGET = { on: 'wharf', op: '<=', value: 200 } as const;
/** Peak RSS moving a large asset over a small one; proportional growth would be the size ratio. */
export const FLAT_MEMORY_TARGET = { on: 'ratio', op: '<=', value: 1.25 } as const;

export function clientCheckLine(c: ClientCheck): string {
  const fig = (n: number) => (n >= 100 ? String(Math.round(n)) : n.toFixed(2));
  const busy = c.clientCores / c.clientCoreLimit;
  const verdict = !c.ok
    ? c.headroom < HEADROOM_NEEDED
      ? `CLIENT-BOUND? the ceiling is under ${HEADROOM_NEEDED}× the figure and the client was busy ${Math.round(busy * 100)}% of the time`
      : `CLIENT-BOUND? the client was busy ${Math.round(busy * 100)}% of the time`
    : c.headroom >= HEADROOM_NEEDED
      ? 'the client is not the limit'
      : `the client is not the limit (idle ${Math.round((1 - busy) * 100)}% of the time: the server, or the shared machine, set the pace)`;
  return `${c.what}: ${c.client} reached ${fig(c.ceiling)} ${c.unit} from ${c.ceilingFrom ?? 'nginx'}, ${c.headroom.toFixed(2)}× the fastest figure measured with it (${fig(c.measured)} ${c.unit}), using ${c.clientCores.toFixed(2)} of ${c.clientCoreLimit} core(s): ${verdict}`;
}
