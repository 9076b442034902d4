/**
 * Processes on this host working in a directory, found in `/proc` by their working directory or
 * an argument naming a path there: whoever started them and whoever their parent is now. A git process Wharf lost track of (a
 * grandchild of the process it started, orphaned to init) still works in its repository.
 */
import { execFileSync } from 'node:child_process';
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

/**
 * Whether `command` is one of the resident git processes (`src/git/resident-git.ts`): one
 * `cat-file --batch-command` and one `update-ref --stdin` per repository in use, bounded and ended
 * when idle. They serve release creation, not the request a test is about, so tests that check
 * an attack left no git process behind leave them out.
 */
export function isResidentGit(command: string): boolean {
  return /\bgit\b.* (?:cat-file --batch-command|update-ref --stdin)$/.test(command.trim());
}

/** The processes working in `dir` (see `processesIn`) other than resident git processes. */
export function workingProcessesIn(dir: string): HostProcess[] {
  return processesIn(dir).filter((p) => !isResidentGit(p.command));
}

/** How many git processes this process started (its direct children) are running, resident ones left out. */
export function workingChildGits(): number {
  const out = execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((args) => /^\S*git\b/.test(args.trim()) && !isResidentGit(args)).length;
}
