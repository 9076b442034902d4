/**
 * @module db/compiled-once
 * Kysely builds, checks and compiles a query on every call, and runs it through its executor's
 * promise chain: for the small indexed statements of Wharf's hot paths (every API request's
 * generation reads, each statement of a release's creation) that costs more than running them.
 * A statement defined here is compiled once per shape of its values and database, later calls
 * only bind their values, and it runs the cheapest way that means the same:
 * - a read on a handle's root `Kysely` on the driver directly (`dialect.ts`, `directReadOf`): on
 *   SQLite the prepared statement of the reading connection at once (committed data only), on
 *   PostgreSQL a named prepared statement, planned once per connection;
 * - any statement of a transaction on the transaction's own connection, past Kysely's executor,
 *   once Kysely has handed that connection to the transaction and while the transaction is open
 *   (`open-transactions.ts`): never on another connection, never after its end;
 * - anything else (a write outside a transaction, a handle with plugins) through Kysely, compiled.
 *
 * How values are bound: the query is built with a stand-in for each string, number or other
 * value (any depth into plain objects and arrays), and each parameter that is a stand-in is
 * replaced by the call's value. Whatever could change the SQL itself is part of the shape, and
 * each shape is compiled apart: which keys objects have, list lengths (bounded: an `IN (…)` list
 * of each length is its own statement, and longer ones are built every time), which values are
 * null, undefined, true or false (passed to the builder as they are), and each value's type. The
 * first call of a shape also builds the query the ordinary way and uses the compiled statement
 * only if binding gives exactly that SQL and those parameters; a builder that inspects its values
 * in another way (formats them, puts them into the SQL text) is then built every time.
 */
import { SelectQueryNode, type Compilable, type CompiledQuery, type DatabaseConnection, type DialectAdapter, type Kysely, type QueryResult } from 'kysely';
import { directReadOf } from './dialect.ts';
import { transactionOn, type TransactionToken } from './open-transactions.ts';
import type { Database } from './schema.ts';

/** Longest list compiled as such; longer ones are built on every call. */
const MAX_LIST = 32;
/** Shapes compiled per statement and database; further shapes are built on every call. */
const MAX_SHAPES = 32;

/** How a statement's calls ran (for tests and measurements): bound into a compiled statement or built anew; in a transaction, on its connection directly. */
export interface CompiledRuns {
  bound: number;
  built: number;
  onTransactionConnection: number;
}

/** A compiled statement: its result now where the engine answers at once (a read on SQLite), else a promise. */
export interface CompiledStatement<A extends unknown[], R> {
  (db: Kysely<Database>, ...values: A): QueryResult<R> | Promise<QueryResult<R>>;
  readonly runs: Readonly<CompiledRuns>;
}

/** Stands for the value at `index` among a call's values, in order of `describe`. */
class StandIn {
  constructor(readonly index: number) {}
}

interface Template {
  query: CompiledQuery;
  /** Per parameter: the index of the call's value bound there, or -1 for a constant of the query. */
  slots: number[];
  /** PostgreSQL's name for the prepared statement (unique per SQL text). */
  name: string;
  read: boolean;
}

const names = new Set<string>();

/**
 * Wraps `build` so that its query is compiled once per shape of the values (see above) and
 * database. `name` (unique, a valid SQL identifier) names its PostgreSQL prepared statements.
 */
export function compiledOnce<A extends unknown[], R>(name: string, build: (db: Kysely<Database>, ...values: A) => Compilable<R>): CompiledStatement<A, R> {
  if (names.has(name)) throw new Error(`compiled statement "${name}" is defined twice`);
  names.add(name);
  // Per dialect adapter (one per root handle, shared by its transactions): shape → template, or null when built every time.
  const compiled = new WeakMap<DialectAdapter, Map<string, Template | null>>();
  const runs: CompiledRuns = { bound: 0, built: 0, onTransactionConnection: 0 };
  const statement = (db: Kysely<Database>, ...values: A): QueryResult<R> | Promise<QueryResult<R>> => {
    const executor = db.getExecutor();
    const leaves: unknown[] = [];
    const shape = executor.plugins.length === 0 ? describeAll(values, leaves) : null;
    let byShape = compiled.get(executor.adapter);
    if (!byShape) {
      byShape = new Map<string, Template | null>();
      compiled.set(executor.adapter, byShape);
    }
    const template = shape === null ? null : byShape.get(shape);
    if (template === undefined) {
      runs.built++;
      const query = build(db, ...values).compile();
      if (byShape.size >= MAX_SHAPES) return run(db, query, null, runs);
      const made = makeTemplate(`${name}_${byShape.size}`, db, build, values, leaves, query);
      byShape.set(shape!, made);
      // The query built now is the template's with these values bound: it runs the template's way.
      return run(db, query, made, runs);
    }
    if (template === null) {
      runs.built++;
      return run(db, build(db, ...values).compile(), null, runs);
    }
    runs.bound++;
    const { query, slots } = template;
    const parameters = slots.map((slot, i) => (slot >= 0 ? leaves[slot] : query.parameters[i]));
    return run<R>(db, { ...query, parameters }, template, runs);
  };
  return Object.assign(statement, { runs });
}

