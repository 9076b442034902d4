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
import { PrincipalCache } from './services/principal-cache.ts';
import type { PushListeners } from './services/push-events.ts';
import { RateCounts } from './services/rate-counts.ts';
import { ReadCache } from './services/read-cache.ts';

export interface AppContext {
  config: WharfConfig;
  db: Kysely<Database>;
  blobs: BlobStore;
  log: Logger;
  pushListeners: PushListeners;
  /** Remembered API answers, keyed by repository generation (docs/performance.md#the-read-cache). */
  readCache: ReadCache;
  /** Who presented tokens are, for a few seconds. */
  principals: PrincipalCache;
  /** Rate-limit counts gathered in memory between writes to the database. */
  rateCounts: RateCounts;
  /** Connections of the database pool (PostgreSQL), for metrics; absent with SQLite. */
  dbPool?: () => { total: number; idle: number; waiting: number } | null;
}

/** A context's caches, empty, sized by the configuration. */
export function newCaches(config: WharfConfig): Pick<AppContext, 'readCache' | 'principals' | 'rateCounts'> {
  return {
    readCache: new ReadCache(config.readCache.maxBytes, config.readCache.ttlMs),
    principals: new PrincipalCache(config.readCache.principalTtlMs),
    rateCounts: new RateCounts(),
  };
}

/** Bare repositories live under their numeric id, so renaming or transferring never moves files. */
export function gitDirFor(ctx: Pick<AppContext, 'config'>, repo: Pick<Repository, 'id'>): string {
  const shard = String(repo.id % 1000).padStart(3, '0');
  return path.join(ctx.config.repositoriesDir, shard, `${repo.id}.git`);
}
