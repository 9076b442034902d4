/**
 * @module db/sqlite-group-commit
 * Wharf's Kysely driver for SQLite: concurrent writers share one durable commit.
 *
 * better-sqlite3 runs every statement, and every COMMIT with its fsync of the WAL
 * (`synchronous = FULL`), on the thread that serves every request. With one commit per
 * transaction, sixteen clients creating releases or uploading assets paid an fsync each, back to
 * back, with nothing else running meanwhile. Here the writes of concurrent writers go into one
 * SQLite transaction and are made durable by one COMMIT:
 *
 * - a transaction (`db.transaction()`) or a write outside one waits for the write connection
 *   like before; the first opens a shared transaction (`BEGIN IMMEDIATE`), each transaction runs
 *   inside a savepoint of its own, and when it ends the connection goes to the next writer
 *   waiting, inside the same SQLite transaction;
 * - the shared transaction commits once no writer is waiting (a turn of the event loop later, so
 *   writers about to start can join) or once it is `MAX_GROUP_MS` old;
 * - a writer's `commit` (or its write's result) resolves only after that COMMIT: a write is still
 *   durable when Wharf acknowledges it, and nobody is answered from data that is not;
 * - a transaction that fails rolls back to its savepoint: the others in the group keep their
 *   work, so a writer fails for its own rows only. If SQLite abandons the whole transaction (a
 *   full disk, an I/O error) or the COMMIT fails, every writer in the group gets that error, as
 *   each would have with a commit of its own;
 * - reads outside a transaction go to a second connection, which sees committed data only: they
 *   neither wait behind writers nor see what a group has not committed yet.
 *
 * PostgreSQL needs none of this: its commits of concurrent connections already share WAL
 * flushes, and its driver does not hold the event loop.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, RawNode, SelectQueryNode, type DatabaseConnection, type Driver, type QueryResult, type SqliteDatabase } from 'kysely';

/** A group older than this commits at its next hand-over, even with writers waiting to join. */
const MAX_GROUP_MS = 20;

interface Member {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Group {
  members: Member[];
  openedAt: number;
}

export interface GroupCommitConnections {
  /** The connection every write goes through (better-sqlite3, to see whether a transaction is open). */
  writer: BetterSqlite3.Database;
  /** Prepares statements on the writer (a statement cache). */
  writerStatements: SqliteDatabase;
  /** Prepares statements on a second connection to the same file, for reads outside transactions. */
  readerStatements: SqliteDatabase;
}

function run(db: SqliteDatabase, query: CompiledQuery): QueryResult<unknown> {
  const stmt = db.prepare(query.sql);
  if (stmt.reader) return { rows: stmt.all(query.parameters) };
  const { changes, lastInsertRowid } = stmt.run(query.parameters);
  return {
    numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
    insertId: lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
    rows: [],
  };
}

/** A query that only reads: a SELECT, or raw SQL that is one. */
function isRead(query: CompiledQuery): boolean {
  if (SelectQueryNode.is(query.query)) return true;
  return RawNode.is(query.query) && /^\s*select\b/i.test(query.sql);
}

export class GroupCommitSqliteDriver implements Driver {
  readonly #c: GroupCommitConnections;
  #held = false;
  readonly #waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #group: Group | null = null;
  #commitScheduled = false;
  #closed = false;

