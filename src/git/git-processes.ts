/**
 * @module git/git-processes
 * Starting and stopping git processes so that none outlives what it works for.
 *
 * `git <command>` is often more than one process: `git http-backend` is the `git` wrapper, which
 * runs `git-http-backend`, which runs `git receive-pack` or `git upload-pack`; `git archive` may
 * run a compressor. Killing the process Node started kills the wrapper alone and leaves the rest
 * running, holding the output pipes open (so the child's `close` never comes) and, once their
 * input closes early, spinning: `git-http-backend` copying a fixed-length body loops forever on
 * end of input. So every git process starts as the leader of its own process group and is
 * stopped by killing the group.
 *
 * Groups still running are also killed when their server closes (`killGitUnder`, by the
 * directory they work in) and when this process exits.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

interface Running {
  child: ChildProcess;
  /** The repository (or repository root) the process works in; null for commands on no repository. */
  root: string | null;
}

const running = new Set<Running>();

/**
 * Kills `child`'s whole process group (it and everything it started). Does nothing once it has
 * exited (its group was killed then, and its process id may since belong to someone else).
 */
export function killGitGroup(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) killGroup(child);
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already.
  }
}

/**
 * Starts git as the leader of a new process group. `root` is the directory it works in, for
 * `killGitUnder`. When the leader exits, anything it left behind in its group is killed.
 */
export function startGitProcess(args: string[], env: NodeJS.ProcessEnv, root: string | null): ChildProcessWithoutNullStreams {
  // `detached` makes the child a group leader (setsid): `kill(-pid)` then reaches its descendants.
  const child = spawn('git', args, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const entry: Running = { child, root: root === null ? null : path.resolve(root) };
  running.add(entry);
  const forget = () => running.delete(entry);
  child.once('exit', () => {
    // A leader killed mid-work (or one that exits before its children) leaves descendants that
    // would keep the pipes open; a leader that finished normally has waited for them already.
    killGroup(child);
    forget();
  });
  child.once('error', forget);
  return child;
}

/** Kills every git process still running in `dir` or below it (a server's repositories, at close). */
export function killGitUnder(dir: string): number {
  const base = path.resolve(dir) + path.sep;
  let killed = 0;
  for (const entry of running) {
    if (entry.root !== null && (entry.root + path.sep).startsWith(base)) {
      killGitGroup(entry.child);
      killed++;
    }
  }
  return killed;
}

// Groups do not receive the signals of this process's own group: when it exits, so do they.
process.on('exit', () => {
  for (const entry of running) killGitGroup(entry.child);
});
