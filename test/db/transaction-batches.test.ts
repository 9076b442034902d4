/**
 * Concurrent SQLite write transactions share a COMMIT (`src/db/sqlite-transaction-batches.ts`),
 * each still atomic on its own. Commits are counted in the WAL file itself (a frame that ends a
 * commit carries the database's size), with a reader holding a snapshot so the WAL never starts
 * over; what each caller is told is checked on a connection of its own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/dialect.ts';
import type { Database } from '../../src/db/schema.ts';
import { BatchRolledBack, MAX_BATCH_TRANSACTIONS } from '../../src/db/sqlite-transaction-batches.ts';

const dirs: string[] = [];
const handles: DatabaseHandle[] = [];
const sides: BetterSqlite3.Database[] = [];

afterEach(async () => {
  for (const s of sides.splice(0)) s.close();
  for (const h of handles.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Fixture {
  db: Kysely<Database>;
  /** A connection of its own: sees committed rows only. */
  side: BetterSqlite3.Database;
  /** Commits written to the WAL since the fixture was made. */
  commits: () => number;
  rows: () => number[];
}

async function fixture(): Promise<Fixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wharf-batches-'));
  dirs.push(dir);
  const file = path.join(dir, 'test.db');
  const handle = await openDatabase(`sqlite:${file}`);
  handles.push(handle);
  await sql`create table batch_rows (n integer primary key)`.execute(handle.db);
  const side = new BetterSqlite3(file);
  sides.push(side);
  // A snapshot held open: no checkpoint can restart the WAL, so every commit stays countable.
  const snapshot = new BetterSqlite3(file);
  sides.push(snapshot);
  snapshot.prepare('begin').run();
  snapshot.prepare('select count(*) from sqlite_schema').get();
  const countCommits = (): number => {
    const wal = readFileSync(`${file}-wal`);
    const pageSize = wal.readUInt32BE(8);
    const salt = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
    let commits = 0;
    for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
      if (wal.readUInt32BE(at + 8) !== salt[0] || wal.readUInt32BE(at + 12) !== salt[1]) break;
      if (wal.readUInt32BE(at + 4) !== 0) commits++;
    }
    return commits;
  };
  const start = countCommits();
  return {
    db: handle.db,
    side,
    commits: () => countCommits() - start,
    rows: () => (side.prepare('select n from batch_rows order by n').all() as Array<{ n: number }>).map((r) => r.n),
  };
}

/** A transaction that reads, yields, then writes `n`, as a request's would. */
function insertRow(db: Kysely<Database>, n: number): Promise<void> {
  return db.transaction().execute(async (trx) => {
    await sql`select count(*) from batch_rows`.execute(trx);
    await new Promise((resolve) => setImmediate(resolve));
    await sql`insert into batch_rows (n) values (${n})`.execute(trx);
  });
}

