/**
 * @module config/data-permissions
 * Keeps Wharf's data private from other local users: the data directory and the directories
 * Wharf creates in it are made 0700, the SQLite database and its journal files 0600, whatever the
 * umask. An existing directory with wider permissions is left as the operator set it (a proxy may
 * need to read blobs, `WHARF_SENDFILE_HEADER`) but named in a start-up warning.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { WharfConfig } from './config.ts';

/** Directories Wharf owns, each created 0700 when missing. */
function privateDirs(config: WharfConfig): string[] {
  return [config.dataDir, config.repositoriesDir, ...(config.blobStore === 'fs' ? [config.blobDir] : [])];
}

function sqliteFile(config: WharfConfig): string | null {
  return config.databaseUrl.startsWith('sqlite:') ? path.resolve(config.databaseUrl.slice('sqlite:'.length)) : null;
}

/** Before the store opens: creates missing directories 0700 and warns about readable ones. */
export function preparePrivateDirs(config: WharfConfig, log: Logger): void {
  for (const dir of privateDirs(config)) {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const mode = statSync(dir).mode & 0o777;
    if (mode & 0o077) {
      log.warn({ path: dir, mode: `0${mode.toString(8)}` }, `${dir} is readable by other local users (mode 0${mode.toString(8)}); chmod 700 it unless a proxy must read it`);
    }
  }
}

/** After the store opened: the SQLite database and its WAL/shared-memory files become 0600. */
export function restrictDatabaseFiles(config: WharfConfig): void {
  const file = sqliteFile(config);
  if (!file) return;
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
  }
}
