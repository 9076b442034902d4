/**
 * A real Wharf process (`node --import tsx src/main.ts`) on a given data directory and port, so
 * that tests can `kill -9` it and start another one on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ADMIN_TOKEN } from '../../support/server.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  base: string;
  api: string;
  uploads: string;
  child: ChildProcess;
  /** SIGKILL, and wait until the process is gone. */
  kill9(): Promise<void>;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * `dist/main.js` when the compiled build is newer than every source file (`npm ci` builds it, so
 * CI always has a fresh one), else null. It starts in about half the time tsx needs, which
 * counts for tests that restart the server many times; a stale build is never used.
 */
export function freshCompiledEntry(): string | null {
  try {
    // The build is incremental: unchanged outputs keep their times, its build info is rewritten.
    statSync('dist/main.js');
    return statSync('dist/.tsbuildinfo').mtimeMs >= newestMtime('src') ? 'dist/main.js' : null;
  } catch {
    return null;
  }
}

export interface StartOptions {
  /** Run the compiled build when it is fresh (see `freshCompiledEntry`). */
  preferCompiled?: boolean;
}

export async function startServerProcess(dataDir: string, port: number, env: Record<string, string> = {}, options: StartOptions = {}): Promise<ServerProcess> {
  const compiled = options.preferCompiled ? freshCompiledEntry() : null;
  const child = spawn(process.execPath, compiled ? [compiled] : ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      WHARF_DATA_DIR: dataDir,
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: String(port),
      WHARF_ADMIN_TOKEN: ADMIN_TOKEN,
      WHARF_RATE_LIMIT: 'false',
      WHARF_LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  // Start-up under tsx took over 60 s at load 22 on two cores (the whole suite's workers and git
  // processes share them); a start-up that never comes is still caught, just later.
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wharf exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${base}/api/v3/meta`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`wharf did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    api: `${base}/api/v3`,
    uploads: `${base}/api/uploads`,
    child,
    async kill9() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
