/**
 * The transactional outbox: every change made through the API, the upload route and smart-HTTP
 * pushes records exactly the domain events it should, in the same transaction (a change that
 * fails records nothing), with one queue row per consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { EVENT_CONSUMERS } from '../../src/events/outbox.ts';
import { EventConsumer, type EventHandler } from '../../src/events/consumer.ts';
import { LEASE_HOLDER } from '../../src/services/leases.ts';

let server: TestServer;
let owner: TestUser;

beforeAll(async () => {
  // Consumers stay off: this suite reads the queue as the services left it.
  server = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false' } });
  owner = await createUser(server);
});
afterAll(async () => {
  await server?.close();
});

async function eventsSince(id: number, repositoryId: number) {
  const rows = await server.wharf.ctx.db.selectFrom('events').selectAll().where('id', '>', id).where('repository_id', '=', repositoryId).orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, type: r.type, data: JSON.parse(r.data) }));
}

async function lastEventId(): Promise<number> {
  const row = await server.wharf.ctx.db
    .selectFrom('events')
    .select((eb) => eb.fn.max('id').as('id'))
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

describe('outbox', () => {
  it('records release, asset and ref events with the change, and nothing for a failed change', async () => {
    const { full, json: repo } = await createRepo(server, owner);
    const work = await WorkRepo.create();
    const first = await work.commit('first');
    let mark = await lastEventId();
    await work.push(server, full, owner.token, 'main');
    let events = await eventsSince(mark, repo.id);
    expect(events.map((e) => e.type)).toEqual(['ref.created', 'push']);
    expect(events[0]!.data).toMatchObject({ refType: 'branch', ref: 'main', sha: first, actorId: owner.id });
    expect(events[1]!.data).toMatchObject({ ref: 'refs/heads/main', before: '0'.repeat(40), after: first });

    const api = `${server.api}/repos/${full}`;
    mark = await lastEventId();
    const draft = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0', draft: true } });
    expect(draft.status).toBe(201);
    const up = await call('POST', `${server.uploads}/repos/${full}/releases/${draft.body.id}/assets?name=a.txt`, {
      token: owner.token,
      raw: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(up.status).toBe(201);
    const published = await call('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false, name: 'One' } });
    expect(published.status).toBe(200);
    const renamed = await call('PATCH', `${api}/releases/assets/${up.body.id}`, { token: owner.token, body: { name: 'b.txt' } });
    expect(renamed.status).toBe(200);
    const pre = await call('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { prerelease: true } });
    expect(pre.status).toBe(200);
    expect((await call('DELETE', `${api}/releases/assets/${up.body.id}`, { token: owner.token })).status).toBe(204);
    expect((await call('DELETE', `${api}/releases/${draft.body.id}`, { token: owner.token })).status).toBe(204);
    events = await eventsSince(mark, repo.id);
    expect(events.map((e) => e.type)).toEqual([
      'release.created',
      'release_asset.uploaded',
      'release.edited',
      'release.published',
      'release.released',
      'ref.created',
      'push',
      'release_asset.renamed',
      'release.prereleased',
      'release_asset.deleted',
      'release.deleted',
    ]);
    const publishedEvent = events.find((e) => e.type === 'release.published')!;
    // The event's snapshot carries the asset uploaded before publishing.
    expect(publishedEvent.data.assets.map((a: { name: string }) => a.name)).toEqual(['a.txt']);
    expect(publishedEvent.data.release.draft).toBe(0);
    expect(events.find((e) => e.type === 'release.edited')!.data.changes).toEqual({ name: { from: '' } });
    expect(events.find((e) => e.type === 'release_asset.renamed')!.data.changes).toEqual({ name: { from: 'a.txt' } });

    // A change that fails (the tag is taken by a published release) records nothing.
    const taken = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v2' } });
    expect(taken.status).toBe(201);
    mark = await lastEventId();
    const clash = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v2' } });
    expect(clash.status).toBe(422);
    expect(await eventsSince(mark, repo.id)).toEqual([]);

    // A pushed tag deletion unpublishes its release, in the push's transaction.
    await work.git('fetch', '-q', `${server.base.replace('://', `://x:${owner.token}@`)}/${full}.git`, 'refs/tags/v2:refs/tags/v2');
    mark = await lastEventId();
    await work.push(server, full, owner.token, ':refs/tags/v2');
    events = await eventsSince(mark, repo.id);
    expect(events.map((e) => e.type)).toEqual(['ref.deleted', 'push', 'release.unpublished']);

    // Every event waits for every consumer.
    const queued = await server.wharf.ctx.db.selectFrom('event_queue').select(['consumer', 'event_id']).where('event_id', '=', events[0]!.id).execute();
    expect(queued.map((q) => q.consumer).sort()).toEqual([...EVENT_CONSUMERS].sort());
  });
});

describe('outbox consumer', () => {
  const consumerOf = (handler: EventHandler) => new EventConsumer(server.wharf.ctx, 'webhooks', handler, { pollMs: 60_000, leaseMs: 60_000, batchSize: 100 });
  const queuedIds = async (ids: number[]) =>
    (await server.wharf.ctx.db.selectFrom('event_queue').select('event_id').where('consumer', '=', 'webhooks').where('event_id', 'in', ids).orderBy('event_id').execute()).map(
      (r) => r.event_id,
    );

  it('completes a group of events together, in order, and none of them when the lease of one was lost', async () => {
    const repo = await createRepo(server, owner, { auto_init: true });
    // Whatever is queued so far is handled first, so the group below is the release's five events.
    const drain = consumerOf(async () => undefined);
    while ((await drain.runOnce()) > 0);
    await drain.stop();

    const mark = await lastEventId();
    const created = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0' } });
    expect(created.status).toBe(201);
    const ids = (await eventsSince(mark, repo.json.id)).map((e) => e.id);
    expect(ids.length).toBe(5);

    // Another node takes the last event over while this one handles the group: nothing is completed.
    const seen: number[] = [];
    const stalled = consumerOf(async (trx, queued) => {
      seen.push(queued.row.id);
      if (queued.row.id === ids[0]) {
        await trx.updateTable('event_queue').set({ lease_holder: 'another-node' }).where('consumer', '=', 'webhooks').where('event_id', '=', ids.at(-1)!).execute();
      }
    });
    expect(await stalled.runOnce()).toBe(0);
    await stalled.stop();
    expect(seen).toEqual(ids);
    expect(await queuedIds(ids)).toEqual(ids);
    const leases = await server.wharf.ctx.db.selectFrom('event_queue').select('lease_holder').where('event_id', 'in', ids).execute();
    expect(leases.every((l) => l.lease_holder === LEASE_HOLDER)).toBe(true);

    // With the lease kept, the whole group is handled in order and leaves the queue.
    const handled: number[] = [];
    const consumer = consumerOf(async (_trx, queued) => {
      handled.push(queued.row.id);
    });
    expect(await consumer.runOnce()).toBe(5);
    await consumer.stop();
    expect(handled).toEqual(ids);
    expect(await queuedIds(ids)).toEqual([]);
  });
});
