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

const DEFAULT_CAPACITY = 500;

export function withStatementCache(db: BetterSqlite3.Database, capacity = DEFAULT_CAPACITY): SqliteDatabase {
  const cache = new Map<string, { stmt: BetterSqlite3.Statement; order: number }>();
  // Statements put last in the order so far; each entry's `order` is its place in it, oldest first.
  let inserted = 0;
  return {
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.stmt.busy) {
        // Least recently used first out. A statement is moved last only once it is no longer among
        // the newer half: moving it on every use cost a new hash table every few uses, which V8
        // allocates in the old generation (as long-lived as this map), megabytes a second of
        // garbage there under load, and full collections every few seconds.
        if (inserted - cached.order > cache.size >> 1) {
          cache.delete(sql);
          cached.order = ++inserted;
          cache.set(sql, cached);
        }
        return cached.stmt;
      }
      const stmt = db.prepare(sql);
      if (!cached) {
        cache.set(sql, { stmt, order: ++inserted });
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
