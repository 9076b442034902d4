/**
 * Resumable uploads (tus 1.0) on the uploads host, driven by tus-js-client, the protocol's
 * reference client, and by raw requests where the protocol's edges matter. A TCP proxy that cuts
 * connections after a number of bytes stands in for a flaky network.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tus from 'tus-js-client';
import { sweepAssets } from '../../src/services/asset-sweeper.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let repo: { full: string; name: string };

const MAX_OPEN = 10;

beforeAll(async () => {
  server = await startServer({ env: { WHARF_MAX_OPEN_RESUMABLE_UPLOADS: String(MAX_OPEN) } });
  alice = await createUser(server);
  bob = await createUser(server);
  carol = await createUser(server);
  repo = await createRepo(server, alice, { private: true, auto_init: true });
  await addCollaborator(server, alice, repo.name, bob, 'push');
  await addCollaborator(server, alice, repo.name, carol, 'pull');
});

afterAll(async () => {
  await server?.close();
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function newRelease(draft = true): Promise<number> {
  const tag = `v${randomBytes(4).toString('hex')}`;
  const res = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: tag, draft } });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

function endpoint(releaseId: number, base = server.uploads): string {
  return `${base}/repos/${repo.full}/releases/${releaseId}/assets/resumable`;
}

/** Creates an upload with a raw request; returns its URL. */
async function create(releaseId: number, name: string, length: number, token = alice.token): Promise<{ status: number; location: string; text: string }> {
  const res = await fetch(endpoint(releaseId), {
    method: 'POST',
    headers: {
      authorization: `token ${token}`,
      'tus-resumable': '1.0.0',
      'upload-length': String(length),
      'upload-metadata': `name ${b64(name)},content_type ${b64('application/x-test')}`,
    },
  });
  return { status: res.status, location: res.headers.get('location') ?? '', text: await res.text() };
}

function patch(location: string, offset: number, body: Buffer, headers: Record<string, string> = {}, token = alice.token): Promise<Response> {
  return fetch(location, {
    method: 'PATCH',
    headers: { authorization: `token ${token}`, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...headers },
    body: new Uint8Array(body),
  });
}

function head(location: string, token = alice.token): Promise<Response> {
  return fetch(location, { method: 'HEAD', headers: { authorization: `token ${token}`, 'tus-resumable': '1.0.0' } });
}

async function assetNamed(releaseId: number, name: string): Promise<{ id: number; state: string; digest: string | null; size: number; content_type: string } | undefined> {
  const res = await call('GET', `${server.api}/repos/${repo.full}/releases/${releaseId}/assets`, { token: alice.token });
  return (res.body as { name: string; id: number; state: string; digest: string | null; size: number; content_type: string }[]).find((a) => a.name === name);
}

