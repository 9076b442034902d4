/**
 * @module db/dialect
 * The seam between Wharf and its SQL engine: the only file that imports a database driver.
 * `sqlite:<path>` gives the embedded store (better-sqlite3, WAL); `postgres://…` gives PostgreSQL.
 *
 * Both engines hand the rest of Wharf the same runtime values (see `schema.ts`): PostgreSQL's
 * int8 (COUNT(*), BIGINT ids and sizes) is parsed to a JS number here, per pool rather than
 * through pg's process-wide parser table, so nothing else in the process is affected.
 *
 * Each driver is loaded only when its engine is chosen: a node on SQLite never loads pg, and one
 * on PostgreSQL never loads the native SQLite module (less memory, faster start-up).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { Kysely, PostgresDialect, type SqliteDatabase } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from './schema.ts';
import { withStatementCache } from './sqlite-statement-cache.ts';
import { durableSqliteDialect, type WalSync } from './sqlite-durable-commits.ts';
import { trackTransactions } from './open-transactions.ts';

export type DialectKind = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: DialectKind;
  close(): Promise<void>;
  /** Connections of the pool by state (PostgreSQL only). */
  poolStats?: () => { total: number; idle: number; waiting: number };
}

/**
 * A read run on the driver itself, past Kysely's executor (its connection handling, plugins and
 * promise chain), for the few reads every API request makes (`compiled-once.ts`, the only user).
 * SQLite answers at once; PostgreSQL with a promise. Undefined: not now, take Kysely's way.
 */
export type DirectRead = (name: string, sql: string, parameters: readonly unknown[]) => unknown[] | Promise<unknown[]> | undefined;

const directReads = new WeakMap<Kysely<Database>, DirectRead>();
const walSyncs = new WeakMap<Kysely<Database>, WalSync>();

/** What makes a SQLite handle's commits durable (none on PostgreSQL): its count of syncs, for tests and measurements. */
export function walSyncOf(db: Kysely<Database>): WalSync | undefined {
  return walSyncs.get(db);
}

/** The direct read of a handle's root `Kysely` instance (none for a transaction's). */
export function directReadOf(db: Kysely<Database>): DirectRead | undefined {
  return directReads.get(db);
}

/**
 * On SQLite, the prepared statement runs at once on a reading connection of its own: it sees
 * committed data only, never a writer's transaction still open or one that rolls back.
 */
function sqliteDirectRead(readerStatements: SqliteDatabase): DirectRead {
  return (_name, sql, parameters) => readerStatements.prepare(sql).all(parameters);
}

/**
 * On PostgreSQL, a named prepared statement: parsed and planned once per connection instead of on
 * every request (the server's CPU per generation read fell to about a third). A pooler that does
 * not keep prepared statements across transactions (PgBouncer in transaction mode without
 * `max_prepared_statements`) answers "prepared statement does not exist" or "already exists":
 * the statement is then sent unnamed, as Kysely sends it, from then on.
 */
function postgresDirectRead(pool: pg.Pool): DirectRead {
  let named = true;
  const unnamed = (sql: string, values: unknown[]) => pool.query(sql, values).then((r) => r.rows as unknown[]);
  return (name, sql, parameters) => {
    const values = [...parameters];
    if (!named) return unnamed(sql, values);
    return pool.query({ name, text: sql, values }).then(
      (r) => r.rows as unknown[],
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code !== '26000' && code !== '42P05') throw err;
        named = false;
        return unnamed(sql, values);
      },
    );
  };
}

/** WAL pages after which a commit checkpoints (about 40 MiB at SQLite's 4 KiB pages). */
export const SQLITE_CHECKPOINT_PAGES = 10_000;
/** Bytes the WAL file is truncated to after a checkpoint, when it grew larger. */
export const SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024;

