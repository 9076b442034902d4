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
import { ForwardingDriver } from './forwarding-driver.ts';

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

class TrackingDriver extends ForwardingDriver {
  override async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const token = { open: false };
    tokens.set(connection, token);
    await this.inner.beginTransaction(connection, settings);
    token.open = true;
  }
  override commitTransaction(connection: DatabaseConnection): Promise<void> {
    close(connection);
    return this.inner.commitTransaction(connection);
  }
  override rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    close(connection);
    return this.inner.rollbackTransaction(connection);
  }
  override releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A connection given back without COMMIT or ROLLBACK (never in Kysely) holds no transaction of ours.
    close(connection);
    return this.inner.releaseConnection(connection);
  }
}

function close(connection: DatabaseConnection): void {
  const token = tokens.get(connection);
  if (token) token.open = false;
}
