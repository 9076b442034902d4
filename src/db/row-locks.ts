/**
 * Whether a database takes row locks. On PostgreSQL writers lock the rows they touch, so a
 * transaction that needs a parent row locked (to update it later, or to keep a concurrent delete
 * out) takes that lock before it inserts or updates the parent's children: a child's foreign key
 * share-locks the parent, and a share lock taken first and then raised to an update lock deadlocks
 * against a writer that locks the parent meanwhile (docs/architecture.md, lock order). On SQLite
 * a write transaction begins IMMEDIATE and holds the database's one write lock from its start:
 * there is no row lock to take, and taking none spares a statement on its hot write paths.
 */
import { PostgresAdapter, type Kysely } from 'kysely';

export function takesRowLocks<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
