/**
 * @module db/sqlite-transaction-batches
 * Concurrent SQLite write transactions committed together, each still atomic on its own.
 *
 * A process has one SQLite write connection, and its transactions take it in turn. Each COMMIT
 * writes every page the transaction dirtied to the WAL: for a release's creation about twenty
 * (the tip of each of seven indexes on `releases`, the events', the repository row, the file
 * header…), nearly all of them the same pages the next transaction dirties again. When a
 * transaction ends while others are already waiting for the connection, this driver leaves the
 * SQLite transaction open and lets the next one run inside it, under a savepoint; the COMMIT is
 * made once nobody is waiting, or when the batch is `MAX_BATCH_TRANSACTIONS` long or
 * `MAX_BATCH_MS` old. Sixteen clients creating releases share one COMMIT between several creates,
 * and its pages are written once.
 *
 * What each transaction still gets:
 * - **Atomicity.** Each runs under a savepoint of its own (the first of a batch opens it with
 *   BEGIN IMMEDIATE): a transaction that fails rolls back to its savepoint, and the others in the
 *   batch are untouched.
 * - **Serial order.** They run one after another on the one connection, as before; a transaction
 *   sees the writes of those before it in its batch, exactly as it would once they had committed.
 * - **Nothing acknowledged early.** Releasing the connection resolves only once the batch's
 *   COMMIT has been made (and `sqlite-durable-commits.ts` then waits for the WAL sync), so no
 *   caller learns of success, or goes on to act on it, before its writes are committed. If the
 *   COMMIT fails, or SQLite rolls the whole transaction back by itself (a full disk, an I/O
 *   error), every transaction of the batch is told so.
 * - **Other connections** (the reading connection, other processes) see a batch when it commits.
 *
 * A transaction that waits for another caller's *later* progress while it holds the connection
 * would wait forever, as it already did before batching (the connection is held); none does.
 */
import { CompiledQuery, type DatabaseConnection, type Driver, type TransactionSettings } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { ForwardingDriver } from './forwarding-driver.ts';

/** Transactions in one batch at most, so that waiting writers cannot hold a commit off for long. */
export const MAX_BATCH_TRANSACTIONS = 32;
/** Milliseconds a batch stays open at most (checked as each of its transactions ends). */
export const MAX_BATCH_MS = 5;
/** Milliseconds a batch whose transactions have ended waits for more, while other writers are under way. */
export const BATCH_WAIT_MS = 2;

/** How write transactions begin (see `BatchingDriver.beginTransaction`). */
export const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const SAVEPOINT = CompiledQuery.raw('savepoint wharf_batch');
const RELEASE = CompiledQuery.raw('release wharf_batch');
const ROLLBACK_TO = CompiledQuery.raw('rollback to wharf_batch');

/** A batch whose SQLite transaction SQLite itself rolled back: the work of every transaction in it is lost. */
export class BatchRolledBack extends Error {
  constructor() {
    super('SQLite rolled back the transaction this write was committed with (after an error in another write of the same batch)');
    this.name = 'BatchRolledBack';
  }
}

/** One open SQLite transaction and the Kysely transactions run in it. */
class Batch {
  transactions = 1;
  /** The COMMIT scheduled for `BATCH_WAIT_MS` after the batch's first transaction ended. */
  commitTimer: NodeJS.Timeout | null = null;
  readonly openedAt = performance.now();
  readonly committed: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;

  constructor(readonly readOnly: boolean) {
    this.committed = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Each holder awaits it when it releases the connection; a batch can end before any did.
    this.committed.catch(() => undefined);
  }
}

export class BatchingDriver extends ForwardingDriver {
  readonly #sqlite: BetterSqlite3.Database;
  /** Callers waiting for the connection. */
  #waiting = 0;
  /** The SQLite transaction open on the connection, if any. */
  #batch: Batch | null = null;
  /** The transaction running joined `#batch` under a savepoint (it is not the batch's first). */
  #joined = false;

  readonly #othersWaiting: () => boolean;

  /** `othersWaiting`: whether callers that wrote are waiting for their commits to be durable (writes are under way). */
  constructor(inner: Driver, sqlite: BetterSqlite3.Database, othersWaiting: () => boolean) {
    super(inner);
    this.#sqlite = sqlite;
    this.#othersWaiting = othersWaiting;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    this.#waiting++;
    try {
      return await this.inner.acquireConnection();
    } finally {
      this.#waiting--;
    }
  }

