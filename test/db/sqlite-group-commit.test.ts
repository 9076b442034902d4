/** The SQLite driver whose concurrent writers share one durable commit. */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql, type Generated, type SqliteDatabase } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommitSqliteDriver } from '../../src/db/sqlite-group-commit.ts';
import { withStatementCache } from '../../src/db/sqlite-statement-cache.ts';

interface Db {
  items: { id: Generated<number>; name: string };
}

let dir: string;
let file: string;
let db: Kysely<Db>;
let commits: number;
/** A third connection, as another process would see the file: committed data only. */
let outsider: BetterSqlite3.Database;

function counting(statements: SqliteDatabase): SqliteDatabase {
  return {
    prepare: (text: string) => {
      if (text === 'commit') commits++;
      return statements.prepare(text);
    },
    close: () => statements.close(),
  };
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'wharf-group-commit-'));
  file = path.join(dir, 'db.sqlite');
  commits = 0;
  const writer = new BetterSqlite3(file);
  writer.pragma('journal_mode = WAL');
  writer.pragma('synchronous = FULL');
  const reader = new BetterSqlite3(file);
  const driver = new GroupCommitSqliteDriver({ writer, writerStatements: counting(withStatementCache(writer)), readerStatements: withStatementCache(reader) });
  db = new Kysely<Db>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => driver,
      createIntrospector: (k) => new SqliteIntrospector(k),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
  await db.schema
    .createTable('items')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .execute();
  commits = 0;
  outsider = new BetterSqlite3(file, { readonly: true });
});

afterEach(async () => {
  outsider.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const committedNames = () => (outsider.prepare('select name from items order by id').all() as Array<{ name: string }>).map((r) => r.name);

describe('SQLite group commit', () => {
  it('commits concurrent transactions together, each answered only once its rows are durable', async () => {
    const done = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        db
          .transaction()
          .execute(async (trx) => {
            await trx
              .insertInto('items')
              .values({ name: `t${i}` })
              .execute();
            await trx
              .insertInto('items')
              .values({ name: `u${i}` })
              .execute();
            // When a writer learns it has committed, another connection sees its rows.
            return i;
          })
          .then((i) => committedNames().includes(`u${i}`)),
      ),
    );
    expect(done).toEqual(Array.from({ length: 16 }, () => true));
    expect(committedNames()).toHaveLength(32);
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThan(16);
  });

  it('groups writes outside transactions too, and answers them after the commit', async () => {
    const seen = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        db
          .insertInto('items')
          .values({ name: `w${i}` })
          .returning('id')
          .executeTakeFirstOrThrow()
          .then((row) => ({ id: row.id, durable: committedNames().includes(`w${i}`) })),
      ),
    );
    expect(seen.every((s) => s.durable && s.id > 0)).toBe(true);
    expect(commits).toBeLessThan(10);
  });

  it('rolls a failing transaction back to its own savepoint: the others in its group keep their rows', async () => {
    const results = await Promise.allSettled([
      db.transaction().execute((trx) => trx.insertInto('items').values({ name: 'a' }).execute()),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ name: 'b' }).execute();
        // A unique violation: this transaction fails, with its first row.
        await trx.insertInto('items').values({ name: 'a' }).execute();
      }),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ name: 'c' }).execute();
        throw new Error('changed my mind');
      }),
      db.transaction().execute((trx) => trx.insertInto('items').values({ name: 'd' }).execute()),
      db.insertInto('items').values({ name: 'd' }).execute(),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled', 'rejected']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/changed my mind/);
    expect(committedNames()).toEqual(['a', 'd']);
  });

  it('answers reads outside transactions from committed data, without waiting for writers', async () => {
    await db.insertInto('items').values({ name: 'old' }).execute();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const writer = db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ name: 'new' }).execute();
      // Sees its own row inside the transaction.
      expect((await trx.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['old', 'new']);
      await held;
    });
    await new Promise((resolve) => setImmediate(resolve));
    // The write connection is held; a read outside the transaction is answered at once, without the uncommitted row.
    expect((await db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['old']);
    expect((await sql<{ n: number }>`select count(*) as n from items`.execute(db)).rows[0]!.n).toBe(1);
    release();
    await writer;
    expect((await db.selectFrom('items').select('name').execute()).map((r) => r.name)).toEqual(['old', 'new']);
  });

  it('lets writers that asked before a close finish and commit, and refuses later ones', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = db.transaction().execute(async (trx) => {
      await trx.insertInto('items').values({ name: 'first' }).execute();
      await held;
    });
    await new Promise((resolve) => setImmediate(resolve));
    const queued = db.insertInto('items').values({ name: 'queued' }).execute();
    await new Promise((resolve) => setImmediate(resolve));
    const closing = db.destroy();
    release();
    await Promise.all([first, queued, closing]);
    expect(committedNames()).toEqual(['first', 'queued']);
    await expect(db.insertInto('items').values({ name: 'late' }).execute()).rejects.toThrow();
  });
});