describe('batched SQLite write transactions', () => {
  it('commits concurrent transactions together, and tells each caller only once its row is committed', async () => {
    const { db, side, commits, rows } = await fixture();
    const visibleWhenAnswered: boolean[] = [];
    const has = side.prepare('select 1 from batch_rows where n = ?');
    await Promise.all(
      Array.from({ length: 24 }, (_, n) =>
        insertRow(db, n).then(() => {
          visibleWhenAnswered.push(has.get(n) !== undefined);
        }),
      ),
    );
    expect(rows()).toEqual(Array.from({ length: 24 }, (_, n) => n));
    expect(visibleWhenAnswered).toEqual(Array(24).fill(true));
    // Twenty-four transactions, far fewer commits (one each without batching).
    expect(commits()).toBeGreaterThanOrEqual(1);
    expect(commits()).toBeLessThanOrEqual(6);
  });

  it('commits a writer on its own at once, one commit per transaction', async () => {
    const { db, commits, rows } = await fixture();
    for (let n = 0; n < 5; n++) {
      const began = performance.now();
      await insertRow(db, n);
      expect(commits()).toBe(n + 1);
      // No wait for writers that are not coming (the sync itself takes milliseconds on a slow disk).
      expect(performance.now() - began).toBeLessThan(1000);
    }
    expect(rows()).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps no batch longer than its limit of transactions', async () => {
    const { db, commits, rows } = await fixture();
    const count = MAX_BATCH_TRANSACTIONS * 3;
    await Promise.all(Array.from({ length: count }, (_, n) => insertRow(db, n)));
    expect(rows()).toHaveLength(count);
    expect(commits()).toBeGreaterThanOrEqual(3);
  });

  it('commits a batch left open for the scheduled commit itself, once the batch that scheduled it was committed by its age', async () => {
    const { db, rows } = await fixture();
    let later: Promise<void>[] = [];
    // Two transactions in one batch: the second to end schedules the batch's commit (nobody waits).
    const first = [
      insertRow(db, 1),
      db.transaction().execute(async (trx) => {
        await sql`insert into batch_rows (n) values (2)`.execute(trx);
        // After this transaction ends, before the scheduled commit: a slow transaction joins the
        // batch and outlives the scheduled commit's timer, and another waits behind it.
        setTimeout(() => {
          later = [
            db.transaction().execute(async (trx2) => {
              await sql`insert into batch_rows (n) values (3)`.execute(trx2);
              await new Promise((resolve) => setTimeout(resolve, 20));
            }),
            insertRow(db, 4),
          ];
        }, 1);
      }),
    ];
    // The slow one ends with the batch over its age and commits it; the one behind it opens a new
    // batch, which it leaves open for the scheduled commit waiting behind it. That commit must
    // commit the new batch too, or the last writer waits forever.
    const settled = Promise.all(first)
      .then(() => new Promise((resolve) => setTimeout(resolve, 5)))
      .then(() => Promise.all(later));
    const outcome = await Promise.race([settled.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('stuck'), 3000))]);
    expect(outcome).toBe('done');
    expect(rows()).toEqual([1, 2, 3, 4]);
  });

  it('rolls back only the transaction that fails; the others in its batch are committed', async () => {
    const { db, rows } = await fixture();
    await sql`insert into batch_rows (n) values (1000)`.execute(db);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, n) =>
        db.transaction().execute(async (trx) => {
          await sql`insert into batch_rows (n) values (${n})`.execute(trx);
          await new Promise((resolve) => setImmediate(resolve));
          if (n % 4 === 1) throw new Error(`refused ${n}`);
          // A constraint error in the middle of a transaction: it fails, and its first row goes too.
          if (n % 4 === 2) await sql`insert into batch_rows (n) values (1000)`.execute(trx);
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(Array.from({ length: 12 }, (_, n) => (n % 4 === 1 || n % 4 === 2 ? 'rejected' : 'fulfilled')));
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'refused 1' });
    expect(rows()).toEqual([0, 3, 4, 7, 8, 11, 1000]);
  });

  it('fails every transaction of a batch that SQLite rolls back by itself, each with a reason, and writes none of it', async () => {
    const { db, rows } = await fixture();
    // RAISE(ROLLBACK) ends the whole SQLite transaction, as a full disk or an I/O error can.
    await sql`create trigger batch_rows_refuse before insert on batch_rows when new.n = 5 begin select raise(rollback, 'five refused'); end`.execute(db);
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => insertRow(db, n)));
    const five = outcomes[5] as PromiseRejectedResult;
    expect(five.status).toBe('rejected');
    expect(String(five.reason)).toContain('five refused');
    const committed = rows();
    for (const [n, outcome] of outcomes.entries()) {
      // Answered success only if committed; every failure but five's own says why.
      expect(outcome.status === 'fulfilled').toBe(committed.includes(n));
      if (outcome.status === 'rejected' && n !== 5) expect(outcome.reason).toBeInstanceOf(BatchRolledBack);
    }
    expect(committed).not.toContain(5);
    // Five's batch held others: they learn that their writes were lost with it.
    expect(outcomes.some((o) => o.status === 'rejected' && o.reason instanceof BatchRolledBack)).toBe(true);
    // The connection goes on working.
    await insertRow(db, 100);
    expect(rows()).toContain(100);
  });
});
