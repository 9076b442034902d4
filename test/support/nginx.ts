/**
 * Debian's nginx on a loopback port in front of a plain-HTTP Wharf, configured as the docs
 * recommend (each configuration kept in one place): terminating TLS as docs/tls.md says
 * (`wharfNginxServerBlock`), or sending the asset bytes Wharf hands over with X-Accel-Redirect as
 * docs/deploy.md says (`wharfSendfileServerBlock`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestCa } from './tls.ts';

export interface NginxProxy {
  /** `https://localhost:PORT` (TLS) or `http://127.0.0.1:PORT` */
  base: string;
  port: number;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The `server` block from docs/tls.md, with the listen address, certificate and upstream filled in. */
export function wharfNginxServerBlock(listen: string, cert: string, key: string, upstream: string): string {
  return `
  server {
    listen ${listen} ssl http2;
    server_name _;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};

    # Assets are up to 2 GiB and are streamed to Wharf as they arrive.
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_read_timeout 3600s;
    proxy_send_timeout 3600s;

    location / {
      # No URI part: the request path reaches Wharf exactly as the client sent it (%2F, //).
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`;
}

/**
 * A whole nginx.conf for a throw-away nginx run from `dir` (pid, logs and temporary files all kept
 * there), with `http` as the body of its `http` block. As root, workers also run as root so that
 * they can read what the tests wrote.
 */
export function nginxConfig(dir: string, http: string, workerConnections = 256): string {
  return `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

/**
 * The plain-HTTP `server` block of docs/deploy.md ("Downloads served by nginx"): a streaming proxy
 * to Wharf (started with `WHARF_SENDFILE_HEADER=X-Accel-Redirect`) and the internal location from
 * which nginx sends the blob Wharf names, keeping the headers Wharf chose.
 */
export function wharfSendfileServerBlock(listen: string, upstream: string, blobDir: string): string {
  return `
  server {
    listen ${listen};
    server_name _;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;

    location / {
      proxy_pass ${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }

    location /_wharf/blobs/ {
      internal;
      alias ${blobDir}/;
      sendfile on;
      tcp_nopush on;
      types { }
      default_type application/octet-stream;
      etag off;
      if_modified_since off;
      add_header ETag $upstream_http_etag;
      add_header Last-Modified $upstream_http_last_modified;
      add_header X-Content-Type-Options $upstream_http_x_content_type_options;
      add_header Content-Security-Policy $upstream_http_content_security_policy;
    }
  }`;
}

/** Runs nginx with `http` as the body of its `http` block; `serverBlock` receives the listen address. */
async function runNginx(serverBlock: (listen: string) => string, base: (port: number) => string): Promise<NginxProxy> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(path.join(dir, sub));
  const port = await freePort();
  const conf = nginxConfig(dir, serverBlock(`127.0.0.1:${port}`));
  const confFile = path.join(dir, 'nginx.conf');
  await writeFile(confFile, conf);
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', confFile, '-g', 'daemon off;'], { stdio: 'ignore' });
  await waitForPort(port, child, dir);
  return {
    base: base(port),
    port,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGQUIT');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function startNginx(ca: TestCa, upstreamPort: number): Promise<NginxProxy> {
  return runNginx(
    (listen) => wharfNginxServerBlock(listen, ca.certFile, ca.keyFile, `http://127.0.0.1:${upstreamPort}`),
    (port) => `https://localhost:${port}`,
  );
}

/** nginx on plain HTTP in front of Wharf, sending the blobs Wharf hands over with X-Accel-Redirect. */
export function startNginxSendfile(upstreamPort: number, blobDir: string): Promise<NginxProxy> {
  return runNginx(
    (listen) => wharfSendfileServerBlock(listen, `http://127.0.0.1:${upstreamPort}`, blobDir),
    (port) => `http://127.0.0.1:${port}`,
  );
}

async function waitForPort(port: number, child: ChildProcess, dir: string): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('nginx did not start');
}