async function openSqlite(file: string): Promise<DatabaseHandle> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const sqlite = new BetterSqlite3(file);
  // WAL lets readers proceed during writes. Every commit is durable before Wharf acknowledges it
  // (an acknowledged upload must survive a power cut), by an fsync of the WAL made off the event
  // loop and shared by concurrent writers (`sqlite-durable-commits.ts`), not inside the commit.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Checkpoints are rarer than SQLite's default of one per 1,000 WAL pages. The automatic
  // checkpoint runs inside the commit that crosses the mark, on the event loop, and with
  // synchronous=NORMAL fsyncs the WAL and then the database file there: a release's creation
  // writes about 40 pages, so at 1,000 every 25th create or so stopped the loop for two fsyncs.
  // A rarer checkpoint also copies each hot page (a table's last leaf, an index's tip) once
  // instead of once per 1,000 pages. Measured: 12% less CPU per create, and 15-70% more creates
  // a second. The WAL file, reused after each checkpoint, is cut back to a bound when a reader
  // held a checkpoint off long enough to grow it further.
  sqlite.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
  sqlite.pragma(`journal_size_limit = ${SQLITE_WAL_SIZE_LIMIT}`);
  // Savepoints keep the pages they change in a sub-journal, a temporary file once it passes 64 KiB;
  // transactions batched under savepoints (`sqlite-transaction-batches.ts`) pass it, and each page
  // then cost a write system call. Kept in memory, it is a copy of the page.
  sqlite.pragma('temp_store = memory');
  const { dialect, sync } = durableSqliteDialect(sqlite, keepRollbackCause(sqlite, withStatementCache(sqlite)), `${path.resolve(sqlite.name)}-wal`);
  // Transactions tracked, so compiled statements can run on a transaction's connection directly (`compiled-once.ts`).
  const db = new Kysely<Database>({ dialect: trackTransactions(dialect) });
  walSyncs.set(db, sync);
  // The generation reads every API request makes run on a connection of their own: committed
  // data only, at once, never behind a transaction that holds the main connection.
  const reader = new BetterSqlite3(file);
  reader.pragma('busy_timeout = 5000');
  reader.pragma('query_only = ON');
  directReads.set(db, sqliteDirectRead(withStatementCache(reader)));
  return {
    db,
    kind: 'sqlite',
    close: async () => {
      await db.destroy();
      reader.close();
    },
  };
}

/**
 * SQLite rolls a transaction back by itself on some errors (a full disk: SQLITE_FULL, I/O
 * errors). Kysely then sends its own ROLLBACK, which fails with "no transaction is active" and
 * replaces the error that mattered. With no transaction open, that ROLLBACK becomes a no-op, so
 * the original error reaches the caller (and a full disk is answered 507, not 500).
 */
function keepRollbackCause(sqlite: BetterSqlite3.Database, db: SqliteDatabase): SqliteDatabase {
  return {
    prepare: (sql: string) => (sql === 'rollback' && !sqlite.inTransaction ? db.prepare('select 1') : db.prepare(sql)),
    close: () => db.close(),
  };
}

const INT8_OID = 20;

/** int8 as a JS number: ids, counts and sizes stay far below 2^53. Everything else as pg does it. */
function wharfTypes(types: typeof pg.types): pg.CustomTypesConfig {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
      // pg types its parsers as `any`; every parser takes the wire text and returns a value.
      return types.getTypeParser(oid, format) as (value: string) => unknown;
    },
  };
}

export interface PostgresSettings {
  /** Connection string for pg, without Wharf's own parameters. */
  connectionString: string;
  /** Largest number of connections this node opens (`?pool_max=`, default 10). */
  max: number;
  /** TLS options, or false for a plain connection. */
  ssl: ConnectionOptions | false;
}

/**
 * Reads Wharf's PostgreSQL URL. Besides what libpq URLs usually carry, it understands:
 * - `sslmode=disable|prefer|require|verify-ca|verify-full` (libpq's meanings; `prefer` behaves as
 *   `disable`, since pg cannot fall back), with `sslrootcert`, `sslcert`, `sslkey` as file paths;
 * - `pool_max=N`: connections per Wharf node (keep nodes × pool_max under the server's
 *   `max_connections`).
 */
