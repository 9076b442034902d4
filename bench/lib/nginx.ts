/**
 * @module bench/lib/nginx
 * The download baseline: Debian's nginx, started by the bench on a loopback port with a
 * throw-away configuration (sendfile on, no access to system paths): a directory served directly,
 * or Wharf behind it as the reverse proxy of a production set-up.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { startChild, waitFor, type Child } from './child.ts';
import type { WorkDir } from './workdir.ts';

export const NGINX_INSTALL_HINT = "install Debian's nginx (apt-get install nginx-light) or put nginx on PATH";

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
  /** `http://127.0.0.1:PORT` of each server block, in the order given. */
  bases: string[];
  /** The first server block's base. */
  base: string;
  /** Master and workers, for memory figures. */
  pids(): number[];
  stop(): Promise<void>;
}

/** A server block serving the files of `root` with sendfile (the download baseline). */
export function staticServer(root: string): (listen: string) => string {
  return (listen) => `
  server {
    listen ${listen};
    root ${root};
  }`;
}

/**
 * nginx in front of Wharf at `upstream` (host:port), configured as docs/deploy.md says: a plain
 * streaming proxy, plus, when `blobDir` is given, the internal location that serves the files
 * Wharf names in `X-Accel-Redirect` (Wharf started with `WHARF_SENDFILE_HEADER=X-Accel-Redirect`).
 */
export function wharfProxyServer(upstream: string, blobDir: string | null): (listen: string) => string {
  return (listen) => `
  server {
    listen ${listen};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }${
      blobDir
        ? `
    location /_wharf/blobs/ {
      internal;
      alias ${blobDir}/;
      types { }
      default_type application/octet-stream;
      etag off;
      if_modified_since off;
      add_header ETag $upstream_http_etag;
      add_header Last-Modified $upstream_http_last_modified;
      add_header X-Content-Type-Options $upstream_http_x_content_type_options;
      add_header Content-Security-Policy $upstream_http_content_security_policy;
    }`
        : ''
    }
  }`;
}

/**
 * Starts nginx with one server block per entry of `servers`, each on its own loopback port
 * (`servers[i]` receives the `listen` address and returns the block).
 */
export async function startNginx(binary: string, work: WorkDir, servers: ((listen: string) => string)[]): Promise<NginxServer> {
  const dir = work.dir(`nginx-${Date.now()}`);
  const ports: number[] = [];
  for (let i = 0; i < servers.length; i++) ports.push(await freePort());
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
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 5s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
${servers.map((server, i) => server(`127.0.0.1:${ports[i]}`)).join('\n')}
}
`,
  );
  const child = startChild('nginx', binary, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { logFile: path.join(dir, 'stdout.log') });
  const bases = ports.map((port) => `http://127.0.0.1:${port}`);
  await waitFor(child, 'listening', async () => {
    try {
      const res = await fetch(`${bases[0]}/`, { method: 'HEAD' });
      await res.arrayBuffer();
      return true;
    } catch {
      return null;
    }
  });
  return { child, bases, base: bases[0]!, pids: () => [child.pid, ...childPids(child.pid)], stop: () => child.stop() };
}
