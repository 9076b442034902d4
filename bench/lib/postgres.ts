/**
 * @module bench/lib/postgres
 * A throw-away PostgreSQL database for the scenarios that also run on PostgreSQL (`--postgres
 * URL`, a server where the role may create databases). Created with the C collation Wharf's
 * deployment guide asks for, dropped when the run ends, however it ends.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onCleanup } from './cleanup.ts';

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a database on the server at `serverUrl`; returns its URL and how to drop it. */
export async function createBenchDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `wharf_bench_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `create database ${name} template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    unregister();
    await admin(serverUrl, `drop database if exists ${name} with (force)`);
  };
  const unregister = onCleanup(drop);
  return { url: url.toString(), drop };
}
