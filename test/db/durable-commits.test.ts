/**
 * SQLite commits are made durable by an fsync of the WAL off the event loop, shared by the
 * writers that committed before it began (`src/db/sqlite-durable-commits.ts`). A writer is
 * answered only after such a sync; reads wait for none; two processes write one file together,
 * transactions that read before they write included (write transactions begin IMMEDIATE, read-only
 * ones deferred); and a process killed mid-write loses no acknowledged row.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, SQLITE_CHECKPOINT_PAGES, SQLITE_WAL_SIZE_LIMIT, walSyncOf, type DatabaseHandle } from '../../src/db/dialect.ts';
import { MAX_WAL_SYNCS } from '../../src/db/sqlite-durable-commits.ts';

const WRITER = path.resolve('test/db/support/sqlite-writer.ts');
const dirs: string[] = [];
const handles: DatabaseHandle[] = [];

afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function freshDatabase(): Promise<{ file: string; handle: DatabaseHandle }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-durable-'));
  dirs.push(dir);
  const file = path.join(dir, 'test.db');
  const handle = await openDatabase(`sqlite:${file}`);
  handles.push(handle);
  await sql`create table durable_rows (writer text not null, n integer not null, primary key (writer, n))`.execute(handle.db);
  return { file, handle };
}

interface Writer {
  acknowledged: number[];
  exited: Promise<{ code: number | null; stderr: string; done: boolean }>;
  kill(): void;
  /** Resolves once `n` rows are acknowledged. */
  reached(n: number): Promise<void>;
}

function startWriter(file: string, name: string, count: number, concurrency: number, mode?: 'read-first'): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, name, String(count), String(concurrency), ...(mode ? [mode] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acknowledged: number[] = [];
  let stderr = '';
  let done = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'done') done = true;
      else if (line.startsWith('ok ')) acknowledged.push(Number(line.slice(3)));
    }
    for (const w of waiters.filter((w) => acknowledged.length >= w.n)) w.resolve();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; done: boolean }>((resolve) => child.on('exit', (code) => resolve({ code, stderr, done })));
  return {
    acknowledged,
    exited,
    kill: () => child.kill('SIGKILL'),
    reached: (n) =>
      new Promise((resolve, reject) => {
        if (acknowledged.length >= n) return resolve();
        waiters.push({ n, resolve });
        void exited.then(() => reject(new Error(`writer exited after ${acknowledged.length} rows: ${stderr}`)));
      }),
  };
}

async function rowsOf(file: string, writer: string): Promise<Set<number>> {
  const handle = await openDatabase(`sqlite:${file}`);
  try {
    const { rows } = await sql<{ n: number }>`select n from durable_rows where writer = ${writer}`.execute(handle.db);
    return new Set(rows.map((r) => r.n));
  } finally {
    await handle.close();
  }
}

