/**
 * @module bench/lib/rss
 * Resident memory of a process from /proc/<pid>/status. The kernel keeps the peak (VmHWM) and
 * lets the owner reset it (writing 5 to clear_refs), which measures the peak of one scenario
 * exactly, without sampling gaps.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface Rss {
  currentMiB: number;
  peakMiB: number;
}

function kib(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

export function readRss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { currentMiB: kib(status, 'VmRSS') / 1024, peakMiB: kib(status, 'VmHWM') / 1024 };
}

/** Starts a new peak window; falls back to sampling when the kernel refuses the reset. */
export class PeakRss {
  #pids: number[];
  #sampled = 0;
  #timer: NodeJS.Timeout | null = null;
  #resetWorked = true;

  constructor(pids: number[]) {
    this.#pids = pids;
    for (const pid of pids) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        this.#resetWorked = false;
      }
    }
    this.#timer = setInterval(() => this.#sample(), 100);
    this.#timer.unref();
  }

  #sample(): void {
    try {
      const total = this.#pids.reduce((sum, pid) => sum + readRss(pid).currentMiB, 0);
      this.#sampled = Math.max(this.#sampled, total);
    } catch {
      // The process may have exited between samples.
    }
  }

  /** Peak RSS (MiB, summed over the pids) since construction. */
  stop(): number {
    if (this.#timer) clearInterval(this.#timer);
    this.#sample();
    if (!this.#resetWorked) return this.#sampled;
    try {
      return Math.max(
        this.#sampled,
        this.#pids.reduce((sum, pid) => sum + readRss(pid).peakMiB, 0),
      );
    } catch {
      return this.#sampled;
    }
  }
}
