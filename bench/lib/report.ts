/**
 * @module bench/lib/report
 * Results: one record per measurement (Wharf's figure, the baseline's figure from the same run,
 * their ratio, the unit and the target), printed as one table and written as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clientCheckLine, type ClientCheck } from './context.ts';
import type { Machine } from './machine.ts';
import { machineLine } from './machine.ts';
import { round } from './stats.ts';

/** A target applies either to the ratio Wharf ÷ baseline or to Wharf's own figure. */
export interface Target {
  on: 'ratio' | 'wharf';
  op: '>=' | '<=';
  value: number;
}

export interface BenchRecord {
  scenario: string;
  name: string;
  unit: string;
  wharf: number | null;
  baselineName: string | null;
  baseline: number | null;
  /** Wharf ÷ baseline. */
  ratio: number | null;
  target: Target | null;
  /** Whether the target is met; null without a target or a figure. */
  met: boolean | null;
  note?: string;
}

export interface RecordInput {
  scenario: string;
  name: string;
  unit: string;
  wharf: number | null;
  baselineName?: string | null;
  baseline?: number | null;
  target?: Target | null;
  note?: string;
}

export function makeRecord(input: RecordInput): BenchRecord {
  const baseline = input.baseline ?? null;
  const ratio = input.wharf !== null && baseline !== null && baseline !== 0 ? input.wharf / baseline : null;
  const target = input.target ?? null;
  let met: boolean | null = null;
  if (target) {
    const subject = target.on === 'ratio' ? ratio : input.wharf;
    if (subject !== null && Number.isFinite(subject)) met = target.op === '>=' ? subject >= target.value : subject <= target.value;
  }
  return {
    scenario: input.scenario,
    name: input.name,
    unit: input.unit,
    wharf: input.wharf === null ? null : round(input.wharf, 2),
    baselineName: input.baselineName ?? null,
    baseline: baseline === null ? null : round(baseline, 2),
    ratio: ratio === null ? null : round(ratio, 3),
    target,
    met,
    ...(input.note ? { note: input.note } : {}),
  };
}

export function targetText(t: Target | null): string {
  if (!t) return '';
  const op = t.op === '>=' ? '≥' : '≤';
  return t.on === 'ratio' ? `${op} ${t.value}×` : `${op} ${t.value}`;
}

function figure(value: number | null): string {
  if (value === null) return '—';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(round(value, 2));
}

function cells(r: BenchRecord): string[] {
  const unit = r.unit ? ` ${r.unit}` : '';
  return [
    r.name,
    r.wharf === null ? (r.note ? 'not run' : '—') : `${figure(r.wharf)}${unit}`,
    r.baseline === null ? (r.baselineName ?? '—') : `${figure(r.baseline)}${unit} (${r.baselineName})`,
    r.ratio === null ? '—' : `${round(r.ratio, 2)}×`,
    targetText(r.target),
    r.met === null ? '' : r.met ? 'yes' : 'MISSED',
  ];
}

const HEADER = ['Measurement', 'Wharf', 'Baseline (same run)', 'Ratio', 'Target', 'Met'];

/** A plain-text table for the terminal. */
export function textTable(records: BenchRecord[]): string {
  const rows = [HEADER, ...records.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  let scenario = '';
  records.forEach((r, i) => {
    if (r.scenario !== scenario && i > 0) out.push('');
    scenario = r.scenario;
    out.push(line(rows[i + 1]!));
    if (r.note) out.push(`    ${r.note}`);
  });
  return out.join('\n');
}

/** The same table in Markdown, for README's Performance section. */
export function markdownTable(records: BenchRecord[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const r of records) {
    const c = cells(r).map(esc);
    if (r.note) c[0] = `${c[0]} <br><sub>${esc(r.note)}</sub>`;
    out.push(`| ${c.join(' | ')} |`);
  }
  return out.join('\n');
}

export interface RunResult {
  profile: string;
  command: string;
  startedAt: string;
  durationSeconds: number;
  machine: Machine;
  machineDescription: string;
  records: BenchRecord[];
  clientChecks: ClientCheck[];
}

export function writeResults(file: string, result: Omit<RunResult, 'machineDescription'>): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const full: RunResult = { ...result, machineDescription: machineLine(result.machine) };
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  const checks = result.clientChecks.map((c) => `- ${clientCheckLine(c)}`).join('\n');
  writeFileSync(file.replace(/\.json$/, '.md'), `${markdownTable(result.records)}\n${checks ? `\nClient ceilings:\n\n${checks}\n` : ''}`);
}