  /**
   * Joins the open batch under a savepoint, or opens one. Write transactions begin IMMEDIATE:
   * they take SQLite's write lock at BEGIN, waiting out `busy_timeout` while another process
   * holds it. A deferred transaction takes it only at its first write, and one that read first
   * cannot wait there: if another process committed since its read, SQLite refuses the upgrade at
   * once (SQLITE_BUSY). A transaction declared read-only (`setAccessMode('read only')`) stays
   * deferred, never takes the write lock, and its batch is not kept open for others.
   */
  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (this.#batch) {
      await connection.executeQuery(SAVEPOINT);
      this.#batch.transactions++;
      this.#joined = true;
      return;
    }
    const readOnly = settings.accessMode === 'read only';
    if (readOnly) await this.inner.beginTransaction(connection, settings);
    else await connection.executeQuery(BEGIN_IMMEDIATE);
    this.#batch = new Batch(readOnly);
    this.#joined = false;
  }

  /** Ends the transaction's savepoint; the batch's COMMIT is made when the connection is released. */
  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#joined) return;
    this.#joined = false;
    await connection.executeQuery(RELEASE);
  }

  /** Undoes the transaction's own writes: back to its savepoint, or the whole batch when it is the batch's first (nothing else is in it yet). */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const batch = this.#batch;
    if (this.#joined) {
      this.#joined = false;
      // SQLite rolled everything back by itself: the release below tells the batch.
      if (!this.#sqlite.inTransaction) return;
      await connection.executeQuery(ROLLBACK_TO);
      await connection.executeQuery(RELEASE);
      return;
    }
    this.#batch = null;
    batch?.resolve();
    await this.inner.rollbackTransaction(connection);
  }

  /** Commits the batch unless another caller is waiting to join it; resolves once the holder's writes are committed. */
  override async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const batch = this.#batch;
    if (batch && !this.#sqlite.inTransaction) {
      // This holder's statement failed and SQLite rolled the whole transaction back: it has its
      // own error already; the holders before it in the batch learn of it here.
      this.#batch = null;
      batch.reject(new BatchRolledBack());
      return this.inner.releaseConnection(connection);
    }
    if (batch && !this.#keepOpen(batch)) {
      if (batch.commitTimer === null && this.#worthWaiting(batch)) {
        // Left open for `BATCH_WAIT_MS`, for the writers about to begin: see `#worthWaiting`.
        batch.commitTimer = setTimeout(() => {
          batch.commitTimer = null;
          this.#commitLater().catch(() => undefined);
        }, BATCH_WAIT_MS);
      } else if (batch.commitTimer === null || !this.#young(batch)) {
        await this.#commit(connection, batch);
      }
    }
    await this.inner.releaseConnection(connection);
    if (batch) await batch.committed;
  }

  /**
   * The scheduled COMMIT, made as a caller of the connection like any other. Whatever batch is
   * open when it gets the connection is committed, not only the one that scheduled it: while it
   * waited, that batch may have been committed by its limits and a new one left open for the
   * waiters, this commit among them. Unless others still wait, which then settle it themselves.
   */
  async #commitLater(): Promise<void> {
    const connection = await this.acquireConnection();
    try {
      const batch = this.#batch;
      if (batch && !this.#keepOpen(batch)) await this.#commit(connection, batch);
    } finally {
      await this.inner.releaseConnection(connection);
    }
  }

  /**
   * A write batch waits for more writers only while other writers are under way: some already
   * wait for a commit or a sync (`othersWaiting`), or the batch has more than one transaction.
   * A writer on its own (one client, the test suite) commits at once and pays no wait.
   */
  #worthWaiting(batch: Batch): boolean {
    return !batch.readOnly && this.#young(batch) && (batch.transactions > 1 || this.#othersWaiting());
  }

  async #commit(connection: DatabaseConnection, batch: Batch): Promise<void> {
    this.#batch = null;
    if (batch.commitTimer !== null) clearTimeout(batch.commitTimer);
    batch.commitTimer = null;
    try {
      await connection.executeQuery(COMMIT);
      batch.resolve();
    } catch (err) {
      if (this.#sqlite.inTransaction) await connection.executeQuery(ROLLBACK).catch(() => undefined);
      batch.reject(err);
    }
  }

  #young(batch: Batch): boolean {
    return batch.transactions < MAX_BATCH_TRANSACTIONS && performance.now() - batch.openedAt < MAX_BATCH_MS;
  }

  #keepOpen(batch: Batch): boolean {
    return this.#waiting > 0 && !batch.readOnly && this.#young(batch);
  }

  override async destroy(): Promise<void> {
    // A batch may be waiting out `BATCH_WAIT_MS` for writers that will not come now: commit it, not lose it to the close.
    const batch = this.#batch;
    this.#batch = null;
    if (batch?.commitTimer) clearTimeout(batch.commitTimer);
    if (batch && this.#sqlite.inTransaction) this.#sqlite.exec('commit');
    batch?.resolve();
    await this.inner.destroy();
  }
}
