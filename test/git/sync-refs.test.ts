/**
 * `syncRefs` (services/refs.ts) when git keeps moving: it lists git before its transaction and
 * records nothing from a listing that git has overtaken (a ref it would record has moved since),
 * tries again, and after its optimistic attempts reads git under the repository's lock. Here a
 * writer moves a ref between every listing and its transaction, deterministically: the context
 * handed to `syncRefs` runs that writer whenever a transaction is about to start.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from 'kysely';
import { gitDirFor, type AppContext } from '../../src/context.ts';
import type { Database } from '../../src/db/schema.ts';
import { syncRefs, type RefActor } from '../../src/services/refs.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

const run = promisify(execFile);
let server: TestServer;
let owner: TestUser;

beforeAll(async () => {
  server = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false' } });
  owner = await createUser(server);
});
afterAll(async () => {
  await server?.close();
});

/** `ctx` whose `db.transaction().execute(…)` first awaits `before()`: the moment after git was listed. */
function beforeEveryTransaction(ctx: AppContext, before: () => Promise<void>): AppContext {
  const db = new Proxy(ctx.db, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
      return () => {
        const builder = target.transaction();
        return {
          async execute<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
            await before();
            return builder.execute(fn);
          },
        };
      };
    },
  });
  return { ...ctx, db };
}

describe('syncRefs when git moves between its listing and its transaction', () => {
  it('records nothing from an overtaken listing, then reads git under the lock: no existing tag recorded as deleted, the new tag recorded', async () => {
    const ctx = server.wharf.ctx;
    const { json } = await createRepo(server, owner, { auto_init: true });
    const repo = await ctx.db.selectFrom('repositories').selectAll().where('id', '=', json.id).executeTakeFirstOrThrow();
    const git = async (...args: string[]) => (await run('git', ['--git-dir', gitDirFor(ctx, { id: repo.id }), ...args])).stdout.trim();
    const actor: RefActor = { user: { id: owner.id, login: owner.login }, via: 'push' };
    const main = await git('rev-parse', 'refs/heads/main');
    const tree = await git('rev-parse', 'refs/heads/main^{tree}');
    const other = await git('commit-tree', tree, '-p', main, '-m', 'second');

    // The database knows `keep`…
    await git('update-ref', 'refs/tags/keep', main);
    expect(await syncRefs(ctx, repo, actor)).toEqual([{ ref: 'refs/tags/keep', before: null, after: main }]);
    const eventsOf = async () =>
      (await ctx.db.selectFrom('events').select(['id', 'type', 'data']).where('repository_id', '=', repo.id).orderBy('id').execute()).map((e) => ({
        ...e,
        data: JSON.parse(e.data) as Record<string, unknown>,
      }));
    const seen = new Set((await eventsOf()).map((e) => e.id));

    // …then git loses it and gains `new`: the first listing shows `keep` deleted.
    await git('update-ref', '-d', 'refs/tags/keep');
    await git('update-ref', 'refs/tags/new', main);
    // Between each listing and its transaction another writer puts `keep` back and moves `new`
    // (main, other, main, …), so every listing taken before a transaction is overtaken.
    let transactions = 0;
    const moving = beforeEveryTransaction(ctx, async () => {
      transactions++;
      await git('update-ref', 'refs/tags/keep', main);
      await git('update-ref', 'refs/tags/new', transactions % 2 === 1 ? other : main);
    });

    const changes = await syncRefs(moving, repo, actor);

    // Three optimistic attempts, each overtaken, then the one that lists git under the lock.
    expect(transactions).toBe(4);
    const finalNew = await git('rev-parse', 'refs/tags/new');
    expect(finalNew).toBe(main);
    expect(changes).toEqual([{ ref: 'refs/tags/new', before: null, after: finalNew }]);
    const known = await ctx.db.selectFrom('repository_refs').select(['ref', 'sha']).where('repository_id', '=', repo.id).orderBy('ref').execute();
    expect(known).toEqual([
      { ref: 'refs/heads/main', sha: main },
      { ref: 'refs/tags/keep', sha: main },
      { ref: 'refs/tags/new', sha: main },
    ]);
    // Events for `new` alone, once, at the sha git has: none says `keep` went.
    const events = (await eventsOf()).filter((e) => !seen.has(e.id));
    expect(events.map((e) => ({ type: e.type, ref: e.data.ref, sha: e.data.sha ?? e.data.after }))).toEqual([
      { type: 'ref.created', ref: 'new', sha: main },
      { type: 'push', ref: 'refs/tags/new', sha: main },
    ]);
    // Git and the database agree: a plain sync finds nothing left to record.
    expect(await syncRefs(ctx, repo, actor)).toEqual([]);
  });
});
