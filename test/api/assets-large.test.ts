/**
 * A 1 GiB asset, streamed from a generator on upload and hashed on the fly on download, so
 * neither side ever holds it in memory; the server's memory must stay flat meanwhile.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRepo, createUser } from '../support/fixtures.ts';
import { assertMatchesOpenApi } from '../support/openapi.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

const GiB = 1024 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** Chunk i of a deterministic, non-repeating stream (each MiB is stamped with its index). */
function chunkAt(base: Buffer, i: number): Buffer {
  const c = Buffer.from(base);
  c.writeUInt32BE(i, 0);
  return c;
}

it('round-trips a 1 GiB asset with its digest, in bounded memory', async () => {
  const owner = await createUser(server);
  const repo = await createRepo(server, owner, { auto_init: true });
  const release = (await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1', draft: true } })).body;
  const base = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) base[i] = (i * 31 + 7) & 0xff;

  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);

  const sent = createHash('sha256');
  const uploaded = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      `${server.uploads}/repos/${repo.full}/releases/${release.id}/assets?name=big.bin`,
      {
        method: 'POST',
        headers: { authorization: `token ${owner.token}`, 'content-type': 'application/octet-stream', 'content-length': String(GiB) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    let i = 0;
    const write = () => {
      while (i < GiB / CHUNK) {
        const c = chunkAt(base, i++);
        sent.update(c);
        if (!req.write(c)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
  expect(uploaded.status).toBe(201);
  const asset = JSON.parse(uploaded.body);
  assertMatchesOpenApi('POST', `/repos/${repo.full}/releases/${release.id}/assets`, 201, asset);
  const digest = sent.digest('hex');
  expect(asset).toMatchObject({ size: GiB, digest: `sha256:${digest}`, state: 'uploaded' });

  const received = createHash('sha256');
  let bytes = 0;
  const status = await new Promise<number>((resolve, reject) => {
    http
      .get(asset.url, { headers: { accept: 'application/octet-stream', authorization: `token ${owner.token}` } }, (res) => {
        res.on('data', (c: Buffer) => {
          received.update(c);
          bytes += c.length;
        });
        res.on('end', () => resolve(res.statusCode!));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  clearInterval(sampler);
  expect(status).toBe(200);
  expect(bytes).toBe(GiB);
  expect(received.digest('hex')).toBe(digest);
  // Client and server share this process: a buffered GiB anywhere would show here.
  expect(rssPeak - rssBefore).toBeLessThan(256 * 1024 * 1024);
}, 120_000);
