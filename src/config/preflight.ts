/**
 * @module config/preflight
 * Checks that settings which parse are also usable on this machine — the data directory can be
 * created and written, the TLS files can be read and belong together, the port can be bound — and
 * turns each failure into a ConfigError naming the setting. Run before anything heavy is loaded,
 * so a bad start-up ends within a second.
 */
import { accessSync, constants, lstatSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import type { TlsConfig, WharfConfig } from './config.ts';
import { InstanceKeyError, secretBoxAt } from '../util/secret-box.ts';
import { ConfigError, shown, SETTINGS } from './settings.ts';

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Makes sure `dir` is a directory this process can write, creating missing parents one level at a
 * time. (Node's recursive mkdir loops forever under /proc, so it is not used.)
 */
export function ensureWritableDir(setting: string, value: string, dir: string): void {
  const fix = 'point it at a directory Wharf can create and write';
  const missing: string[] = [];
  let existing = path.resolve(dir);
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) {
        throw new ConfigError(setting, value, `${existing} is not a directory; ${fix}`);
      }
      break;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // ENOTDIR: some parent is a file, which the walk up reports.
      if (code(err) !== 'ENOENT' && code(err) !== 'ENOTDIR') throw new ConfigError(setting, value, `cannot inspect ${existing} (${code(err)}); ${fix}`);
      const parent = path.dirname(existing);
      if (parent === existing) throw new ConfigError(setting, value, `no part of the path exists; ${fix}`);
      missing.unshift(existing);
      existing = parent;
    }
  }
  for (const level of missing) {
    try {
      // Private from the start: the data directory holds private repositories, blobs and the database.
      mkdirSync(level, { mode: 0o700 });
    } catch (err) {
      if (code(err) === 'EEXIST' && lstatSync(level).isDirectory()) continue;
      throw new ConfigError(setting, value, `cannot create ${level} (${code(err)}); ${fix}`);
    }
  }
  // access() says yes to root on a read-only file system; writing a file is the honest test.
  const probe = path.join(dir, `.wharf-write-test-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    throw new ConfigError(setting, value, `the directory is not writable (${code(err)}); ${fix}, or give Wharf's user write access to it`);
  }
}

/** The data directory, and the SQLite file's directory when the database lives elsewhere. */
/**
 * Reads the instance key, or makes it on first start (`util/secret-box.ts`), before anything needs
 * it: a key file that cannot be read, made or used ends start-up naming its setting.
 */
export function checkInstanceKey(config: WharfConfig): void {
  try {
    secretBoxAt(config.instanceKeyFile);
  } catch (err) {
    throw new ConfigError('WHARF_INSTANCE_KEY_FILE', config.instanceKeyFile, err instanceof InstanceKeyError ? err.message : `cannot read or create the key (${code(err)})`);
  }
}

export function checkDirectories(config: WharfConfig): void {
  ensureWritableDir('WHARF_DATA_DIR', config.dataDir, config.dataDir);
  if (config.databaseUrl.startsWith('sqlite:')) {
    const dir = path.dirname(path.resolve(config.databaseUrl.slice('sqlite:'.length)));
    if (dir !== config.dataDir) ensureWritableDir('WHARF_DATABASE_URL', config.databaseUrl, dir);
  }
}

/** Reads the certificate and key, and checks that they parse and belong together. */
export function loadTlsFiles(tls: TlsConfig): { cert: Buffer; key: Buffer } {
  const read = (setting: string, file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(setting, file, `cannot read the file (${code(err)}); name a readable PEM ${what}`);
    }
  };
  const cert = read('WHARF_TLS_CERT', tls.cert, 'certificate');
  const key = read('WHARF_TLS_KEY', tls.key, 'private key');
  try {
    createSecureContext({ cert });
  } catch (err) {
    throw new ConfigError('WHARF_TLS_CERT', tls.cert, `not a usable certificate (${(err as Error).message}); name a PEM certificate file`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError('WHARF_TLS_KEY', tls.key, `not the private key of WHARF_TLS_CERT (${(err as Error).message}); name the PEM key that matches the certificate`);
  }
  return { cert, key };
}

/** Maps a failed listen() to the setting at fault; other errors pass through unchanged. */
export function listenError(config: Pick<WharfConfig, 'host' | 'port'>, err: unknown): Error {
  const port = String(config.port);
  switch (code(err)) {
    case 'EADDRINUSE':
      return new ConfigError('WHARF_PORT', port, `already in use on ${config.host}; stop the other process or choose another port`);
    case 'EACCES':
      return new ConfigError('WHARF_PORT', port, 'needs privileges to bind; use a port from 1024 up (or give the process CAP_NET_BIND_SERVICE)');
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError('WHARF_HOST', config.host, 'not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses');
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/** Binds the port and lets it go again, so a port in use is reported before the app loads. */
export async function checkPort(config: Pick<WharfConfig, 'host' | 'port'>): Promise<void> {
  if (config.port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err) => reject(listenError(config, err)));
    probe.listen({ host: config.host, port: config.port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** A database that cannot be opened or reached, as the setting that chose it. */
export function databaseError(config: WharfConfig, err: unknown): unknown {
  if (err instanceof ConfigError) return err;
  const message = ((err as Error).message ?? String(err)).split('\n')[0];
  const errno = (err as NodeJS.ErrnoException).code;
  const detail = errno && !message?.includes(errno) ? `${errno}: ${message}` : message;
  if (config.databaseUrl !== `sqlite:${path.join(config.dataDir, 'wharf.db')}`) {
    return new ConfigError(
      'WHARF_DATABASE_URL',
      shown(SETTINGS.databaseUrl, config.databaseUrl),
      `cannot open the database (${detail}); check that the server is running and the URL, user and password are right`,
    );
  }
  return new ConfigError('WHARF_DATA_DIR', config.dataDir, `cannot open the database in it (${detail}); check the directory's permissions and free space`);
}