async function download(assetId: number): Promise<Buffer> {
  const res = await fetch(`${server.api}/repos/${repo.full}/releases/assets/${assetId}`, {
    headers: { authorization: `token ${alice.token}`, accept: 'application/octet-stream' },
  });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * A TCP proxy in front of the server that cuts the connection carrying the request body once
 * the client has sent each of `cutAt` (bytes counted over all connections, in order).
 */
async function flakyProxy(target: URL, cutAt: number[]): Promise<{ base: string; cuts: () => number; close: () => Promise<void> }> {
  let sent = 0;
  let cuts = 0;
  const pending = [...cutAt];
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (pending.length && sent >= pending[0]!) {
        pending.shift();
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as net.AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}/api/uploads`,
    cuts: () => cuts,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}

/** Runs a tus-js-client upload to the end (or its failure). */
function tusUpload(data: Buffer, options: tus.UploadOptions): Promise<{ url: string | null; error: Error | null }> {
  return new Promise((resolve) => {
    const upload = new tus.Upload(data, {
      retryDelays: [0, 100, 250, 500, 1000, 1000, 1000, 1000],
      storeFingerprintForResuming: false,
      ...options,
      onSuccess: () => resolve({ url: upload.url, error: null }),
      onError: (error) => resolve({ url: upload.url, error }),
    });
    upload.start();
  });
}

describe('tus protocol', () => {
  it('advertises its version, extensions, checksum algorithm and maximum size', async () => {
    const res = await fetch(endpoint(1), { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    expect(res.headers.get('tus-extension')!.split(',').sort()).toEqual(['checksum', 'creation', 'creation-with-upload', 'expiration', 'termination']);
    expect(res.headers.get('tus-checksum-algorithm')).toBe('sha256');
    expect(res.headers.get('tus-max-size')).toBe(String(server.config.maxAssetSize));
  });

  it('uploads 64 MiB through connections cut at several points, resuming each time, to the right digest', async () => {
    const releaseId = await newRelease();
    const data = randomBytes(64 * 1024 * 1024);
    const proxy = await flakyProxy(new URL(server.base), [5 * 1024 * 1024, 23 * 1024 * 1024, 47 * 1024 * 1024]);
    try {
      const result = await tusUpload(data, {
        endpoint: endpoint(releaseId, proxy.base),
        headers: { authorization: `token ${alice.token}` },
        metadata: { name: 'big.bin', content_type: 'application/x-big', label: 'Big' },
      });
      expect(result.error).toBeNull();
      expect(proxy.cuts()).toBe(3);
    } finally {
      await proxy.close();
    }
    const asset = await assetNamed(releaseId, 'big.bin');
    expect(asset).toMatchObject({ state: 'uploaded', size: data.length, content_type: 'application/x-big', digest: `sha256:${sha256(data)}` });
    expect(sha256(await download(asset!.id))).toBe(sha256(data));
  });

  it('takes the first bytes with the creation request, and chunks with checksums; a mismatch is 460 and keeps nothing', async () => {
    const releaseId = await newRelease();
    const data = randomBytes(300_000);
    const created = await fetch(endpoint(releaseId), {
      method: 'POST',
      headers: {
        authorization: `token ${alice.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(data.length),
        'upload-metadata': `name ${b64('small.bin')}`,
        'content-type': 'application/offset+octet-stream',
      },
      body: new Uint8Array(data.subarray(0, 100_000)),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('upload-offset')).toBe('100000');
    expect(Date.parse(created.headers.get('upload-expires')!)).toBeGreaterThan(Date.now() + 23 * 3600_000);
    const location = created.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${server.uploads}/repos/${repo.full}/releases/${releaseId}/assets/resumable/[0-9a-f]{32}$`));

    const chunk = data.subarray(100_000, 200_000);
    const wrong = createHash('sha256').update('something else').digest('base64');
    const mismatch = await patch(location, 100_000, chunk, { 'upload-checksum': `sha256 ${wrong}` });
    expect(mismatch.status).toBe(460);
    expect((await mismatch.json()) as object).toMatchObject({ message: 'Checksum Mismatch' });
    expect((await head(location)).headers.get('upload-offset')).toBe('100000');

    const unsupported = await patch(location, 100_000, chunk, { 'upload-checksum': `md5 ${createHash('md5').update(chunk).digest('base64')}` });
    expect(unsupported.status).toBe(400);

    const right = createHash('sha256').update(chunk).digest('base64');
    const ok = await patch(location, 100_000, chunk, { 'upload-checksum': `sha256 ${right}` });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('upload-offset')).toBe('200000');
    expect(ok.headers.get('tus-resumable')).toBe('1.0.0');

    // Not visible until the last byte is stored.
    expect(await assetNamed(releaseId, 'small.bin')).toMatchObject({ state: 'open' });
    const stale = await patch(location, 100_000, chunk);
    expect(stale.status).toBe(409);
    const last = await patch(location, 200_000, data.subarray(200_000));
    expect(last.status).toBe(204);
    expect(last.headers.get('upload-offset')).toBe('300000');
    const asset = await assetNamed(releaseId, 'small.bin');
    expect(asset).toMatchObject({ state: 'uploaded', digest: `sha256:${sha256(data)}`, content_type: 'application/octet-stream' });
    expect((await head(location)).status).toBe(404);
  });

  it('refuses requests without Tus-Resumable (412), chunks of another type (415) and missing lengths (400)', async () => {
    const releaseId = await newRelease();
    const noVersion = await fetch(endpoint(releaseId), { method: 'POST', headers: { authorization: `token ${alice.token}`, 'upload-length': '10' } });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get('tus-version')).toBe('1.0.0');
    const { location } = await create(releaseId, 'typed.bin', 10);
    const wrongType = await patch(location, 0, Buffer.from('0123456789'), { 'content-type': 'application/octet-stream' });
    expect(wrongType.status).toBe(415);
    const noLength = await fetch(endpoint(releaseId), {
      method: 'POST',
      headers: { authorization: `token ${alice.token}`, 'tus-resumable': '1.0.0', 'upload-metadata': `name ${b64('x.bin')}` },
    });
    expectGitHubError({ status: noLength.status, headers: noLength.headers, body: await noLength.json(), text: '' }, 400);
    const tooBig = await create(releaseId, 'huge.bin', server.config.maxAssetSize + 1);
    expect(tooBig.status).toBe(422);
  });

  it('terminates an upload: its bytes and its claim on the name are gone', async () => {
    const releaseId = await newRelease();
    const { location } = await create(releaseId, 'gone.bin', 1000);
    expect((await patch(location, 0, randomBytes(500))).status).toBe(204);
    const id = location.split('/').pop()!;
    const del = await fetch(location, { method: 'DELETE', headers: { authorization: `token ${alice.token}`, 'tus-resumable': '1.0.0' } });
    expect(del.status).toBe(204);
    expect((await head(location)).status).toBe(404);
    expect(await assetNamed(releaseId, 'gone.bin')).toBeUndefined();
    const staged: string[] = [];
    for await (const s of server.wharf.ctx.blobs.resumable.list()) staged.push(s.id);
    expect(staged).not.toContain(id);
    const again = await create(releaseId, 'gone.bin', 10);
    expect(again.status).toBe(201);
  });

  it('gives one of two clients racing for a name the upload, the other already_exists', async () => {
    const releaseId = await newRelease();
    const results = await Promise.all([create(releaseId, 'race.bin', 100), create(releaseId, 'race.bin', 100, bob.token)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 422]);
    const refused = results.find((r) => r.status === 422)!;
    expect(JSON.parse(refused.text)).toMatchObject({ message: 'Validation Failed', errors: [{ resource: 'ReleaseAsset', field: 'name', code: 'already_exists' }] });
    // The classic upload sees the claim too.
    const classic = await call('POST', `${server.uploads}/repos/${repo.full}/releases/${releaseId}/assets?name=race.bin`, { token: alice.token, raw: 'x' });
    expect(classic.status).toBe(422);
  });

  it('applies the classic upload permissions, and an upload is its creator’s alone', async () => {
    const releaseId = await newRelease(false);
    // A draft is invisible below push access, as for the classic upload.
    expect((await create(await newRelease(), 'd.bin', 10, carol.token)).status).toBe(404);
    const reader = await create(releaseId, 'r.bin', 10, carol.token);
    expect(reader.status).toBe(403);
    expect(JSON.parse(reader.text)).toMatchObject({ message: 'Must have push access to repository.' });
    const stranger = await createUser(server);
    expect((await create(releaseId, 's.bin', 10, stranger.token)).status).toBe(404);
    const anonymous = await fetch(endpoint(releaseId), { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `name ${b64('a.bin')}` } });
    expect(anonymous.status).toBe(404);
    const body = (await anonymous.json()) as { message: string; documentation_url: string; request_id: string };
    expect(body).toMatchObject({ message: 'Not Found' });
    expect(typeof body.request_id).toBe('string');

    const { location } = await create(releaseId, 'mine.bin', 10);
    expect((await head(location, bob.token)).status).toBe(404);
    expect((await patch(location, 0, Buffer.from('0123456789'), {}, bob.token)).status).toBe(404);
    expect((await head(location, carol.token)).status).toBe(403);
    expect((await head(location, stranger.token)).status).toBe(404);
    expect((await head(location)).headers.get('upload-offset')).toBe('0');
  });

  it('caps the unfinished uploads of one user', async () => {
    const releaseId = await newRelease();
    const user = await createUser(server);
    await addCollaborator(server, alice, repo.name, user, 'push');
    const made = [];
    for (let i = 0; i < MAX_OPEN; i++) made.push(await create(releaseId, `cap${i}.bin`, 10, user.token));
    expect(made.map((m) => m.status)).toEqual(Array(MAX_OPEN).fill(201));
    const over = await create(releaseId, 'cap-over.bin', 10, user.token);
    expect(over.status).toBe(422);
    expect(over.text).toContain('too many unfinished resumable uploads');
    expect(await assetNamed(releaseId, 'cap-over.bin')).toBeUndefined();
    await fetch(made[0]!.location, { method: 'DELETE', headers: { authorization: `token ${user.token}`, 'tus-resumable': '1.0.0' } });
    expect((await create(releaseId, 'cap-over.bin', 10, user.token)).status).toBe(201);
  });

  it('expires an abandoned upload: the sweeper removes it, its name claim and its bytes', async () => {
    const releaseId = await newRelease();
    const { location } = await create(releaseId, 'old.bin', 1000);
    expect((await patch(location, 0, randomBytes(400))).status).toBe(204);
    const id = location.split('/').pop()!;
    const later = Date.now() + server.config.resumableUploadExpiryMs + 60_000;
    const swept = await sweepAssets(server.wharf.ctx, { now: later });
    expect(swept.expiredResumableUploads).toBeGreaterThanOrEqual(1);
    expect((await head(location)).status).toBe(404);
    expect(await assetNamed(releaseId, 'old.bin')).toBeUndefined();
    const staged: string[] = [];
    for await (const s of server.wharf.ctx.blobs.resumable.list()) staged.push(s.id);
    expect(staged).not.toContain(id);
  });

  it('fails a resumed upload cleanly once its release was deleted, and sweeps its bytes', async () => {
    const releaseId = await newRelease();
    const { location } = await create(releaseId, 'orphan.bin', 2000);
    expect((await patch(location, 0, randomBytes(1000))).status).toBe(204);
    const del = await call('DELETE', `${server.api}/repos/${repo.full}/releases/${releaseId}`, { token: alice.token });
    expect(del.status).toBe(204);
    expect((await head(location)).status).toBe(404);
    const resumed = await patch(location, 1000, randomBytes(1000));
    expect(resumed.status).toBe(404);
    const result = await tusUpload(randomBytes(2000), {
      endpoint: endpoint(releaseId),
      uploadUrl: location,
      headers: { authorization: `token ${alice.token}` },
      metadata: { name: 'orphan.bin' },
    });
    expect(result.error?.message).toMatch(/404/);
    const swept = await sweepAssets(server.wharf.ctx, { now: Date.now() + 10 * 60_000 });
    expect(swept.orphanStagings).toBeGreaterThanOrEqual(1);
    const staged: string[] = [];
    for await (const s of server.wharf.ctx.blobs.resumable.list()) staged.push(s.id);
    expect(staged).not.toContain(location.split('/').pop());
  });
});
