/**
 * @module bench/lib/nginx
 * The download baseline: Debian's nginx, started by the bench on a loopback port with a
 * throw-away configuration (sendfile on, no access to system paths), serving one directory.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { startChild, waitFor, type Child } from './child.ts';
import type { WorkDir } from './workdir.ts';

export const NGINX_INSTALL_HINT = 'install Debian\'s nginx (apt-get install nginx-light) or put nginx on PATH';

export function findNginx(): string | null {
  const candidates = ['/usr/sbin/nginx', ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'nginx'))];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Pids whose parent is `pid` (nginx's workers). */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (after the parenthesised command, which may contain spaces) is the parent pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      // Processes come and go while we look.
    }
  }
  return pids;
}

export interface NginxServer {
  child: Child;
  base: string;
  /** Master and workers, for memory figures. */
  pids(): number[];
  stop(): Promise<void>;
}

export async function startNginx(binary: string, work: WorkDir, root: string): Promise<NginxServer> {
  const dir = work.dir('nginx');
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  // As root, workers would otherwise switch to an account that cannot read the temp directory.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    conf,
    `${user}
daemon off;
master_process on;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 5s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const child = startChild('nginx', binary, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { logFile: path.join(dir, 'stdout.log') });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(child, 'listening', async () => {
    try {
      const res = await fetch(`${base}/`, { method: 'HEAD' });
      await res.arrayBuffer();
      return true;
    } catch {
      return null;
    }
  });
  return { child, base, pids: () => [child.pid, ...childPids(child.pid)], stop: () => child.stop() };
}
