/**
 * @module db/compiled-once
 * Kysely builds and compiles a query's SQL on every call. For the few reads every API request
 * makes (the generations the read cache checks), that costs more than running them: here the
 * query is compiled once per database handle and later calls only bind their values, and run on
 * the driver directly (`dialect.ts`, `directReadOf`): on SQLite the prepared statement of the
 * reading connection at once, without a promise (`sqlite-statement-cache.ts`), on PostgreSQL as a
 * named prepared statement, planned once per connection. Kysely's own way when there is no
 * direct read (a transaction's handle).
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import { directReadOf } from './dialect.ts';
import type { Database } from './schema.ts';

/**
 * Wraps `build` (a query over string values) so that its SQL is compiled on the first call with a
 * handle and reused, with each call's values bound in their places. Constants in the query stay.
 * `name` names the PostgreSQL prepared statement (unique per query). The rows come at once where
 * the engine answers at once (SQLite), else as a promise.
 */
export function compiledOnce<P extends string[], R>(
  name: string,
  build: (db: Kysely<Database>, ...values: P) => Compilable<R>,
): (db: Kysely<Database>, ...values: P) => R[] | Promise<R[]> {
  const compiled = new WeakMap<Kysely<Database>, { query: CompiledQuery<R>; slots: number[] }>();
  return (db, ...values) => {
    let entry = compiled.get(db);
    if (!entry) {
      // Placeholders no caller's value can equal, to find where each value lands among the parameters.
      const placeholders = values.map((_, i) => `\u0000value ${i}\u0000`) as P;
      const query = build(db, ...placeholders).compile();
      entry = { query, slots: query.parameters.map((p) => placeholders.indexOf(p as string)) };
      compiled.set(db, entry);
    }
    const { query, slots } = entry;
    const parameters = slots.map((slot, i) => (slot >= 0 ? values[slot] : query.parameters[i]));
    const rows = directReadOf(db)?.(name, query.sql, parameters);
    if (rows !== undefined) return rows as R[] | Promise<R[]>;
    return db.executeQuery<R>({ ...query, parameters }).then((result) => result.rows);
  };
}
