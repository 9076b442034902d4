/**
 * A throw-away PostgreSQL database per test server when `WHARF_TEST_DATABASE_URL` names a
 * PostgreSQL server (a URL whose role may `CREATE DATABASE`, e.g. `postgres://wharf:…@127.0.0.1/postgres`).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  /** The database's own URL (WHARF_DATABASE_URL). */
  url: string;
  drop(): Promise<void>;
}

export const testDatabaseServer = process.env.WHARF_TEST_DATABASE_URL || null;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseServer! });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Drops a test database, ending whatever is still connected to it. An autovacuum worker may be
 * inside it; ending one needs `pg_signal_backend` (granted by .ci/run), and without it the drop
 * is retried until the worker has finished on its own.
 */
async function dropDatabase(name: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
      return;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!testDatabaseServer) throw new Error('WHARF_TEST_DATABASE_URL is not set');
  const name = `wharf_t_${randomBytes(6).toString('hex')}`;
  // The C collation sorts text by code point, as SQLite does (see docs/deploy.md).
  await admin((c) => c.query(`create database ${name} template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`));
  const url = new URL(testDatabaseServer);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => dropDatabase(name),
  };
}
