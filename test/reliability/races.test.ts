/**
 * Races: concurrent writes to one release or tag end in a state some serial order would give,
 * with exactly one winner where only one can win, and never a 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: TestUser;
let repo: { name: string; full: string };

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('racer'));
  repo = await createRepo(server, owner, { auto_init: true });
});
afterAll(() => server.close());

const api = (path: string) => `${server.api}/repos/${repo.full}${path}`;
const as = (method: string, path: string, body?: unknown) => call(method, api(path), { token: owner.token, body });

async function tagExists(tag: string): Promise<boolean> {
  const res = await as('GET', `/git/ref/tags/${tag}`);
  expect([200, 404]).toContain(res.status);
  return res.status === 200;
}

function statuses(results: Array<{ status: number }>): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

describe('release races', () => {
  it('20 concurrent creates of one published tag: exactly one 201, the rest 422 already_exists', async () => {
    const tag = uniqueName('race-v');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => as('POST', '/releases', { tag_name: tag, name: `attempt ${i}` })));
    expect(statuses(results)).toEqual({ 201: 1, 422: 19 });
    for (const r of results.filter((x) => x.status === 422)) expect(r.body.errors).toEqual([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
    const winner = results.find((r) => r.status === 201)!.body;
    const byTag = await as('GET', `/releases/tags/${tag}`);
    expect(byTag.body.id).toBe(winner.id);
    const all = (await as('GET', '/releases?per_page=100')).body as Array<{ tag_name: string }>;
    expect(all.filter((r) => r.tag_name === tag).length).toBe(1);
    expect(await tagExists(tag)).toBe(true);
  });

  it('concurrent publishing of drafts that share a tag: exactly one wins', async () => {
    const tag = uniqueName('race-d');
    const drafts = await Promise.all(Array.from({ length: 10 }, () => as('POST', '/releases', { tag_name: tag, draft: true })));
    expect(statuses(drafts)).toEqual({ 201: 10 });
    const results = await Promise.all(drafts.map((d) => as('PATCH', `/releases/${d.body.id}`, { draft: false })));
    expect(statuses(results)).toEqual({ 200: 1, 422: 9 });
    const published = (await as('GET', '/releases?per_page=100')).body.filter((r: any) => r.tag_name === tag && !r.draft);
    expect(published.length).toBe(1);
  });

  it('concurrent publish and delete of one draft end as publish-then-delete or delete-then-publish', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const tag = uniqueName('race-pd');
      const draft = await as('POST', '/releases', { tag_name: tag, draft: true });
      // Staggering the delete by a few milliseconds moves it across the publish's whole critical section.
      const stagger = (round % 6) * 40;
      const [publish, del] = await Promise.all([
        as('PATCH', `/releases/${draft.body.id}`, { draft: false }),
        new Promise((r) => setTimeout(r, stagger)).then(() => as('DELETE', `/releases/${draft.body.id}`)),
      ]);
      expect(del.status).toBe(204);
      expect((await as('GET', `/releases/${draft.body.id}`)).status).toBe(404);
      const tagged = await tagExists(tag);
      if (publish.status === 200) {
        // Publish ran first: it made the tag; the delete then removed the release and kept the tag.
        expect(tagged).toBe(true);
        outcomes.add('publish, delete');
      } else {
        expect(publish.status).toBe(404);
        expect(tagged).toBe(false);
        outcomes.add('delete, publish');
      }
    }
    console.log('[races] publish/delete orders seen:', [...outcomes].join(' | '));
    expect(outcomes.size).toBeGreaterThan(0);
  });

  it('concurrent edits and a delete of one published release: the release is gone, no edit failed with 5xx', async () => {
    for (let round = 0; round < 8; round++) {
      const rel = await as('POST', '/releases', { tag_name: uniqueName('race-ed') });
      const results = await Promise.all([
        as('PATCH', `/releases/${rel.body.id}`, { name: 'one' }),
        as('DELETE', `/releases/${rel.body.id}`),
        as('PATCH', `/releases/${rel.body.id}`, { body: 'two', prerelease: true }),
      ]);
      expect(results[1].status).toBe(204);
      for (const r of [results[0], results[2]]) expect([200, 404]).toContain(r.status);
      expect((await as('GET', `/releases/${rel.body.id}`)).status).toBe(404);
    }
  });

  it('two releases renamed to one tag at once: exactly one gets it', async () => {
    for (let round = 0; round < 5; round++) {
      const target = uniqueName('race-rn');
      const a = await as('POST', '/releases', { tag_name: uniqueName('race-a') });
      const b = await as('POST', '/releases', { tag_name: uniqueName('race-b') });
      const results = await Promise.all([as('PATCH', `/releases/${a.body.id}`, { tag_name: target }), as('PATCH', `/releases/${b.body.id}`, { tag_name: target })]);
      expect(statuses(results)).toEqual({ 200: 1, 422: 1 });
      const byTag = await as('GET', `/releases/tags/${target}`);
      expect([a.body.id, b.body.id]).toContain(byTag.body.id);
    }
  });
});

describe('asset races', () => {
  async function upload(releaseId: number, name: string, bytes: Buffer) {
    const res = await fetch(`${server.uploads}/repos/${repo.full}/releases/${releaseId}/assets?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `token ${owner.token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
      body: new Uint8Array(bytes),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  it('50 concurrent uploads of one name to one release: exactly one 201, and its bytes are the ones stored', async () => {
    const rel = await as('POST', '/releases', { tag_name: uniqueName('race-up'), draft: true });
    const payloads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(2000 + i, i));
    const results = await Promise.all(payloads.map((p) => upload(rel.body.id, 'same.bin', p)));
    const counts = statuses(results);
    expect(counts[201]).toBe(1);
    expect(Object.keys(counts).every((s) => s === '201' || s === '422')).toBe(true);
    const winnerIndex = results.findIndex((r) => r.status === 201);
    for (const r of results.filter((x) => x.status === 422)) expect(r.body.errors?.[0]).toMatchObject({ code: 'already_exists', field: 'name' });
    const listed = await as('GET', `/releases/${rel.body.id}/assets`);
    expect(listed.body.length).toBe(1);
    expect(listed.body[0].size).toBe(payloads[winnerIndex]!.length);
    const bytes = Buffer.from(
      await (
        await fetch(`${api(`/releases/assets/${listed.body[0].id}`)}`, { headers: { authorization: `token ${owner.token}`, accept: 'application/octet-stream' } })
      ).arrayBuffer(),
    );
    expect(bytes.equals(payloads[winnerIndex]!)).toBe(true);
  });

  it('concurrent rename and delete of one asset end as rename-then-delete or delete-then-rename', async () => {
    const rel = await as('POST', '/releases', { tag_name: uniqueName('race-rd'), draft: true });
    const seen = new Set<string>();
    for (let round = 0; round < 10; round++) {
      const up = await upload(rel.body.id, `a${round}.bin`, Buffer.from(`bytes ${round}`));
      expect(up.status).toBe(201);
      const stagger = (round % 5) * 5;
      const [rename, del] = await Promise.all([
        as('PATCH', `/releases/assets/${up.body.id}`, { name: `b${round}.bin` }),
        new Promise((r) => setTimeout(r, stagger)).then(() => as('DELETE', `/releases/assets/${up.body.id}`)),
      ]);
      expect(del.status).toBe(204);
      expect([200, 404]).toContain(rename.status);
      seen.add(rename.status === 200 ? 'rename, delete' : 'delete, rename');
      expect((await as('GET', `/releases/assets/${up.body.id}`)).status).toBe(404);
      const names = (await as('GET', `/releases/${rel.body.id}/assets`)).body.map((a: { name: string }) => a.name);
      expect(names).not.toContain(`a${round}.bin`);
      expect(names).not.toContain(`b${round}.bin`);
    }
    console.log('[races] rename/delete orders seen:', [...seen].join(' | '));
  });

  it('uploads racing the deletion of their release get 201 or 404, and nothing of them remains', async () => {
    const seen = new Set<number>();
    for (let round = 0; round < 8; round++) {
      const rel = await as('POST', '/releases', { tag_name: uniqueName('race-ud'), draft: true });
      const stagger = round * 12;
      const [uploads, del] = await Promise.all([
        Promise.all(Array.from({ length: 6 }, (_, i) => upload(rel.body.id, `u${i}.bin`, Buffer.from(`bytes ${round}-${i}`)))),
        new Promise((r) => setTimeout(r, stagger)).then(() => as('DELETE', `/releases/${rel.body.id}`)),
      ]);
      expect(del.status).toBe(204);
      for (const u of uploads) {
        expect([201, 404], JSON.stringify(u.body)).toContain(u.status);
        seen.add(u.status);
        if (u.status === 201) expect((await as('GET', `/releases/assets/${u.body.id}`)).status).toBe(404);
      }
    }
    console.log('[races] upload statuses seen against a release delete:', [...seen].join(', '));
  });

  it('two assets renamed to one name at once: exactly one gets it', async () => {
    const rel = await as('POST', '/releases', { tag_name: uniqueName('race-an'), draft: true });
    for (let round = 0; round < 5; round++) {
      const a = await upload(rel.body.id, `x${round}.bin`, Buffer.from('x'));
      const b = await upload(rel.body.id, `y${round}.bin`, Buffer.from('y'));
      const results = await Promise.all([
        as('PATCH', `/releases/assets/${a.body.id}`, { name: `z${round}.bin` }),
        as('PATCH', `/releases/assets/${b.body.id}`, { name: `z${round}.bin` }),
      ]);
      expect(statuses(results)).toEqual({ 200: 1, 422: 1 });
    }
  });
});
