/**
 * `Idempotency-Key` on release creation and on the classic upload (a documented extension): a
 * retry after a dropped response gets the original answer (one release, one asset), the same key
 * with a different request is a 422, a key held by a running request is a 409, a key whose request
 * died or that expired is taken afresh, and the sweeper forgets expired keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sweepAssets } from '../../src/services/asset-sweeper.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let full: string;

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server);
  bob = await createUser(server);
  full = (await createRepo(server, alice, { auto_init: true })).full;
});

afterAll(async () => {
  await server?.close();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Sends a whole request and hangs up as its answer arrives, without reading it: the server did the
 * work, the client never learns of it (a proxy that dropped the answer, a laptop that slept).
 * (Half-closing after the body would not do: Node aborts a request whose client half-closed.)
 */
async function sendAndDrop(method: string, url: string, headers: Record<string, string>, body: Buffer): Promise<void> {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const head = [`${method} ${pathname}${search} HTTP/1.1`, `host: ${hostname}:${port}`, `content-length: ${body.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  socket.write(body);
  await new Promise<void>((resolve) =>
    socket
      .once('data', () => resolve())
      .once('close', () => resolve())
      .once('error', () => resolve()),
  );
  socket.destroy();
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const value = await read();
    if (done(value) || i > 200) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function createRelease(user: TestUser, body: Record<string, unknown>, key?: string, repo = full) {
  return call('POST', `${server.api}/repos/${repo}/releases`, { token: user.token, body, headers: key ? { 'idempotency-key': key } : {} });
}

function upload(releaseId: number, name: string, data: Buffer, key?: string, query = '') {
  return call('POST', `${server.uploads}/repos/${full}/releases/${releaseId}/assets?name=${name}${query}`, {
    token: alice.token,
    raw: data,
    headers: { 'content-type': 'application/octet-stream', ...(key ? { 'idempotency-key': key } : {}) },
  });
}

const releasesOf = async (repo: string) =>
  (await call('GET', `${server.api}/repos/${repo}/releases?per_page=100`, { token: alice.token })).body as Array<{ id: number; tag_name: string }>;

it('answers a retried release creation whose response was lost with the release it created, once', async () => {
  const repo = (await createRepo(server, alice, { auto_init: true })).full;
  const key = uniqueName('create');
  const body = { tag_name: 'v1.0.0', name: 'One', body: 'notes' };
  await sendAndDrop(
    'POST',
    `${server.api}/repos/${repo}/releases`,
    { authorization: `token ${alice.token}`, 'content-type': 'application/json', 'idempotency-key': key },
    Buffer.from(JSON.stringify(body)),
  );
  const made = await eventually(
    () => releasesOf(repo),
    (r) => r.length > 0,
  );
  expect(made).toHaveLength(1);

  // The same JSON with its members in another order is the same request.
  const retry = await createRelease(alice, { body: 'notes', name: 'One', tag_name: 'v1.0.0' }, key, repo);
  expect(retry.status).toBe(201);
  expect(retry.headers.get('idempotent-replayed')).toBe('true');
  expect(retry.body).toMatchObject({ id: made[0]!.id, tag_name: 'v1.0.0', name: 'One' });
  const again = await createRelease(alice, body, key, repo);
  expect(again.body.id).toBe(made[0]!.id);
  expect(await releasesOf(repo)).toHaveLength(1);

  // Without the key, the retry is what it always was on GitHub: the tag is taken.
  expect((await createRelease(alice, body, undefined, repo)).status).toBe(422);
  // A different request with the key is refused, as is the key on another operation.
  const other = expectGitHubError(await createRelease(alice, { ...body, name: 'Two' }, key, repo), 422, 'Validation Failed');
  expect(other.errors).toEqual([expect.objectContaining({ code: 'custom', field: 'Idempotency-Key' })]);
  expectGitHubError(
    await call('POST', `${server.uploads}/repos/${repo}/releases/${made[0]!.id}/assets?name=a.bin`, { token: alice.token, raw: 'x', headers: { 'idempotency-key': key } }),
    422,
  );
  // Keys are each user's own.
  const repoBob = (await createRepo(server, bob, { auto_init: true })).full;
  const bobs = await createRelease(bob, body, key, repoBob);
  expect(bobs.status).toBe(201);
  expect(bobs.headers.get('idempotent-replayed')).toBeNull();
});

it('answers a retried upload whose response was lost with the asset it stored, and refuses other bytes under the key', async () => {
  const release = await createRelease(alice, { tag_name: uniqueName('up'), draft: true });
  const data = randomBytes(256 * 1024);
  const key = uniqueName('upload');
  await sendAndDrop(
    'POST',
    `${server.uploads}/repos/${full}/releases/${release.body.id}/assets?name=app.bin&label=App`,
    { authorization: `token ${alice.token}`, 'content-type': 'application/octet-stream', 'idempotency-key': `"${key}"` },
    data,
  );
  const assetsOf = async () =>
    (await call('GET', `${server.api}/repos/${full}/releases/${release.body.id}/assets`, { token: alice.token })).body as Array<{ id: number; state: string; digest: string }>;
  const stored = await eventually(assetsOf, (a) => a.length === 1 && a[0]!.state === 'uploaded');
  expect(stored).toEqual([expect.objectContaining({ state: 'uploaded', digest: `sha256:${sha256(data)}` })]);

  // Both spellings of the header name one key: the IETF draft's quoted string and the bare token.
  const retry = await upload(release.body.id, 'app.bin', data, key, '&label=App');
  expect(retry.status).toBe(201);
  expect(retry.headers.get('idempotent-replayed')).toBe('true');
  expect(retry.body).toMatchObject({ id: stored[0]!.id, name: 'app.bin', label: 'App', size: data.length, digest: `sha256:${sha256(data)}` });
  expect(await assetsOf()).toHaveLength(1);

  // Same size, other bytes: a different request.
  const tampered = Buffer.from(data);
  tampered[1000] = tampered[1000]! ^ 0xff;
  const refused = expectGitHubError(await upload(release.body.id, 'app.bin', tampered, key, '&label=App'), 422);
  expect(refused.errors[0].field).toBe('Idempotency-Key');
  expectGitHubError(await upload(release.body.id, 'app.bin', data, key, '&label=Other'), 422);
  expect(await assetsOf()).toHaveLength(1);

  // Deleting the asset forgets the key: the same request then uploads afresh.
  expect((await call('DELETE', `${server.api}/repos/${full}/releases/assets/${stored[0]!.id}`, { token: alice.token })).status).toBe(204);
  const fresh = await upload(release.body.id, 'app.bin', data, key, '&label=App');
  expect(fresh.status).toBe(201);
  expect(fresh.headers.get('idempotent-replayed')).toBeNull();
  expect(fresh.body.id).not.toBe(stored[0]!.id);
});

it('keys replace=true uploads too, and lets the key go when the request fails', async () => {
  const release = await createRelease(alice, { tag_name: uniqueName('rep'), draft: true });
  const before = randomBytes(1000);
  const after = randomBytes(2000);
  const first = await upload(release.body.id, 'r.bin', before);
  const key = uniqueName('replace');
  const replaced = await upload(release.body.id, 'r.bin', after, key, '&replace=true');
  expect(replaced.status).toBe(201);
  const retry = await upload(release.body.id, 'r.bin', after, key, '&replace=true');
  expect(retry.headers.get('idempotent-replayed')).toBe('true');
  expect(retry.body).toMatchObject({ id: first.body.id, size: 2000, digest: `sha256:${sha256(after)}` });

  // A failed request (the name is taken) leaves no key behind: the corrected retry is not refused as "different".
  const failKey = uniqueName('fail');
  expectGitHubError(await upload(release.body.id, 'r.bin', before, failKey), 422, 'Validation Failed');
  const rows = await server.wharf.ctx.db.selectFrom('idempotency_keys').selectAll().where('idempotency_key', '=', failKey).execute();
  expect(rows).toEqual([]);
});

it('lets one of several concurrent requests with one key create the release; the others get it or a 409', async () => {
  const repo = (await createRepo(server, alice, { auto_init: true })).full;
  const key = uniqueName('race');
  const answers = await Promise.all(Array.from({ length: 6 }, () => createRelease(alice, { tag_name: 'v9.9.9' }, key, repo)));
  const statuses = answers.map((a) => a.status);
  expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
  expect(answers.filter((a) => a.status === 201 && !a.headers.get('idempotent-replayed'))).toHaveLength(1);
  const releases = await releasesOf(repo);
  expect(releases).toHaveLength(1);
  for (const a of answers.filter((x) => x.status === 201)) expect(a.body.id).toBe(releases[0]!.id);
});

it('answers 409 while a request holds the key, and takes over a key whose request died', async () => {
  const key = uniqueName('held');
  const now = Date.now();
  const db = server.wharf.ctx.db;
  const body = { tag_name: uniqueName('held'), draft: true };
  // Another node's request holds the key (same fingerprint: it was computed by the same rule).
  const first = await createRelease(alice, body, key);
  const row = await db.selectFrom('idempotency_keys').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  expect(row).toMatchObject({ state: 'completed', release_id: first.body.id });
  await db.deleteFrom('releases').where('id', '=', first.body.id).execute();
  expect(await db.selectFrom('idempotency_keys').select('idempotency_key').where('idempotency_key', '=', key).execute()).toEqual([]);

  await db
    .insertInto('idempotency_keys')
    .values({ ...row, state: 'in_progress', token: 'other', release_id: null, lease_until: now + 60_000, expires_at: now + 3_600_000 })
    .execute();
  const busy = expectGitHubError(await createRelease(alice, body, key), 409);
  expect(busy.message).toMatch(/in progress/);
  // Its lease runs out (the process died): the next retry runs the request.
  await db
    .updateTable('idempotency_keys')
    .set({ lease_until: now - 1 })
    .where('idempotency_key', '=', key)
    .execute();
  const taken = await createRelease(alice, body, key);
  expect(taken.status).toBe(201);
  expect(taken.headers.get('idempotent-replayed')).toBeNull();
});

it('forgets keys after their expiry; the sweeper removes them', async () => {
  const db = server.wharf.ctx.db;
  const key = uniqueName('expiring');
  const body = { tag_name: uniqueName('exp'), draft: true };
  const first = await createRelease(alice, body, key);
  const row = await db.selectFrom('idempotency_keys').select(['expires_at', 'created_at']).where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  expect(row.expires_at - Date.now()).toBeGreaterThan(server.config.idempotencyKeyExpiryMs - 60_000);
  expect(row.expires_at - Date.now()).toBeLessThanOrEqual(server.config.idempotencyKeyExpiryMs);

  const swept = await sweepAssets(server.wharf.ctx, { now: row.expires_at + 1 });
  expect(swept.idempotencyKeys).toBeGreaterThanOrEqual(1);
  expect(await db.selectFrom('idempotency_keys').select('idempotency_key').where('idempotency_key', '=', key).execute()).toEqual([]);
  // A draft can share its tag: the retry after expiry creates a second release.
  const second = await createRelease(alice, body, key);
  expect(second.status).toBe(201);
  expect(second.body.id).not.toBe(first.body.id);
  // An expired row not yet swept is ignored too.
  await db
    .updateTable('idempotency_keys')
    .set({ expires_at: Date.now() - 1 })
    .where('idempotency_key', '=', key)
    .execute();
  const third = await createRelease(alice, { ...body, name: 'changed' }, key);
  expect(third.status).toBe(201);
});

it('refuses a malformed key with 400, and checks access before the key', async () => {
  const release = await createRelease(alice, { tag_name: uniqueName('bad'), draft: true });
  for (const bad of ['', 'a'.repeat(256), 'has space', 'caf\u00e9']) {
    const res = await call('POST', `${server.api}/repos/${full}/releases`, {
      token: alice.token,
      body: { tag_name: uniqueName('t'), draft: true },
      headers: { 'idempotency-key': bad },
    }).catch(() => null);
    // fetch itself refuses non-Latin-1 header values; the others reach the server.
    if (res) expectGitHubError(res, 400, /Idempotency-Key/);
  }
  expectGitHubError(await upload(release.body.id, 'x.bin', Buffer.from('x'), 'a'.repeat(256)), 400);
  // A private repository stays 404 to strangers, key or not.
  const secret = (await createRepo(server, alice, { private: true, auto_init: true })).full;
  const stranger = await call('POST', `${server.api}/repos/${secret}/releases`, { token: bob.token, body: { tag_name: 'v1' }, headers: { 'idempotency-key': 'k' } });
  expect(stranger.status).toBe(404);
});
