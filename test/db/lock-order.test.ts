/**
 * Lock order on PostgreSQL (docs/architecture.md, lock order): a transaction that will update or
 * delete a parent row locks it before it inserts, updates or deletes the parent's children, so two
 * writers never hold each other's locks. Each case makes the interleaving that deadlocked with the
 * other order happen every time: a trigger made here pauses the first writer right after its
 * child row's statement (an advisory lock this file's own connection holds), the second writer is
 * started and seen waiting for a row lock, and only then is the first let go. With the parent
 * locked first, the second simply waits for the first; with the child first, PostgreSQL found a
 * deadlock and one of them failed (a 500).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseServer } from '../support/database.ts';
import { call, type CallResult as Res } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

/** The advisory lock a paused writer waits for, and the one that makes only the first writer pause. */
const PAUSE = 730_101;
const FIRST = 730_102;

describe.skipIf(!testDatabaseServer)('lock order on PostgreSQL', () => {
  let server: TestServer;
  let owner: TestUser;
  let reader: TestUser;
  let control: pg.Client;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    server = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_EVENTS_POLL_MS: '50' } });
    receiver = await WebhookReceiver.start();
    owner = await createUser(server, uniqueName('own'), ['repo', 'read:org', 'delete_repo']);
    reader = await createUser(server, uniqueName('read'));
    control = new pg.Client({ connectionString: server.config.databaseUrl ?? undefined });
    await control.connect();
    // The first transaction to reach it waits for PAUSE (held by `control`); the others pass.
    await control.query(`create function wharf_test_pause() returns trigger language plpgsql as $$
      begin
        if pg_try_advisory_xact_lock(${FIRST}) then perform pg_advisory_xact_lock_shared(${PAUSE}); end if;
        return null;
      end $$`);
  });
  afterAll(async () => {
    await control?.end();
    await server?.close();
    await receiver?.close();
  });

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    // Generous: this waits for the server to get there, it measures nothing.
    const deadline = Date.now() + 60_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function waiting(onAdvisory: boolean): Promise<number> {
    const { rows } = await control.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and (wait_event = 'advisory') = $1`,
      [onAdvisory],
    );
    return Number(rows[0]!.n);
  }

  /**
   * Runs `first` until the statement of `event` on `table` (paused just after it, on a row
   * `when` holds for), then `second` until it waits for a row lock, then lets both go: their answers.
   */
  async function interleave(event: 'insert' | 'update' | 'delete', table: string, first: () => Promise<Res>, second: () => Promise<Res>, when = 'true'): Promise<[Res, Res]> {
    // After-row triggers fire in name order: `zz_` comes after the foreign key checks (`RI_…`).
    await control.query(`create trigger zz_test_pause after ${event} on ${table} for each row when (${when}) execute function wharf_test_pause()`);
    await control.query('select pg_advisory_lock($1)', [PAUSE]);
    let held = true;
    try {
      const a = first();
      await until('the first writer is paused', async () => (await waiting(true)) >= 1);
      const b = second();
      await until('the second writer waits for a row lock', async () => (await waiting(false)) >= 1);
      await control.query('select pg_advisory_unlock($1)', [PAUSE]);
      held = false;
      return [await a, await b];
    } finally {
      if (held) await control.query('select pg_advisory_unlock($1)', [PAUSE]);
      await control.query(`drop trigger zz_test_pause on ${table}`);
    }
  }

  async function seededRepo(): Promise<{ name: string; full: string; api: string }> {
    const { name, full } = await createRepo(server, owner);
    const work = await WorkRepo.create();
    await work.commit('first', { date: '2024-01-01T10:00:00Z' });
    await work.push(server, full, owner.token, 'main');
    await addCollaborator(server, owner, name, reader, 'pull');
    return { name, full, api: `${server.api}/repos/${full}` };
  }

  async function release(api: string, body: Record<string, unknown>): Promise<{ id: number }> {
    const res = await call('POST', `${api}/releases`, { token: owner.token, body });
    if (res.status !== 201) throw new Error(`create release: ${res.status} ${res.text}`);
    return res.body;
  }

  it('a reaction locks its release before it is inserted: a concurrent delete of the release waits', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const [reacted, deleted] = await interleave(
      'insert',
      'release_reactions',
      () => call('POST', `${r.api}/releases/${rel.id}/reactions`, { token: reader.token, body: { content: 'rocket' } }),
      () => call('DELETE', `${r.api}/releases/${rel.id}`, { token: owner.token }),
    );
    expect(reacted.status).toBe(201);
    expect(deleted.status).toBe(204);
    expect((await call('GET', `${r.api}/releases/${rel.id}`, { token: owner.token })).status).toBe(404);
  });

  it("a reaction's removal locks its release before the reaction: a concurrent delete of the release waits", async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const made = await call('POST', `${r.api}/releases/${rel.id}/reactions`, { token: reader.token, body: { content: 'eyes' } });
    expect(made.status).toBe(201);
    const [removed, deleted] = await interleave(
      'delete',
      'release_reactions',
      () => call('DELETE', `${r.api}/releases/${rel.id}/reactions/${made.body.id}`, { token: reader.token }),
      () => call('DELETE', `${r.api}/releases/${rel.id}`, { token: owner.token }),
    );
    expect(removed.status).toBe(204);
    expect(deleted.status).toBe(204);
  });

  it('a published release locks its repository before the release row: a concurrent deletion of the repository waits', async () => {
    const r = await seededRepo();
    const [created, deleted] = await interleave(
      'insert',
      'releases',
      () => call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0' } }),
      () => call('DELETE', r.api, { token: owner.token }),
    );
    expect(created.status).toBe(201);
    expect(deleted.status).toBe(204);
    expect((await call('GET', r.api, { token: owner.token })).status).toBe(404);
  });

  it("an upload's last step locks release then asset, as a deletion of the repository does: the deletion waits", async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const [uploaded, deleted] = await interleave(
      // The upload's transaction locks the release with a no-op update first.
      'update',
      'releases',
      () =>
        call('POST', `${server.uploads}/repos/${r.full}/releases/${rel.id}/assets?name=app.bin`, {
          token: owner.token,
          raw: 'the bytes of app.bin',
          headers: { 'content-type': 'application/octet-stream' },
        }),
      () => call('DELETE', r.api, { token: owner.token }),
    );
    expect(uploaded.status).toBe(201);
    expect(deleted.status).toBe(204);
    expect((await call('GET', r.api, { token: owner.token })).status).toBe(404);
  });

  it("an attempt's record locks its hook before the delivery: a concurrent deletion of the hook waits", async () => {
    const { full } = await createRepo(server, owner);
    let hookId = 0;
    const [created, deleted] = await interleave(
      'update',
      'webhook_jobs',
      // The hook's creation sends its ping; the pause comes where the ping's delivery is settled.
      async () => {
        const res = await call('POST', `${server.api}/repos/${full}/hooks`, {
          token: owner.token,
          body: { name: 'web', active: true, events: ['release'], config: { url: receiver.url(), content_type: 'json' } },
        });
        hookId = res.body.id;
        return res;
      },
      () => call('DELETE', `${server.api}/repos/${full}/hooks/${hookId}`, { token: owner.token }),
      'new.attempts > old.attempts',
    );
    expect(created.status).toBe(201);
    expect(deleted.status).toBe(204);
    expect(receiver.received.some((r) => r.headers['x-github-hook-id'] === String(hookId))).toBe(true);
  });

  it("a release's edit locks its repository before the release: a concurrent change of release rules waits", async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'app-v1.0.0' });
    await release(r.api, { tag_name: 'app-v1.1.0' });
    const [edited, rules] = await interleave(
      'update',
      'releases',
      () => call('PATCH', `${r.api}/releases/${rel.id}`, { token: owner.token, body: { name: 'first', make_latest: 'true' } }),
      // The prefix changes the version columns of both releases: the rules' transaction updates them.
      () => call('PATCH', `${r.api}/releases/rules`, { token: owner.token, body: { prefixes: ['app-'] } }),
    );
    expect(edited.status).toBe(200);
    expect(rules.status).toBe(200);
    expect((await call('GET', `${r.api}/releases/latest`, { token: owner.token })).body.id).toBe(rel.id);
  });

  it("a release's deletion locks its repository before the release: a concurrent change of release rules waits", async () => {
    const r = await seededRepo();
    const older = await release(r.api, { tag_name: 'app-v1.0.0' });
    const newest = await release(r.api, { tag_name: 'app-v1.1.0' });
    const [deleted, rules] = await interleave(
      // The deletion locks the release with a no-op update first.
      'update',
      'releases',
      () => call('DELETE', `${r.api}/releases/${newest.id}`, { token: owner.token }),
      () => call('PATCH', `${r.api}/releases/rules`, { token: owner.token, body: { prefixes: ['app-'] } }),
    );
    expect(deleted.status).toBe(204);
    expect(rules.status).toBe(200);
    // The deleted release was the latest: the next one took its place.
    expect((await call('GET', `${r.api}/releases/latest`, { token: owner.token })).body.id).toBe(older.id);
  });
});
