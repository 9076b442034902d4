/**
 * A real Wharf process (the compiled build when fresh, else the sources through tsx: see
 * `wharf-command.ts`) on a given data directory and port, so that tests can `kill -9` it and start
 * another one on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { ADMIN_TOKEN } from '../../support/server.ts';
import { wharfArgs } from '../../support/wharf-command.ts';

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

export async function startServerProcess(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, wharfArgs('server'), {
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
