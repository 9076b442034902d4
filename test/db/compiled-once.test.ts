/**
 * Statements compiled once (`db/compiled-once.ts`) must mean exactly what Kysely's own way means:
 * values of every type bound in their places (null included), each shape of values its own
 * statement, and inside a transaction every statement on the transaction's connection, so that
 * it rolls back with it, sees its uncommitted writes, and is refused once the transaction is over.
 * Runs on whichever store the test environment selects (SQLite, or PostgreSQL with
 * WHARF_TEST_DATABASE_URL).
 */
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledOnce } from '../../src/db/compiled-once.ts';
import type { Database } from '../../src/db/schema.ts';
import type { NewAuditRow } from '../../src/db/repos/audit-repo.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let db: Kysely<Database>;
beforeAll(async () => {
  server = await startServer();
  db = server.wharf.ctx.db;
}, 60_000);
afterAll(() => server.close());

const insertRows = compiledOnce('test_insert_audit', (db, rows: NewAuditRow[]) => db.insertInto('audit_log').values(rows).returning('id'));
const rowsOfAction = compiledOnce('test_audit_of_action', (db, action: string) => db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id'));
const rowsByIds = compiledOnce('test_audit_by_ids', (db, ids: number[]) => db.selectFrom('audit_log').select('id').where('id', 'in', ids).orderBy('id'));
const setActorIp = compiledOnce('test_audit_set_ip', (db, id: number, ip: string | null) => db.updateTable('audit_log').set({ actor_ip: ip }).where('id', '=', id));
// A builder that puts a value into the SQL text: binding cannot reproduce it, so it is built every time.
const literalPrefix = compiledOnce('test_audit_literal', (db, action: string, length: number) =>
  db
    .selectFrom('audit_log')
    .select('id')
    .where(sql<string>`substr(action, 1, ${sql.lit(length)})`, '=', action.slice(0, length)),
);

let serial = 0;
function row(action: string, over: Partial<NewAuditRow> = {}): NewAuditRow {
  serial++;
  return {
    action,
    actor_id: null,
    actor: `actor-${serial}`,
    actor_ip: null,
    user_id: serial,
    user_login: null,
    org_id: null,
    org: null,
    repository_id: null,
    repo: `o/r${serial}`,
    data: '{}',
    created_ms: 1_700_000_000_000 + serial,
    ...over,
  };
}

const unique = (what: string) => `test.${what}.${Math.random().toString(36).slice(2)}`;

describe(`statements compiled once (${process.env.WHARF_TEST_DATABASE_URL ? 'postgres' : 'sqlite'})`, () => {
  it('binds strings, numbers and null in their places, call after call, outside and inside transactions', async () => {
    const action = unique('values');
    const first = row(action, { actor_id: 7, actor_ip: '10.0.0.1', org: null, data: '{"a":1}' });
    const second = row(action, { actor_id: null, actor_ip: null, org: 'acme', org_id: 2 ** 40 });
    await insertRows(db, [first]);
    await insertRows(db, [second]);
    await db.transaction().execute(async (trx) => {
      await insertRows(trx, [row(action, { user_login: 'inside' })]);
      const direct = insertRows.runs.onTransactionConnection;
      await insertRows(trx, [row(action, { user_login: 'inside too', actor_id: 1 })]);
      // The transaction's second statement ran on its connection directly.
      expect(insertRows.runs.onTransactionConnection).toBe(direct + 1);
    });
    const { rows } = await rowsOfAction(db, action);
    expect(rows.map(({ id: _, ...r }) => r)).toEqual([
      first,
      second,
      expect.objectContaining({ user_login: 'inside' }),
      expect.objectContaining({ user_login: 'inside too', actor_id: 1 }),
    ]);
    // The same statement, other values: bound into the statement compiled before, nothing of the first call's stays.
    const bound = rowsOfAction.runs.bound;
    expect((await rowsOfAction(db, unique('nothing'))).rows).toEqual([]);
    expect(rowsOfAction.runs.bound).toBe(bound + 1);

    const id = rows[0]!.id;
    const updated = await setActorIp(db, id, null);
    expect(Number(updated.numAffectedRows)).toBe(1);
    expect((await rowsOfAction(db, action)).rows[0]!.actor_ip).toBeNull();
    await setActorIp(db, id, '::1');
    expect((await rowsOfAction(db, action)).rows[0]!.actor_ip).toBe('::1');
    expect(Number((await setActorIp(db, -1, 'x')).numAffectedRows)).toBe(0);
  });

  it('compiles lists of each length apart, multi-row inserts included, and builds longer ones every time', async () => {
    const action = unique('lists');
    const ids = (
      await insertRows(
        db,
        Array.from({ length: 3 }, () => row(action)),
      )
    ).rows.map((r) => r.id);
    expect(ids).toHaveLength(3);
    const more = (
      await insertRows(
        db,
        Array.from({ length: 20 }, () => row(action)),
      )
    ).rows.map((r) => r.id);
    expect(more).toHaveLength(20);
    expect((await rowsByIds(db, [ids[1]!])).rows.map((r) => r.id)).toEqual([ids[1]]);
    expect((await rowsByIds(db, ids)).rows.map((r) => r.id)).toEqual(ids);
    expect((await rowsByIds(db, [ids[2]!, ids[0]!])).rows.map((r) => r.id)).toEqual([ids[0], ids[2]]);
    expect((await rowsByIds(db, [...ids, ...more])).rows.map((r) => r.id)).toEqual([...ids, ...more]);
    expect((await rowsByIds(db, more.slice(5, 7))).rows.map((r) => r.id)).toEqual(more.slice(5, 7));
  });

  it('builds every time a query whose SQL text depends on its values', async () => {
    const action = unique('literal');
    await insertRows(db, [row(action)]);
    expect((await literalPrefix(db, action, action.length)).rows).toHaveLength(1);
    const built = literalPrefix.runs.built;
    expect((await literalPrefix(db, `${action}x`, action.length + 1)).rows).toHaveLength(0);
    expect((await literalPrefix(db, action, action.length)).rows).toHaveLength(1);
    expect(literalPrefix.runs).toMatchObject({ built: built + 2, bound: 0 });
  });

  it('runs in the transaction: its statements see its writes, roll back with it, and are unseen outside until it ends', async () => {
    const action = unique('rollback');
    let seenOutside: unknown[] | null = null;
    await expect(
      db.transaction().execute(async (trx) => {
        await insertRows(trx, [row(action)]);
        await insertRows(trx, [row(action, { actor_id: 3 })]);
        expect((await rowsOfAction(trx, action)).rows).toHaveLength(2);
        seenOutside = (await rowsOfAction(db, action)).rows;
        const [firstRow] = (await rowsOfAction(trx, action)).rows;
        await setActorIp(trx, firstRow!.id, '10.9.9.9');
        expect((await rowsOfAction(trx, action)).rows[0]!.actor_ip).toBe('10.9.9.9');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(seenOutside).toEqual([]);
    expect((await rowsOfAction(db, action)).rows).toEqual([]);

    // A transaction that commits keeps everything its compiled statements did.
    await db.transaction().execute(async (trx) => {
      await insertRows(trx, [row(action)]);
      await setActorIp(trx, (await rowsOfAction(trx, action)).rows[0]!.id, '10.1.1.1');
    });
    expect((await rowsOfAction(db, action)).rows.map((r) => r.actor_ip)).toEqual(['10.1.1.1']);
  });

  it('keeps concurrent transactions apart: each statement on its own transaction, one rolling back alone', async () => {
    const action = unique('apart');
    const slow = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const results = await Promise.allSettled(
      [0, 1, 2].map((n) =>
        db.transaction().execute(async (trx) => {
          for (let i = 0; i < 3; i++) {
            await insertRows(trx, [row(action, { actor_id: n })]);
            await slow(5);
          }
          expect((await rowsOfAction(trx, action)).rows.filter((r) => r.actor_id === n)).toHaveLength(3);
          if (n === 1) throw new Error('roll back one');
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const kept = (await rowsOfAction(db, action)).rows.map((r) => r.actor_id);
    expect(kept.sort()).toEqual([0, 0, 0, 2, 2, 2]);
  });

  it('refuses a transaction handle used after its end, and runs nothing on the connection then', async () => {
    const action = unique('stale');
    let stale: Kysely<Database> | null = null;
    await db.transaction().execute(async (trx) => {
      await insertRows(trx, [row(action)]);
      stale = trx;
    });
    await expect(Promise.resolve().then(() => insertRows(stale!, [row(action)]))).rejects.toThrow(/committed/);
    // Even while another transaction holds the connection (the only one, on SQLite).
    await db.transaction().execute(async (trx) => {
      await insertRows(trx, [row(action)]);
      await expect(Promise.resolve().then(() => insertRows(stale!, [row(action)]))).rejects.toThrow(/committed/);
    });
    expect((await rowsOfAction(db, action)).rows).toHaveLength(2);
  });
});
