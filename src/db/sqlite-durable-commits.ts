/**
 * @module db/sqlite-durable-commits
 * Durable SQLite commits without an fsync on the thread every request runs on.
 *
 * With `synchronous = FULL`, each commit fsyncs the WAL inside better-sqlite3's call, which is
 * synchronous: the event loop stops for the fsync (milliseconds on a busy disk), and concurrent
 * writers pay one fsync each, back to back. Here the connection runs `synchronous = NORMAL`
 * (a commit writes its WAL frames to the file, no fsync) and the writer is answered only once an
 * `fdatasync` of the WAL file, begun after its commit, has returned: the same durability, the
 * fsync made in libuv's thread pool, and shared by every commit made before it began (group
 * commit by the file system, with nothing about locking or transactions changed: reads take no
 * write lock, another process on the same file works as before, and a transaction that fails
 * fails alone).
 *
 * What the driver waits on: a connection held by a caller that ran a statement that may write (a
 * statement SQLite does not call read-only), once released, which is once that caller's writes are
 * committed (`sqlite-transaction-batches.ts`, whose transactions of concurrent writers share a
 * COMMIT). The wait comes after the connection is released, so the next transaction runs while
 * the fsync is under way.
 *
 * What differs from FULL: a commit is visible to readers (on any connection) a few milliseconds
 * before it is durable. Killing the process loses nothing (the frames are in the kernel's page
 * cache); a power cut in that window can lose commits nobody was told had succeeded, which a
 * reader may have seen. SQLite's own guarantees keep the file consistent either way (checksummed
 * WAL frames; NORMAL still syncs around checkpoints).
 *
 * An fsync that fails leaves it unknown which pages reached the disk (the kernel may have dropped
 * them): every later commit then fails too, and the process has to be restarted (PostgreSQL
 * refuses to go on after a failed fsync for the same reason).
 *
 * Write transactions begin with BEGIN IMMEDIATE (`sqlite-transaction-batches.ts`), so that two
 * processes writing one file wait for each other instead of failing with SQLITE_BUSY.
 */
import { closeSync, fdatasync, open as openFile } from 'node:fs';
import path from 'node:path';
import { SqliteDialect, type DatabaseConnection, type Driver, type SqliteDatabase } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { fsyncPath } from '../util/fsync.ts';
import { ForwardingDriver } from './forwarding-driver.ts';
import { BatchingDriver, BEGIN_IMMEDIATE } from './sqlite-transaction-batches.ts';

/**
 * `fdatasync`s of the WAL under way at once, at most. A commit needs a sync begun after it: with
 * one sync at a time, a commit made just after one began waited for it to end and then for a
 * whole next one (a sync period and a half on average, and a release's creation waits on two
 * commits). A second sync may begin at once instead; further commits share the next one to begin.
 * Each holds a thread of libuv's pool (four by default) for the sync, so not more.
 */
export const MAX_WAL_SYNCS = 2;

/** Syncs a WAL file for writers that committed before they asked, one `fdatasync` for all who wait together. */
export class WalSync {
  readonly #walFile: string;
  /** Syncs under way, oldest first (a set keeps insertion order). */
  readonly #running = new Set<Promise<void>>();
  #queued: Promise<void> | null = null;
  #opened: Promise<number> | null = null;
  #fd: number | null = null;
  #failed: Error | null = null;
  #syncs = 0;

  constructor(walFile: string) {
    this.#walFile = walFile;
  }

