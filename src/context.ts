/**
 * @module context
 * The collaborators every service receives explicitly (no module-level singletons): the frozen
 * configuration, the database, the blob store and the logger.
 */
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { BlobStore } from './blobs/blob-store.ts';
import type { WharfConfig } from './config/config.ts';
import type { Database, Repository } from './db/schema.ts';
import type { PushListeners } from './services/push-events.ts';

export interface AppContext {
  config: WharfConfig;
  db: Kysely<Database>;
  blobs: BlobStore;
  log: Logger;
  pushListeners: PushListeners;
  /** Connections of the database pool (PostgreSQL), for metrics; absent with SQLite. */
  dbPool?: () => { total: number; idle: number; waiting: number } | null;
}

/** Bare repositories live under their numeric id, so renaming or transferring never moves files. */
export function gitDirFor(ctx: Pick<AppContext, 'config'>, repo: Pick<Repository, 'id'>): string {
  const shard = String(repo.id % 1000).padStart(3, '0');
  return path.join(ctx.config.repositoriesDir, shard, `${repo.id}.git`);
}
