/**
 * @module db/open-transactions
 * Which connection holds an open transaction, for running a compiled statement of a transaction
 * on its connection directly (`compiled-once.ts`) instead of through Kysely's executor, whose
 * promise chain (connection provider, result plugins, commit checks) costs more than an indexed
 * statement on SQLite.
 *
 * The driver is wrapped so that every transaction begun on a connection gets a token, open from
 * the end of BEGIN until COMMIT or ROLLBACK starts. A transaction's handle that has once been given
 * its connection by Kysely (which checks that the handle's transaction is not over) may use that
 * connection while the token it found then is still open: the connection is then still held by
 * that transaction, since another transaction on it would have begun with a token of its own.
 */
import type { DatabaseConnection, DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler, TransactionSettings } from 'kysely';

/** One transaction's hold on its connection: open until its end begins. */
export interface TransactionToken {
  readonly open: boolean;
}

const tokens = new WeakMap<DatabaseConnection, { open: boolean }>();

/** The token of the transaction last begun on `connection` (open while it runs), if any. */
export function transactionOn(connection: DatabaseConnection): TransactionToken | undefined {
  return tokens.get(connection);
}

/** `dialect` with its transactions tracked (see above); otherwise unchanged. */
export function trackTransactions(dialect: Dialect): Dialect {
  return {
    createDriver: (): Driver => new TrackingDriver(dialect.createDriver()),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    // Kysely's Dialect interface types the introspector's handle as Kysely<any>.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}

class TrackingDriver implements Driver {
  readonly #inner: Driver;

  constructor(inner: Driver) {
    this.#inner = inner;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }
  acquireConnection(): Promise<DatabaseConnection> {
    return this.#inner.acquireConnection();
  }
  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const token = { open: false };
    tokens.set(connection, token);
    await this.#inner.beginTransaction(connection, settings);
    token.open = true;
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    close(connection);
    return this.#inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    close(connection);
    return this.#inner.rollbackTransaction(connection);
  }
  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.savepoint!(connection, name, compile);
  }
  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.rollbackToSavepoint!(connection, name, compile);
  }
  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.#inner.releaseSavepoint!(connection, name, compile);
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A connection given back without COMMIT or ROLLBACK (never in Kysely) holds no transaction of ours.
    close(connection);
    return this.#inner.releaseConnection(connection);
  }
  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

function close(connection: DatabaseConnection): void {
  const token = tokens.get(connection);
  if (token) token.open = false;
}
