/**
 * Wharf's database read around Wharf, as an operator's tool would: its SQLite file opened
 * read-only, or the test's PostgreSQL database for that data directory. Crash tests check with it
 * what a killed process left behind, without starting another Wharf to ask.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { testDatabaseServer } from '../../support/database.ts';
import { storeEnv } from '../../support/server.ts';

/** Rows of `text` (with `?` placeholders) on the database of the instance in `dataDir`. */
export async function rowsAround<T>(dataDir: string, text: string, params: unknown[] = []): Promise<T[]> {
  if (testDatabaseServer) {
    const client = new pg.Client({ connectionString: (await storeEnv(dataDir)).WHARF_DATABASE_URL });
    await client.connect();
    try {
      return (
        await client.query(
          text.replace(/\?/g, (_, i: number) => `$${text.slice(0, i).split('?').length}`),
          params,
        )
      ).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = new BetterSqlite3(path.join(dataDir, 'wharf.db'), { readonly: true });
  try {
    return db.prepare(text).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** SQLite's integrity check of the instance's file ('ok' when sound); null on PostgreSQL. */
export function sqliteIntegrity(dataDir: string): string | null {
  if (testDatabaseServer) return null;
  const db = new BetterSqlite3(path.join(dataDir, 'wharf.db'), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}
