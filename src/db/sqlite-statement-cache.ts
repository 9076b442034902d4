/**
 * @module db/sqlite-statement-cache
 * Kysely's SQLite driver prepares every query anew, and compiling the SQL costs more than
 * running it on Wharf's small indexed reads (about a third of a release lookup's time). This
 * wrapper hands Kysely the same prepared statement for the same SQL text. Bounded, because
 * `IN (…)` lists of every length are distinct texts; a statement still being iterated is never
 * handed out twice.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { RecencyOrder } from '../util/recency-order.ts';

const DEFAULT_CAPACITY = 500;

export function withStatementCache(db: BetterSqlite3.Database, capacity = DEFAULT_CAPACITY): SqliteDatabase {
  const cache = new Map<string, { stmt: BetterSqlite3.Statement; order: number }>();
  // Least recently used first out (`util/recency-order.ts`).
  const order = new RecencyOrder();
  return {
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.stmt.busy) {
        order.used(cache, sql, cached);
        return cached.stmt;
      }
      const stmt = db.prepare(sql);
      if (!cached) {
        cache.set(sql, { stmt, order: order.next() });
        if (cache.size > capacity) cache.delete(cache.keys().next().value!);
      }
      return stmt;
    },
    close() {
      cache.clear();
      db.close();
    },
  };
}