  constructor(connections: GroupCommitConnections) {
    this.#c = connections;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new GroupedConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as GroupedConnection).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as GroupedConnection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    (connection as GroupedConnection).rollback();
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    if (this.#closed) return;
    // Writers that asked before finish and commit first; those asking later are refused.
    await this.lock();
    this.#closed = true;
    this.#commitNow();
    for (const w of this.#waiting.splice(0)) w.reject(new Error('the database is closed'));
    this.#c.readerStatements.close();
    this.#c.writerStatements.close();
  }

  // ---- the write connection ------------------------------------------------------------------

  /** Waits for the write connection (first come, first served). */
  lock(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the database is closed'));
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Hands the write connection to the next writer, inside the group while it is young. */
  unlock(): void {
    if (this.#group && Date.now() - this.#group.openedAt >= MAX_GROUP_MS) this.#commitNow();
    const next = this.#waiting.shift();
    if (next) {
      next.resolve();
      return;
    }
    this.#held = false;
    if (this.#group && !this.#commitScheduled) {
      this.#commitScheduled = true;
      // One turn of the event loop: writers whose requests are being read now join this commit.
      setImmediate(() => {
        this.#commitScheduled = false;
        if (!this.#held) this.#commitNow();
      });
    }
  }

  /** Opens the shared transaction if none is (the caller holds the write connection). */
  #join(): Group {
    if (!this.#group) {
      run(this.#c.writerStatements, CompiledQuery.raw('begin immediate'));
      this.#group = { members: [], openedAt: Date.now() };
    }
    return this.#group;
  }

  /** Commits the shared transaction (the caller holds the write connection, or nobody does). */
  #commitNow(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = null;
    try {
      run(this.#c.writerStatements, CompiledQuery.raw('commit'));
    } catch (err) {
      if (this.#c.writer.inTransaction) run(this.#c.writerStatements, CompiledQuery.raw('rollback'));
      for (const m of group.members) m.reject(err);
      return;
    }
    for (const m of group.members) m.resolve();
  }

  /**
   * After a statement failed: if SQLite abandoned the whole transaction (it does on a full disk
   * or an I/O error), every writer of the group lost its work and gets the error.
   */
  #checkAbandoned(err: unknown): void {
    if (!this.#group || this.#c.writer.inTransaction) return;
    const group = this.#group;
    this.#group = null;
    for (const m of group.members) m.reject(err);
  }

  /**
   * Runs `query` on the write connection (held by the caller) inside the group; `within`, for a
   * transaction, is the group it began in: if that was abandoned, its savepoint is gone and nothing
   * more of it may run (it would run in another group, without its first statements).
   */
  execute(query: CompiledQuery, within?: Group): QueryResult<unknown> {
    const group = this.#join();
    if (within && group !== within) throw new Error('the shared transaction was rolled back');
    try {
      return run(this.#c.writerStatements, query);
    } catch (err) {
      this.#checkAbandoned(err);
      throw err;
    }
  }

  /** Adds a finished writer to the group: settled when the group commits. */
  enlist(): Promise<void> {
    const group = this.#join();
    return new Promise((resolve, reject) => group.members.push({ resolve, reject }));
  }

  read(query: CompiledQuery): QueryResult<unknown> {
    return run(this.#c.readerStatements, query);
  }

  /** The open group, if SQLite has not abandoned it. */
  get group(): Group | null {
    return this.#group && this.#c.writer.inTransaction ? this.#group : null;
  }
}

const SAVEPOINT = 'wharf_writer';

/** One use of the database: a transaction, or single statements outside one. */
class GroupedConnection implements DatabaseConnection {
  readonly #driver: GroupCommitSqliteDriver;
  /** The group this connection's transaction runs in; null outside a transaction. */
  #group: Group | null = null;

  constructor(driver: GroupCommitSqliteDriver) {
    this.#driver = driver;
  }

  async begin(): Promise<void> {
    await this.#driver.lock();
    try {
      this.#driver.execute(CompiledQuery.raw(`savepoint ${SAVEPOINT}`));
      this.#group = this.#driver.group;
    } catch (err) {
      this.#driver.unlock();
      throw err;
    }
  }

  async commit(): Promise<void> {
    const group = this.#group;
    if (!group) return;
    this.#group = null;
    let done: Promise<void>;
    try {
      this.#driver.execute(CompiledQuery.raw(`release ${SAVEPOINT}`), group);
      done = this.#driver.enlist();
    } finally {
      this.#driver.unlock();
    }
    await done;
  }

  rollback(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = null;
    try {
      if (this.#driver.group === group) {
        this.#driver.execute(CompiledQuery.raw(`rollback to ${SAVEPOINT}`), group);
        this.#driver.execute(CompiledQuery.raw(`release ${SAVEPOINT}`), group);
      }
    } finally {
      this.#driver.unlock();
    }
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#group) return this.#driver.execute(query, this.#group) as QueryResult<R>;
    if (isRead(query)) return this.#driver.read(query) as QueryResult<R>;
    // A write on its own: one statement of the group, answered once the group has committed.
    await this.#driver.lock();
    let result: QueryResult<R>;
    let done: Promise<void>;
    try {
      result = this.#driver.execute(query) as QueryResult<R>;
      done = this.#driver.enlist();
    } finally {
      this.#driver.unlock();
    }
    await done;
    return result;
  }

  // eslint-disable-next-line require-yield -- Wharf streams no query; Kysely's interface wants the method
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries is not supported on SQLite');
  }
}