  /** How many times the WAL has been synced. */
  get syncs(): number {
    return this.#syncs;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  durable(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    // A sync not yet begun covers the caller's commit.
    if (this.#queued) return this.#queued;
    if (this.#running.size < MAX_WAL_SYNCS) return this.#start();
    // Every sync under way may have begun before the caller's commit: the next one covers it,
    // begun as soon as the oldest ends.
    const oldest = this.#running.values().next().value!;
    const queued = oldest
      .catch(() => undefined)
      .then(() => {
        this.#queued = null;
        return this.#start();
      });
    this.#queued = queued;
    return queued;
  }

  #start(): Promise<void> {
    const run: Promise<void> = this.#sync().finally(() => {
      this.#running.delete(run);
    });
    this.#running.add(run);
    return run;
  }

  async #sync(): Promise<void> {
    if (this.#failed) throw this.#failed;
    try {
      const fd = await this.#open();
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      this.#syncs++;
    } catch (err) {
      // No WAL: the database is not in WAL mode (in memory), nothing to wait for.
      if (this.#fd === null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#opened = null;
        return;
      }
      this.#failed = err instanceof Error ? err : new Error(String(err));
      throw this.#failed;
    }
  }

  /**
   * The WAL file's descriptor, opened once (by the first of concurrent syncs): SQLite keeps the
   * WAL file (the same file, rewound after checkpoints) for as long as any connection has the
   * database open, and this process's connection does. Its directory is synced once, so the
   * file's entry survives a power cut too.
   */
  #open(): Promise<number> {
    this.#opened ??= (async () => {
      const fd = await new Promise<number>((resolve, reject) => openFile(this.#walFile, 'r', (err, opened) => (err ? reject(err) : resolve(opened))));
      this.#fd = fd;
      await fsyncPath(path.dirname(this.#walFile));
      return fd;
    })();
    return this.#opened;
  }

  /** Closes the WAL file (the database is being closed). */
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    this.#opened = null;
  }
}

/**
 * Kysely's SQLite dialect for `sqlite` (opened with `synchronous = NORMAL` in WAL mode), whose
 * `database` is `sqlite` behind whatever wrappers (statement cache…): every write is answered
 * only once durable, as described above.
 */
export function durableSqliteDialect(sqlite: BetterSqlite3.Database, database: SqliteDatabase, walFile: string): { dialect: SqliteDialect; sync: WalSync } {
  const sync = new WalSync(walFile);
  const tracker = { wrote: false };
  const watched: SqliteDatabase = {
    prepare(sql: string) {
      const stmt = database.prepare(sql);
      // Statements that cannot change the file (SELECTs, BEGIN, COMMIT: SQLite's read-only) need no
      // wait. BEGIN IMMEDIATE is not read-only to SQLite (it takes the write lock) but writes nothing.
      if (!(stmt as unknown as BetterSqlite3.Statement).readonly && sql !== BEGIN_IMMEDIATE.sql) tracker.wrote = true;
      return stmt;
    },
    close: () => database.close(),
  };
  const dialect = new (class extends SqliteDialect {
    override createDriver(): Driver {
      const inner = super.createDriver();
      return new DurableDriver((othersWaiting) => new BatchingDriver(inner, sqlite, othersWaiting), tracker, sync);
    }
  })({ database: watched });
  return { dialect, sync };
}

class DurableDriver extends ForwardingDriver {
  readonly #tracker: { wrote: boolean };
  readonly #sync: WalSync;
  /** Callers waiting for their commits to be durable. */
  #waitingForSync = 0;

  constructor(inner: (othersWaiting: () => boolean) => Driver, tracker: { wrote: boolean }, sync: WalSync) {
    super(inner(() => this.#waitingForSync > 0));
    this.#tracker = tracker;
    this.#sync = sync;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    this.#tracker.wrote = false;
    return connection;
  }

  /**
   * Hands the connection to the next caller, then, if this holder wrote, waits until its commit is
   * durable. The inner driver (`sqlite-transaction-batches.ts`) resolves the release once the
   * holder's writes are committed, so the sync waited for begins after that commit.
   */
  override async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const wrote = this.#tracker.wrote;
    await this.inner.releaseConnection(connection);
    if (!wrote) return;
    this.#waitingForSync++;
    try {
      await this.#sync.durable();
    } finally {
      this.#waitingForSync--;
    }
  }

  override async destroy(): Promise<void> {
    await this.inner.destroy();
    this.#sync.close();
  }
}
