/**
 * Closing a server does not wait for answers the client stopped reading. Seen once: a test's
 * server close hung for over a minute after a browser-URL download (from an immutable release,
 * right after a refused upload) whose response body the test never read. The close waited for
 * that response until the idle timeout (120 s) cut it. While closing, an answer whose bytes have
 * not moved to the client for 5 s is now dropped; a download that is being read still finishes.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { STALLED_WHILE_CLOSING_MS } from '../../src/http/idle-connections.ts';
import { createRepo, createUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

const open: TestServer[] = [];
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
});

const BIG = Buffer.alloc(16 * 1024 * 1024, 3);
for (let i = 0; i < BIG.length; i += 4096) BIG[i] = i & 0xff;

/** A server with an immutable release `v1` holding `a.bin` (16 MiB: more than the socket buffers hold). */
async function serverWithImmutableAsset(): Promise<{ server: TestServer; full: string; token: string; releaseId: number }> {
  const server = await startServer();
  open.push(server);
  const alice = await createUser(server);
  const repo = await createRepo(server, alice, { auto_init: true });
  const draft = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1', draft: true } });
  expect((await call('POST', `${server.uploads}/repos/${repo.full}/releases/${draft.body.id}/assets?name=a.bin`, { token: alice.token, raw: BIG })).status).toBe(201);
  expect((await call('PUT', `${server.api}/repos/${repo.full}/immutable-releases`, { token: alice.token })).status).toBe(204);
  expect((await call('PATCH', `${server.api}/repos/${repo.full}/releases/${draft.body.id}`, { token: alice.token, body: { draft: false } })).status).toBe(200);
  return { server, full: repo.full, token: alice.token, releaseId: draft.body.id };
}

async function timedClose(server: TestServer): Promise<number> {
  open.splice(open.indexOf(server), 1);
  const started = Date.now();
  await server.close();
  return Date.now() - started;
}

it('closes within seconds after a refused upload and a browser-URL download nobody reads', { timeout: 60_000 }, async () => {
  const { server, full, token, releaseId } = await serverWithImmutableAsset();
  const refused = await fetch(`${server.uploads}/repos/${full}/releases/${releaseId}/assets?name=b.bin`, {
    method: 'POST',
    headers: { authorization: `token ${token}`, 'content-type': 'application/octet-stream' },
    body: BIG,
  });
  expect(refused.status).toBe(422);
  const download = await fetch(`${server.base}/${full}/releases/download/v1/a.bin`);
  expect(download.status).toBe(200);
  // The body is never read: the server's answer stalls with most of 16 MiB unsent.
  const took = await timedClose(server);
  expect(took).toBeGreaterThanOrEqual(STALLED_WHILE_CLOSING_MS - 500);
  expect(took).toBeLessThan(STALLED_WHILE_CLOSING_MS + 8_000);
  await download.body?.cancel().catch(() => undefined);
});

it('lets a download that is being read finish while the server closes', { timeout: 60_000 }, async () => {
  const { server, full } = await serverWithImmutableAsset();
  const hash = createHash('sha256');
  let bytes = 0;
  let response!: http.IncomingMessage;
  await new Promise<void>((resolve, reject) => {
    http.get(`${server.base}/${full}/releases/download/v1/a.bin`, (res) => ((response = res), resolve())).on('error', reject);
  });
  expect(response.statusCode).toBe(200);
  // A slow reader (about 4 MiB/s), still reading when the close starts.
  const done = new Promise<void>((resolve, reject) => {
    response.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      response.pause();
      setTimeout(() => response.resume(), (chunk.length / (4 * 1024 * 1024)) * 1000);
    });
    response.once('end', resolve);
    response.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 300));
  const closing = timedClose(server);
  await done;
  await closing;
  expect(bytes).toBe(BIG.length);
  expect(hash.digest('hex')).toBe(createHash('sha256').update(BIG).digest('hex'));
});
