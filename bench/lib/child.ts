/**
 * @module bench/lib/child
 * Child processes of the bench (Wharf, nginx, the baselines, autocannon): spawned with their
 * output in a log file, stopped by pid when the bench is done with them or exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { onCleanup } from './cleanup.ts';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  logFile: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  log(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
}

export function startChild(name: string, command: string, args: string[], options: SpawnOptions): Child {
  const fd = openSync(options.logFile, 'a');
  const proc = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`cannot start ${name} (${command})`);
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => resolve(code));
    proc.once('error', () => resolve(-1));
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const unregister = onCleanup(stop);
  return {
    name,
    pid: proc.pid,
    proc,
    logFile: options.logFile,
    exited,
    log: () => {
      try {
        return readFileSync(options.logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop,
  };
}

/** Polls `probe` until it returns a value, failing early if the child exits. */
export async function waitFor<T>(child: Child, what: string, probe: () => Promise<T | null> | T | null, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    if (exitCode !== undefined) throw new Error(`${child.name} exited (${exitCode}) before ${what}:\n${child.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${child.name}: timed out waiting for ${what}:\n${child.log().slice(-2000)}`);
}

/** Reads `{"port": N}` (the baselines' ready line) from a child's log. */
export function portFromLog(child: Child): number | null {
  const m = /"port":\s*(\d+)/.exec(child.log());
  return m ? Number(m[1]) : null;
}
