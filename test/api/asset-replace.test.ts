/**
 * `replace=true` on the classic upload (a documented extension): an uploaded asset's bytes are
 * swapped in one transaction while readers keep downloading; each reader gets the whole old file
 * or the whole new one, never an error. Refused on immutable releases.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let alice: TestUser;
let full: string;

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server);
  full = (await createRepo(server, alice, { auto_init: true })).full;
});

afterAll(async () => {
  await server?.close();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function upload(releaseId: number, name: string, data: Buffer, query = '') {
  return call('POST', `${server.uploads}/repos/${full}/releases/${releaseId}/assets?name=${name}${query}`, {
    token: alice.token,
    raw: data,
    headers: { 'content-type': 'application/octet-stream' },
  });
}

it('swaps the bytes of an asset under continuous downloads: every reader gets the old or the new file whole', { timeout: 120_000 }, async () => {
  const release = await call('POST', `${server.api}/repos/${full}/releases`, { token: alice.token, body: { tag_name: 'v1.0.0' } });
  const before = randomBytes(1024 * 1024);
  const after = randomBytes(3 * 1024 * 1024);
  const first = await upload(release.body.id, 'app.bin', before);
  expect(first.status).toBe(201);

  const seen: string[] = [];
  let stop = false;
  const reader = async () => {
    while (!stop) {
      const res = await fetch(`${server.base}/${full}/releases/download/v1.0.0/app.bin`);
      const body = Buffer.from(await res.arrayBuffer());
      seen.push(res.status !== 200 ? `status ${res.status}` : sha256(body) === sha256(before) ? 'old' : sha256(body) === sha256(after) ? 'new' : 'torn');
    }
  };
  const readers = [reader(), reader(), reader()];
  await new Promise((r) => setTimeout(r, 300));
  const replaced = await upload(release.body.id, 'app.bin', after, '&replace=true');
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(readers);

  expect(replaced.status).toBe(201);
  expect(replaced.body).toMatchObject({ id: first.body.id, name: 'app.bin', size: after.length, digest: `sha256:${sha256(after)}` });
  expect(new Set(seen)).toEqual(new Set(['old', 'new']));

  // Without replace the name is still taken; replace of a name not yet used is a plain upload.
  expect((await upload(release.body.id, 'app.bin', before)).status).toBe(422);
  const fresh = await upload(release.body.id, 'other.bin', before, '&replace=true');
  expect(fresh.status).toBe(201);
  expect(fresh.body.digest).toBe(`sha256:${sha256(before)}`);
});

it('refuses to replace the bytes of an immutable release’s asset', async () => {
  const repo = await createRepo(server, alice, { auto_init: true });
  const draft = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v2', draft: true } });
  const ok = await call('POST', `${server.uploads}/repos/${repo.full}/releases/${draft.body.id}/assets?name=a.bin`, { token: alice.token, raw: 'old bytes' });
  expect(ok.status).toBe(201);
  expect((await call('PUT', `${server.api}/repos/${repo.full}/immutable-releases`, { token: alice.token })).status).toBe(204);
  expect((await call('PATCH', `${server.api}/repos/${repo.full}/releases/${draft.body.id}`, { token: alice.token, body: { draft: false } })).status).toBe(200);
  const refused = await call('POST', `${server.uploads}/repos/${repo.full}/releases/${draft.body.id}/assets?name=a.bin&replace=true`, { token: alice.token, raw: 'new bytes' });
  expect(refused.status).toBe(422);
  const assets = await call('GET', `${server.api}/repos/${repo.full}/releases/${draft.body.id}/assets`, { token: alice.token });
  expect(assets.body).toEqual([expect.objectContaining({ name: 'a.bin', size: 'old bytes'.length, digest: ok.body.digest })]);
});
