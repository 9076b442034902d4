/**
 * The ref reconciler (services/ref-reconciler.ts) in a running Wharf: changes made in git behind
 * the database's back are recorded once with their events, however many rounds run at once
 * (several nodes); a release's tag whose transaction died is removed, or kept when a published
 * release has claimed it since.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitDirFor } from '../../src/context.ts';
import { insertRefIntents } from '../../src/db/repos/refs-repo.ts';
import { reconcileRefs } from '../../src/services/ref-reconciler.ts';
import { call } from '../support/http.ts';
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

async function git(repoId: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['--git-dir', gitDirFor(server.wharf.ctx, { id: repoId }), ...args]);
  return stdout.trim();
}

async function eventTypes(repoId: number): Promise<string[]> {
  const rows = await server.wharf.ctx.db.selectFrom('events').select('type').where('repository_id', '=', repoId).orderBy('id').execute();
  return rows.map((r) => r.type);
}

/** A process that died long ago, as a lease holder: same host, a pid that cannot be running. */
const DEAD_HOLDER = 'elsewhere:1:dead';

describe('ref reconciler', () => {
  it('records changes made behind its back once, even with rounds racing (as on several nodes)', async () => {
    const { json: repo } = await createRepo(server, owner, { auto_init: true });
    const head = await git(repo.id, 'rev-parse', 'refs/heads/main');
    const before = await eventTypes(repo.id);
    await git(repo.id, 'update-ref', 'refs/tags/behind', head);
    await git(repo.id, 'update-ref', 'refs/heads/side', head);

    const rounds = await Promise.all([reconcileRefs(server.wharf.ctx), reconcileRefs(server.wharf.ctx), reconcileRefs(server.wharf.ctx)]);
    expect(rounds.reduce((n, r) => n + r.changes, 0)).toBe(2);
    expect((await eventTypes(repo.id)).slice(before.length).sort()).toEqual(['push', 'push', 'ref.created', 'ref.created']);
    expect((await reconcileRefs(server.wharf.ctx)).changes).toBe(0);
  });

  it("removes a dead release transaction's tag, and keeps one a published release has claimed since", async () => {
    const { full, json: repo } = await createRepo(server, owner, { auto_init: true });
    const head = await git(repo.id, 'rev-parse', 'refs/heads/main');
    const ctx = server.wharf.ctx;
    const intent = (ref: string) => ({ repositoryId: repo.id, ref, sha: head, purpose: 'release' as const, actorId: owner.id, holder: DEAD_HOLDER, now: Date.now() - 3_600_000 });
    // A dead process made both tags for releases that never committed…
    await git(repo.id, 'update-ref', 'refs/tags/orphan', head);
    await git(repo.id, 'update-ref', 'refs/tags/claimed', head);
    await insertRefIntents(ctx.db, [intent('refs/tags/orphan'), intent('refs/tags/claimed')]);
    // …and since then a release was published on one of them: it found the tag and took the
    // abandoned claim over, ending it with its own transaction.
    const claimed = await call('POST', `${server.api}/repos/${full}/releases`, { token: owner.token, body: { tag_name: 'claimed' } });
    expect(claimed.status).toBe(201);
    const left = await ctx.db.selectFrom('ref_intents').select('ref').where('repository_id', '=', repo.id).execute();
    expect(left.map((i) => i.ref)).toEqual(['refs/tags/orphan']);

    const result = await reconcileRefs(ctx);
    expect(result).toMatchObject({ tagsRemoved: 1, tagsAdopted: 0 });
    const tags = await git(repo.id, 'for-each-ref', '--format=%(refname)', 'refs/tags/');
    expect(tags.split('\n')).toEqual(['refs/tags/claimed']);
    expect(await ctx.db.selectFrom('ref_intents').selectAll().where('repository_id', '=', repo.id).execute()).toEqual([]);
    // The kept tag is recorded as created; the removed one never appears in any event.
    const events = await ctx.db.selectFrom('events').select(['type', 'data']).where('repository_id', '=', repo.id).execute();
    expect(events.filter((e) => e.data.includes('orphan'))).toEqual([]);
    expect(events.filter((e) => e.type === 'ref.created' && e.data.includes('"claimed"'))).toHaveLength(1);
  });

  it('keeps the tag of a release transaction still in progress on a live process', async () => {
    const { json: repo } = await createRepo(server, owner, { auto_init: true });
    const head = await git(repo.id, 'rev-parse', 'refs/heads/main');
    const ctx = server.wharf.ctx;
    const { LEASE_HOLDER } = await import('../../src/services/leases.ts');
    await git(repo.id, 'update-ref', 'refs/tags/inflight', head);
    await insertRefIntents(ctx.db, [{ repositoryId: repo.id, ref: 'refs/tags/inflight', sha: head, purpose: 'release', actorId: owner.id, holder: LEASE_HOLDER, now: Date.now() }]);
    const result = await reconcileRefs(ctx);
    expect(result.tagsRemoved).toBe(0);
    // Neither removed nor recorded: it is the release transaction's to record.
    expect(await git(repo.id, 'for-each-ref', '--format=%(refname)', 'refs/tags/')).toBe('refs/tags/inflight');
    const events = await ctx.db.selectFrom('events').select('data').where('repository_id', '=', repo.id).execute();
    expect(events.filter((e) => e.data.includes('inflight'))).toEqual([]);
    const known = await ctx.db.selectFrom('repository_refs').select('ref').where('repository_id', '=', repo.id).execute();
    expect(known.map((r) => r.ref)).toEqual(['refs/heads/main']);
  });
});
