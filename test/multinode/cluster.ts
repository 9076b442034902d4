/**
 * Several real Wharf processes (`node --import tsx src/main.ts`) sharing one PostgreSQL database,
 * one bucket and one data directory (the repositories), behind an nginx from Debian that
 * balances between them: the multi-node set-up of docs/deploy.md, on loopback ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, testDatabaseServer, type TestDatabase } from '../support/database.ts';
import { createTestBucket, S3_TEST_CREDENTIALS, type TestBucket } from '../support/s3.ts';
import { freePort, nginxConfig } from '../support/nginx.ts';
import { ADMIN_TOKEN, type TestServer } from '../support/server.ts';
import { NGINX, needs, TOOLS } from '../support/tools.ts';

/** The multi-node set-up needs a shared database (the PostgreSQL run) and a load balancer. */
export const clusterAvailable = Boolean(testDatabaseServer) && needs(TOOLS.nginx);

export interface Node {
  /** `http://127.0.0.1:PORT` of this node, bypassing the balancer. */
  base: string;
  api: string;
  uploads: string;
  port: number;
  process: ChildProcess | null;
  /** Stops the node abruptly, as a crash or power cut would. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface Cluster {
  /** The balancer, shaped like a TestServer so fixtures can drive it. */
  lb: TestServer;
  nodes: Node[];
  dataDir: string;
  close(): Promise<void>;
}

async function waitUntilServing(base: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}: ${await readFile(logFile, 'utf8').catch(() => '')}`);
    try {
      const res = await fetch(`${base}/api/v3/`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`node at ${base} did not start: ${await readFile(logFile, 'utf8').catch(() => '')}`);
}

export interface ClusterOptions {
  nodes?: number;
  env?: Record<string, string>;
  /** `embedded`: SQLite and files in the data directory (one node only; for benchmarks). */
  store?: 'shared' | 'embedded';
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-cluster-'));
  const embedded = options.store === 'embedded';
  if (embedded && (options.nodes ?? 2) !== 1) throw new Error('the embedded store serves one node');
  const database: TestDatabase | null = embedded ? null : await createTestDatabase();
  const bucket: TestBucket | null = embedded ? null : await createTestBucket();
  const lbPort = await freePort();
  const lbBase = `http://127.0.0.1:${lbPort}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    WHARF_DATA_DIR: dataDir,
    ...(database ? { WHARF_DATABASE_URL: database.url } : {}),
    ...(bucket?.env ?? {}),
    AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    WHARF_HOST: '127.0.0.1',
    WHARF_EXTERNAL_URL: lbBase,
    WHARF_TRUST_PROXY: 'true',
    WHARF_ADMIN_TOKEN: ADMIN_TOKEN,
    WHARF_RATE_LIMIT: 'false',
    WHARF_LOG_LEVEL: 'warn',
    WHARF_SHUTDOWN_GRACE_MS: '2000',
    ...options.env,
  };

  const nodes: Node[] = [];
  for (let i = 0; i < (options.nodes ?? 2); i++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const logFile = path.join(dataDir, `node-${i}.log`);
    const node: Node = {
      base,
      api: `${base}/api/v3`,
      uploads: `${base}/api/uploads`,
      port,
      process: null,
      async start() {
        const { openSync } = await import('node:fs');
        const log = openSync(logFile, 'a');
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
          env: { ...env, WHARF_PORT: String(port) },
          stdio: ['ignore', log, log],
        });
        node.process = child;
        await waitUntilServing(base, child, logFile);
      },
      async kill() {
        const child = node.process;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        node.process = null;
      },
    };
    nodes.push(node);
  }
  // Started together on an empty database: the migrations and the bootstrap administrator must
  // come out right when every node attempts them at once.
  await Promise.all(nodes.map((node) => node.start()));

  const nginxDir = path.join(dataDir, 'nginx');
  await rm(nginxDir, { recursive: true, force: true });
  await mkdir(nginxDir, { recursive: true });
  const conf = nginxConfig(
    nginxDir,
    `  upstream wharf {
${nodes.map((n) => `    server 127.0.0.1:${n.port} max_fails=1 fail_timeout=5s;`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${lbPort};
    client_max_body_size 0;
    location / {
      proxy_pass http://wharf;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # Stream uploads and downloads instead of spooling them to disk.
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_next_upstream error timeout;
    }
  }`,
    512,
  );
  await writeFile(path.join(nginxDir, 'nginx.conf'), conf);
  const nginx = spawn(NGINX, ['-p', nginxDir, '-e', path.join(nginxDir, 'error.log'), '-c', path.join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let nginxErr = '';
  nginx.stderr?.on('data', (d: Buffer) => (nginxErr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited: ${nginxErr}`);
    const ok = await fetch(`${lbBase}/api/v3/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${nginxErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    lb: { base: lbBase, api: `${lbBase}/api/v3`, uploads: `${lbBase}/api/uploads`, dataDir } as TestServer,
    nodes,
    dataDir,
    async close() {
      const nginxExit = new Promise((r) => (nginx.exitCode !== null ? r(null) : nginx.once('exit', r)));
      nginx.kill('SIGQUIT');
      await nginxExit;
      for (const node of nodes) await node.kill();
      await database?.drop();
      await bucket?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
