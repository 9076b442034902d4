/**
 * @module bench/lib/context
 * What every scenario receives: the profile, the run's work directory, where nginx is, and
 * where to put its records (memory figures are gathered into their own section of the table).
 */
import type { Profile } from './options.ts';
import { makeRecord, type BenchRecord, type RecordInput } from './report.ts';
import type { WorkDir } from './workdir.ts';

export class BenchContext {
  readonly records: BenchRecord[] = [];
  readonly memoryRecords: BenchRecord[] = [];

  constructor(
    readonly profile: Profile,
    readonly work: WorkDir,
    readonly nginxBinary: string | null,
  ) {}

  record(input: RecordInput): void {
    const r = makeRecord(input);
    this.records.push(r);
    this.log(`  ${r.name}: ${r.wharf ?? r.note ?? '—'}${r.unit ? ` ${r.unit}` : ''}${r.baseline !== null ? ` vs ${r.baseline} ${r.unit} (${r.baselineName})` : ''}${r.ratio !== null ? ` = ${r.ratio}×` : ''}`);
  }

  memory(input: Omit<RecordInput, 'scenario'>): void {
    const r = makeRecord({ ...input, scenario: 'memory' });
    this.memoryRecords.push(r);
    this.log(`  ${r.name}: ${r.wharf} ${r.unit}${r.baseline !== null ? ` vs ${r.baseline} (${r.baselineName})` : ''}`);
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
