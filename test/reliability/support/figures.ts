/**
 * Figures the reliability suites measure (requests fuzzed, crashes survived, matrix cells), printed
 * and collected in one JSON file in the temp directory so docs/reliability.md can quote the last run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const FIGURES_FILE = path.join(tmpdir(), 'wharf-reliability-figures.json');

export function recordFigure(name: string, value: number | string): void {
  let all: Record<string, number | string> = {};
  try {
    all = JSON.parse(readFileSync(FIGURES_FILE, 'utf8'));
  } catch {
    // first figure of the run
  }
  all[name] = value;
  writeFileSync(FIGURES_FILE, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`[figure] ${name}: ${value}`);
}
