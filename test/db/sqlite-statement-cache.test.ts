import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from '../../src/db/sqlite-statement-cache.ts';

function open() {
  const raw = new BetterSqlite3(':memory:');
  raw.exec("create table t (id integer primary key, v text); insert into t (v) values ('a'), ('b'), ('c')");
  return raw;
}

describe('SQLite statement cache', () => {
  it('hands out the same prepared statement for the same SQL', () => {
    const db = withStatementCache(open());
    const first = db.prepare('select v from t where id = ?');
    expect(db.prepare('select v from t where id = ?')).toBe(first);
    expect(db.prepare('select v from t where id > ?')).not.toBe(first);
    db.close();
  });

  it('never shares a statement that is still being iterated', () => {
    const db = withStatementCache(open());
    const sql = 'select v from t order by id';
    const iterating = db.prepare(sql) as unknown as BetterSqlite3.Statement;
    const it = iterating.iterate();
    it.next();
    const other = db.prepare(sql) as unknown as BetterSqlite3.Statement;
    expect(other).not.toBe(iterating);
    expect(other.all()).toEqual([{ v: 'a' }, { v: 'b' }, { v: 'c' }]);
    it.return?.();
    expect(db.prepare(sql)).toBe(iterating);
    db.close();
  });

  it('stays bounded, evicting a text not used while half the others were prepared after it', () => {
    const db = withStatementCache(open(), 4);
    const [a, b] = ['select 1', 'select 2', 'select 3', 'select 4'].map((sql) => db.prepare(sql));
    expect(db.prepare('select 1')).toBe(a); // the oldest, used: now the most recent
    db.prepare('select 5'); // evicts "select 2"
    expect(db.prepare('select 1')).toBe(a);
    expect(db.prepare('select 2')).not.toBe(b);
    db.close();
  });
});