describe('durable SQLite commits', () => {
  it('answers a write only after a sync of the WAL, shares syncs between concurrent writers, and makes none for reads', async () => {
    const { handle } = await freshDatabase();
    const sync = walSyncOf(handle.db)!;
    expect(sync).toBeDefined();

    let before = sync.syncs;
    await sql`insert into durable_rows (writer, n) values ('a', 0)`.execute(handle.db);
    expect(sync.syncs).toBeGreaterThan(before);

    before = sync.syncs;
    await handle.db.transaction().execute(async (trx) => {
      await sql`insert into durable_rows (writer, n) values ('a', 1)`.execute(trx);
      await sql`insert into durable_rows (writer, n) values ('a', 2)`.execute(trx);
    });
    expect(sync.syncs).toBeGreaterThan(before);

    // Reads, alone or in a transaction, wait for no sync.
    before = sync.syncs;
    await sql`select count(*) from durable_rows`.execute(handle.db);
    await handle.db.transaction().execute((trx) => sql`select * from durable_rows`.execute(trx));
    expect(sync.syncs).toBe(before);

    // Sixteen writers at once: each answered after a sync begun after its commit, far fewer than sixteen.
    before = sync.syncs;
    await Promise.all(Array.from({ length: 16 }, (_, i) => sql`insert into durable_rows (writer, n) values ('b', ${i})`.execute(handle.db)));
    const shared = sync.syncs - before;
    expect(shared).toBeGreaterThanOrEqual(1);
    expect(shared).toBeLessThan(8);

    // A writer that fails fails alone; the others are committed.
    const outcomes = await Promise.allSettled([
      sql`insert into durable_rows (writer, n) values ('c', 1)`.execute(handle.db),
      sql`insert into durable_rows (writer, n) values ('a', 0)`.execute(handle.db),
      handle.db.transaction().execute((trx) => sql`insert into durable_rows (writer, n) values ('c', 2)`.execute(trx)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const { rows } = await sql<{ n: number }>`select n from durable_rows where writer = 'c' order by n`.execute(handle.db);
    expect(rows.map((r) => r.n)).toEqual([1, 2]);
  });

  it('begins a second sync at once while one is under way, and no more: later commits share the next', async () => {
    const { handle } = await freshDatabase();
    const sync = walSyncOf(handle.db)!;
    await sql`insert into durable_rows (writer, n) values ('d', 0)`.execute(handle.db);
    const before = sync.syncs;
    // Ten commits' waits at one moment: one sync each for the first two, one shared by the other eight.
    await Promise.all(Array.from({ length: 10 }, () => sync.durable()));
    expect(MAX_WAL_SYNCS).toBe(2);
    expect(sync.syncs - before).toBe(MAX_WAL_SYNCS + 1);
    // Each later wait is again a sync of its own, begun after it asked.
    await sync.durable();
    expect(sync.syncs - before).toBe(MAX_WAL_SYNCS + 2);
  });

  it('checkpoints the WAL only after many pages, and keeps its file bounded', async () => {
    const { file, handle } = await freshDatabase();
    const pragma = async (name: string) => Object.values((await sql.raw<Record<string, number>>(`pragma ${name}`).execute(handle.db)).rows[0]!)[0];
    expect(await pragma('wal_autocheckpoint')).toBe(SQLITE_CHECKPOINT_PAGES);
    expect(await pragma('journal_size_limit')).toBe(SQLITE_WAL_SIZE_LIMIT);
    await sql`create table wal_rows (n integer primary key, filler blob not null)`.execute(handle.db);
    const walSize = () => statSync(`${file}-wal`).size;
    // About 2,000 pages, in commits of 32 KiB: past SQLite's default mark, nothing checkpointed yet,
    // so the WAL holds them all.
    for (let n = 0; n < 256; n++) await sql`insert into wal_rows (n, filler) values (${n}, zeroblob(32768))`.execute(handle.db);
    expect(walSize()).toBeGreaterThan(1000 * 4096 * 1.5);
    // Some 24,000 pages more: checkpoints run and the file is reused, never much past the mark.
    for (let n = 256; n < 3328; n++) await sql`insert into wal_rows (n, filler) values (${n}, zeroblob(32768))`.execute(handle.db);
    expect(walSize()).toBeLessThan(SQLITE_CHECKPOINT_PAGES * 4200 * 1.2);
    const { rows } = await sql<{ c: number }>`select count(*) as c from wal_rows`.execute(handle.db);
    expect(rows[0]!.c).toBe(3328);
  });

  it('lets two processes write one file at once, and loses no acknowledged row of a process killed mid-write', async () => {
    const { file, handle } = await freshDatabase();
    await handle.close();
    handles.splice(handles.indexOf(handle), 1);

    const steady = startWriter(file, 'steady', 300, 8);
    const killed = startWriter(file, 'killed', 100_000, 8);
    // Killed once it has written a good many rows, while the other process still writes.
    await killed.reached(150);
    killed.kill();
    const k = await killed.exited;
    expect(k.done).toBe(false);
    const s = await steady.exited;
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    expect(s.done).toBe(true);

    const steadyRows = await rowsOf(file, 'steady');
    expect(steadyRows.size).toBe(300);
    const killedRows = await rowsOf(file, 'killed');
    expect(killed.acknowledged.length).toBeGreaterThanOrEqual(150);
    for (const n of killed.acknowledged) expect(killedRows.has(n)).toBe(true);
  }, 120_000);

  it('lets two processes run transactions that read, then write, on one file at once: none fails', async () => {
    const { file, handle } = await freshDatabase();
    await handle.close();
    handles.splice(handles.indexOf(handle), 1);

    // A deferred transaction that read before the other process committed could not take the
    // write lock afterwards (SQLITE_BUSY at once); write transactions begin IMMEDIATE, and wait.
    const writers = [startWriter(file, 'one', 200, 8, 'read-first'), startWriter(file, 'two', 200, 8, 'read-first')];
    for (const w of writers) {
      const exit = await w.exited;
      expect(exit.stderr).toBe('');
      expect(exit.code).toBe(0);
      expect(exit.done).toBe(true);
    }
    expect((await rowsOf(file, 'one')).size).toBe(200);
    expect((await rowsOf(file, 'two')).size).toBe(200);
  }, 120_000);

  it('begins a read-only transaction deferred (no write lock) and a write transaction IMMEDIATE (the write lock at BEGIN)', async () => {
    const { file, handle } = await freshDatabase();
    const other = await openDatabase(`sqlite:${file}`);
    handles.push(other);
    // While this read-only transaction is open, the other connection can still write at once.
    await handle.db
      .transaction()
      .setAccessMode('read only')
      .execute(async (trx) => {
        await sql`select count(*) from durable_rows`.execute(trx);
        await sql`insert into durable_rows (writer, n) values ('other', 1)`.execute(other.db);
      });
    // A write transaction holds the write lock from its BEGIN, before it has written anything:
    // a connection that does not wait (busy_timeout 0) is refused a write meanwhile.
    const outcome = await handle.db.transaction().execute(async () => {
      const probe = new BetterSqlite3(file);
      try {
        probe.pragma('busy_timeout = 0');
        probe.prepare("insert into durable_rows (writer, n) values ('probe', 1)").run();
        return 'wrote';
      } catch (err) {
        return (err as { code?: string }).code;
      } finally {
        probe.close();
      }
    });
    expect(outcome).toBe('SQLITE_BUSY');
  });
});
