/**
 * How tests start a Wharf process of their own, the server (`src/main.ts`) or the `wharf` CLI
 * (`src/cli/run.ts`): the compiled build in `dist/` when it is newer than every source file
 * (`npm ci` builds it, so CI always has a fresh one), else the sources through tsx. The compiled
 * build starts in a third of the time tsx needs (about 1 s against 3 s on a loaded two-core
 * machine), which counts in files that run the CLI dozens of times or restart the server; a stale
 * build is never used, so a test always runs the code as it stands.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

let fresh: boolean | undefined;

/** Whether `dist/` holds a build of the sources as they are now. */
export function compiledBuildIsFresh(): boolean {
  if (fresh === undefined) {
    try {
      // The build is incremental: unchanged outputs keep their times, its build info is rewritten.
      statSync('dist/main.js');
      statSync('dist/cli/run.js');
      fresh = statSync('dist/.tsbuildinfo').mtimeMs >= newestMtime('src');
    } catch {
      fresh = false;
    }
  }
  return fresh;
}

/** Arguments to `node` (process.execPath) that run the server or the CLI. */
export function wharfArgs(entry: 'server' | 'cli'): string[] {
  const file = entry === 'server' ? 'main' : 'cli/run';
  return compiledBuildIsFresh() ? [path.resolve(`dist/${file}.js`)] : ['--import', 'tsx', path.resolve(`src/${file}.ts`)];
}

export interface CliResult {
  /** The exit code; null when a signal ended the process. */
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Written to the command's standard input, which is then closed (closed at once without it). */
  input?: string;
}

/** Runs `wharf ARGS…` to its end. */
export function runWharf(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...wharfArgs('cli'), ...args], { env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    // Decoded as a stream: a character split between two chunks stays whole.
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