/**
 * The template for these values' shape: the query built with stand-ins, if binding `leaves` into
 * it gives `expected` exactly; else null (the builder does more with its values than pass them on).
 */
function makeTemplate<A extends unknown[], R>(
  name: string,
  db: Kysely<Database>,
  build: (db: Kysely<Database>, ...values: A) => Compilable<R>,
  values: A,
  leaves: unknown[],
  expected: CompiledQuery,
): Template | null {
  let query: CompiledQuery;
  try {
    const counter = { next: 0 };
    query = build(db, ...(values.map((v) => standIns(v, counter)) as A)).compile();
  } catch {
    return null;
  }
  const slots = query.parameters.map((p) => (p instanceof StandIn ? p.index : -1));
  if (query.sql !== expected.sql || slots.length !== expected.parameters.length) return null;
  for (let i = 0; i < slots.length; i++) {
    const bound = slots[i]! >= 0 ? leaves[slots[i]!] : query.parameters[i];
    if (!Object.is(bound, expected.parameters[i])) return null;
  }
  return { query, slots, name, read: SelectQueryNode.is(query.query) };
}

/** The shape of `values` (null: not to be compiled), collecting their leaf values in order into `leaves`. */
function describeAll(values: readonly unknown[], leaves: unknown[]): string | null {
  let shape = '';
  for (const value of values) {
    const part = describe(value, leaves);
    if (part === null) return null;
    shape += part;
  }
  return shape;
}

function describe(value: unknown, leaves: unknown[]): string | null {
  switch (typeof value) {
    case 'undefined':
      return 'u';
    case 'boolean':
      return value ? 'T' : 'F';
    case 'string':
      leaves.push(value);
      return 's';
    case 'number':
      leaves.push(value);
      return 'd';
    case 'bigint':
      leaves.push(value);
      return 'b';
    case 'object': {
      if (value === null) return 'n';
      if (Array.isArray(value)) {
        if (value.length > MAX_LIST) return null;
        let shape = '[';
        for (const item of value) {
          const part = describe(item, leaves);
          if (part === null) return null;
          shape += part;
        }
        return `${shape}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto === Object.prototype || proto === null) {
        let shape = '{';
        for (const key in value) {
          const part = describe((value as Record<string, unknown>)[key], leaves);
          if (part === null) return null;
          shape += `${key}\u0000${part}`;
        }
        return `${shape}}`;
      }
      // A Date, a Buffer…: one value, passed on as it is.
      leaves.push(value);
      return 'o';
    }
    default:
      // Functions and symbols: the builder does something with them other than binding.
      return null;
  }
}

/** `value` with stand-ins for its leaves, numbered as `describe` collects them. */
function standIns(value: unknown, counter: { next: number }): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) return value.map((item) => standIns(item, counter));
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto === Object.prototype || proto === null) {
        const copy: Record<string, unknown> = {};
        for (const key in value) copy[key] = standIns((value as Record<string, unknown>)[key], counter);
        return copy;
      }
      return new StandIn(counter.next++);
    }
    default:
      return new StandIn(counter.next++);
  }
}

/** The first row of a compiled statement's result, as Kysely's `executeTakeFirstOrThrow` gives it: an error when there is none. */
export function firstRowOrThrow<R>({ rows }: QueryResult<R>): R {
  if (rows.length === 0) throw new Error('no result');
  return rows[0]!;
}

/** A transaction's connection, once Kysely has handed it over, and that transaction's token. */
const heldConnections = new WeakMap<Kysely<Database>, { connection: DatabaseConnection; token: TransactionToken }>();

function run<R>(db: Kysely<Database>, query: CompiledQuery<R>, template: Template | null, runs: CompiledRuns): QueryResult<R> | Promise<QueryResult<R>> {
  if (db.getExecutor().plugins.length > 0) return db.executeQuery(query);
  if (db.isTransaction) return inTransaction(db, query, runs);
  const direct = template?.read ? directReadOf(db) : undefined;
  const rows = direct?.(template!.name, query.sql, query.parameters);
  if (rows === undefined) return db.executeQuery(query);
  return rows instanceof Promise ? rows.then((r) => ({ rows: r as R[] })) : { rows: rows as R[] };
}

/**
 * On the transaction's connection. The first statement goes through Kysely's connection provider
 * (which refuses a transaction that is over) and notes the connection with the token of the
 * transaction open on it; later ones run on it directly while that token is open.
 */
function inTransaction<R>(trx: Kysely<Database>, query: CompiledQuery<R>, runs: CompiledRuns): Promise<QueryResult<R>> {
  const held = heldConnections.get(trx);
  if (held?.token.open) {
    runs.onTransactionConnection++;
    return held.connection.executeQuery<R>(query);
  }
  return trx.getExecutor().provideConnection((connection) => {
    const token = transactionOn(connection);
    if (token?.open) heldConnections.set(trx, { connection, token });
    return connection.executeQuery<R>(query);
  });
}