export function parsePostgresUrl(databaseUrl: string): PostgresSettings {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error('WHARF_DATABASE_URL is not a valid postgres:// URL');
  }
  const params = url.searchParams;
  const take = (name: string): string | null => {
    const value = params.get(name);
    params.delete(name);
    return value;
  };
  const poolMax = take('pool_max');
  const max = poolMax === null ? 10 : Number(poolMax);
  if (!Number.isInteger(max) || max < 1) throw new Error(`pool_max must be a positive integer, got "${poolMax}"`);

  const sslmode = take('sslmode') ?? 'disable';
  const rootCert = take('sslrootcert');
  const cert = take('sslcert');
  const key = take('sslkey');
  // pg would otherwise re-read these from the string and override the options below.
  take('ssl');
  let ssl: ConnectionOptions | false;
  switch (sslmode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      ssl = false;
      break;
    case 'require':
      // libpq: encrypt, but check the certificate only if a root certificate is given.
      ssl = { rejectUnauthorized: rootCert !== null };
      break;
    case 'verify-ca':
      // The chain is checked, the host name is not.
      ssl = { rejectUnauthorized: true, checkServerIdentity: () => undefined };
      break;
    case 'verify-full':
      ssl = { rejectUnauthorized: true };
      break;
    default:
      throw new Error(`unsupported sslmode "${sslmode}" (use disable, require, verify-ca or verify-full)`);
  }
  if (ssl) {
    if (rootCert) ssl.ca = readFileSync(rootCert, 'utf8');
    if (cert) ssl.cert = readFileSync(cert, 'utf8');
    if (key) ssl.key = readFileSync(key, 'utf8');
  }
  return { connectionString: url.toString(), max, ssl };
}

async function openPostgres(databaseUrl: string): Promise<DatabaseHandle> {
  const settings = parsePostgresUrl(databaseUrl);
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: settings.connectionString,
    max: settings.max,
    ssl: settings.ssl,
    types: wharfTypes(pg.types),
    application_name: 'wharf',
    // A node that cannot reach the database fails its requests quickly instead of queueing forever.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection (database restart, failover) must not crash the node;
  // the pool replaces it on the next checkout.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: trackTransactions(new PostgresDialect({ pool })) });
  directReads.set(db, postgresDirectRead(pool));
  return { db, kind: 'postgres', close: () => db.destroy(), poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }) };
}

export function isPostgresUrl(databaseUrl: string): boolean {
  return databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://');
}

export async function openDatabase(databaseUrl: string): Promise<DatabaseHandle> {
  if (isPostgresUrl(databaseUrl)) return openPostgres(databaseUrl);
  if (databaseUrl.startsWith('sqlite:')) return openSqlite(databaseUrl.slice('sqlite:'.length));
  throw new Error(`unsupported database URL "${databaseUrl}" (use sqlite:<path> or postgres://…)`);
}

/** The file of a `sqlite:` database URL; null for PostgreSQL. */
export function sqliteFileOf(databaseUrl: string): string | null {
  return databaseUrl.startsWith('sqlite:') ? databaseUrl.slice('sqlite:'.length) : null;
}

/**
 * Copies a live SQLite database to `destination` with SQLite's online backup API, through a
 * connection of its own. All pages go in one step after the first, inside one read transaction:
 * a copy taken in many small steps restarts whenever another connection writes, and could never
 * finish while Wharf serves writes. In WAL mode writers are not blocked meanwhile.
 */
export async function backupSqliteFile(source: string, destination: string): Promise<{ pages: number }> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const sqlite = new BetterSqlite3(source, { fileMustExist: true });
  try {
    sqlite.pragma('busy_timeout = 10000');
    const result = await sqlite.backup(destination, { progress: () => 0x7fffffff });
    return { pages: result.totalPages };
  } finally {
    sqlite.close();
  }
}
