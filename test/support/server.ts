/**
 * Starts a real Wharf on a loopback port with a throw-away data directory, for one test file.
 * With `WHARF_TLS_CERT`/`WHARF_TLS_KEY` in `env` it serves HTTPS and `base` is an https URL.
 * The store follows the environment, so one suite runs on either stack:
 * - `WHARF_TEST_DATABASE_URL=postgres://…`: a fresh PostgreSQL database per server (dropped on close);
 * - `WHARF_TEST_BLOB_STORE=s3`: a fresh bucket per server on an S3-compatible server (see s3.ts).
 * Without them: SQLite and files in the data directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { buildApp, type Wharf } from '../../src/app.ts';
import { loadConfig, type WharfConfig } from '../../src/config/config.ts';
import { createTestDatabase, testDatabaseServer, type TestDatabase } from './database.ts';
import { createTestBucket, S3_TEST_CREDENTIALS, type TestBucket } from './s3.ts';

export const ADMIN_TOKEN = 'wharf_test_admin_token_0123456789abcdef';

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  base: string;
  /** `{base}/api/v3` */
  api: string;
  uploads: string;
  dataDir: string;
  wharf: Wharf;
  config: WharfConfig;
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  config?: Partial<WharfConfig>;
  /** Keep the data directory after close (for restart tests). */
  dataDir?: string;
  /** Host name used in `base` (the certificate must name it when TLS is on). */
  hostName?: string;
  /** Where the server logs (default: silent, or the level in WHARF_TEST_LOG). */
  logger?: Logger;
}

export const testBlobStore = process.env.WHARF_TEST_BLOB_STORE === 's3' ? 's3' : 'fs';

/** Database and bucket of a test server; kept with its data directory for restart tests. */
const externalStores = new Map<string, { database: TestDatabase | null; bucket: TestBucket | null }>();

async function storesFor(dataDir: string): Promise<{ database: TestDatabase | null; bucket: TestBucket | null }> {
  let stores = externalStores.get(dataDir);
  if (!stores) {
    stores = {
      database: testDatabaseServer ? await createTestDatabase() : null,
      bucket: testBlobStore === 's3' ? await createTestBucket() : null,
    };
    externalStores.set(dataDir, stores);
  }
  return stores;
}

/**
 * The WHARF_* variables selecting the database and bucket that servers on `dataDir` use, for
 * other processes (the CLI, a second node) that must see the same data.
 */
export async function storeEnv(dataDir: string): Promise<Record<string, string>> {
  const stores = await storesFor(dataDir);
  return {
    WHARF_DATA_DIR: dataDir,
    ...(stores.database ? { WHARF_DATABASE_URL: stores.database.url } : {}),
    ...(stores.bucket ? { ...stores.bucket.env, AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey } : {}),
  };
}

/** Drops the database and bucket a data directory's servers used (after its last close). */
export async function releaseStores(dataDir: string): Promise<void> {
  const stores = externalStores.get(dataDir);
  externalStores.delete(dataDir);
  await stores?.database?.drop();
  await stores?.bucket?.close();
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'wharf-test-')));
  const stores = await storesFor(dataDir);
  if (stores.bucket) {
    // Wharf takes S3 credentials from the SDK's default chain, as in production.
    process.env.AWS_ACCESS_KEY_ID ??= S3_TEST_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= S3_TEST_CREDENTIALS.secretAccessKey;
  }
  const config = loadConfig(
    {
      WHARF_DATA_DIR: dataDir,
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: '0',
      WHARF_ADMIN_TOKEN: ADMIN_TOKEN,
      WHARF_RATE_LIMIT: 'false',
      // Shedding by event-loop stretch depends on how loaded the machine running the tests is;
      // only the tests about shedding turn it on (test/reliability/admission.test.ts).
      WHARF_MAX_EVENT_LOOP_DELAY_MS: '0',
      // So does shedding by time waited for a place or a git slot: on a machine running many test
      // files at once, a page's git commands can wait past the 2 and 5 s defaults. The tests about
      // shedding set their own (admission.test.ts, git-budgets.test.ts).
      WHARF_REQUEST_QUEUE_TIMEOUT_MS: '60000',
      WHARF_GIT_QUEUE_TIMEOUT_MS: '60000',
      ...(stores.database ? { WHARF_DATABASE_URL: stores.database.url } : {}),
      // The API suites assert on bytes Wharf itself serves (Range, ETag, download counting);
      // presigned redirects have their own suite (s3-downloads.test.ts).
      ...(stores.bucket ? { ...stores.bucket.env, WHARF_S3_PROXY_DOWNLOADS: 'true' } : {}),
      ...options.env,
    },
    options.config,
  );
  const wharf = await buildApp(config, { logger: options.logger ?? pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }) });
  await wharf.app.listen({ host: '127.0.0.1', port: 0 });
  const address = wharf.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const scheme = config.tls ? 'https' : 'http';
  const base = `${scheme}://${options.hostName ?? '127.0.0.1'}:${address.port}`;
  return {
    base,
    api: `${base}/api/v3`,
    uploads: `${base}/api/uploads`,
    dataDir,
    wharf,
    config,
    async close() {
      await wharf.close();
      if (!options.dataDir) {
        await rm(dataDir, { recursive: true, force: true });
        await releaseStores(dataDir);
      }
    },
  };
}
