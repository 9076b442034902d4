/**
 * Starts a real Wharf on a loopback port with a throw-away data directory, for one test file.
 * With `WHARF_TLS_CERT`/`WHARF_TLS_KEY` in `env` it serves HTTPS and `base` is an https URL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { buildApp, type Wharf } from '../../src/app.ts';
import { loadConfig, type WharfConfig } from '../../src/config/config.ts';

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
}

export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'wharf-test-')));
  const config = loadConfig(
    {
      WHARF_DATA_DIR: dataDir,
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: '0',
      WHARF_ADMIN_TOKEN: ADMIN_TOKEN,
      WHARF_RATE_LIMIT: 'false',
      ...options.env,
    },
    options.config,
  );
  const wharf = await buildApp(config, { logger: pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' }) });
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
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
