/**
 * Processes on this host working in a directory, found in `/proc` by their working directory or
 * an argument naming a path there: whoever started them and whoever their parent is now. A git process Wharf lost track of (a
 * grandchild of the process it started, orphaned to init) still works in its repository.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export interface HostProcess {
  pid: number;
  command: string;
  cwd: string;
}

export function processesIn(dir: string): HostProcess[] {
  const base = path.resolve(dir) + path.sep;
  const found: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (![cwd, ...args].some((arg) => (arg + path.sep).startsWith(base))) continue;
      const command = args.join(' ').trim();
      found.push({ pid: Number(entry), command, cwd });
    } catch {
      // Gone meanwhile, or not ours to look at.
    }
  }
  return found;
}
