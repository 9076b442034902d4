import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { confirmBlobStored, deleteUnreferencedBlobs, putHeld } from '../../src/services/blob-gc.ts';
import { sweepAssets } from '../../src/services/asset-sweeper.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { assertMatchesOpenApi } from '../support/openapi.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server);
  bob = await createUser(server);
});

afterAll(async () => {
  await server?.close();
});

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function uploadUrl(full: string, releaseId: number, query: string): string {
  return `${server.uploads}/repos/${full}/releases/${releaseId}/assets?${query}`;
}

async function upload(full: string, releaseId: number, name: string, data: string | Buffer, options: { token?: string; contentType?: string; label?: string } = {}) {
  const q = new URLSearchParams({ name, ...(options.label !== undefined ? { label: options.label } : {}) });
  return call('POST', uploadUrl(full, releaseId, q.toString()), {
    token: options.token ?? alice.token,
    raw: typeof data === 'string' ? Buffer.from(data) : data,
    headers: { 'content-type': options.contentType ?? 'text/plain' },
  });
}

interface ReleaseInfo {
  id: number;
  tag_name: string;
  upload_url: string;
  untagged_key: string;
}

/** Creates a release through the API (alice), as a client would. */
async function createRelease(full: string, body: Record<string, unknown>): Promise<ReleaseInfo> {
  const res = await call('POST', `${server.api}/repos/${full}/releases`, { token: alice.token, body });
  if (res.status !== 201) throw new Error(`create release: ${res.status} ${res.text}`);
  const untagged = /\/releases\/tag\/untagged-([0-9a-f]{20})$/.exec(res.body.html_url);
  return { ...res.body, untagged_key: untagged?.[1] ?? '' };
}

let tagCounter = 0;

/** A repository (with a commit) and one release on it, owned by alice. */
async function releaseFixture(repoOptions: Record<string, unknown> = {}, releaseOptions: Record<string, unknown> = {}) {
  const repo = await createRepo(server, alice, { auto_init: true, ...repoOptions });
  const release = await createRelease(repo.full, { tag_name: `v1.0.${++tagCounter}`, ...releaseOptions });
  return { ...repo, release };
}

/** Sends headers (and optionally part of a body) with node:http, for what fetch cannot do. */
function rawRequest(
  url: string,
  options: { headers: Record<string, string>; body?: Buffer; destroyAfterBody?: boolean },
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders } | 'aborted'> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', (err) => (options.destroyAfterBody ? resolve('aborted') : reject(err)));
    if (options.body) req.write(options.body);
    if (options.destroyAfterBody) {
      setTimeout(() => {
        req.destroy();
        resolve('aborted');
      }, 200);
    } else if (!options.headers['content-length'] || options.body) {
      req.end();
    } else {
      req.flushHeaders();
    }
  });
}

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function blobKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const b of server.wharf.ctx.blobs.list()) keys.push(b.key);
  return keys;
}

async function tmpFiles(): Promise<string[]> {
  return readdir(path.join(server.config.blobDir, 'tmp')).catch(() => []);
}

describe('uploading', () => {
  it('stores the bytes and answers 201 with a complete release-asset', async () => {
    const { full, release } = await releaseFixture();
    const res = await upload(full, release.id, 'notes.txt', 'hello wharf', { label: 'Release notes' });
    expect(res.status).toBe(201);
    const a = res.body;
    expect(a).toMatchObject({
      name: 'notes.txt',
      label: 'Release notes',
      content_type: 'text/plain',
      state: 'uploaded',
      size: 11,
      digest: `sha256:${sha256('hello wharf')}`,
      download_count: 0,
      uploader: { login: alice.login },
      url: `${server.api}/repos/${full}/releases/assets/${a.id}`,
      browser_download_url: `${server.base}/${full}/releases/download/${release.tag_name}/notes.txt`,
    });
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(a.created_at <= a.updated_at).toBe(true);
    const got = await call('GET', a.url, { token: alice.token });
    expect(got.body).toEqual(a);
  });

  it('accepts what real clients send: empty label, trailing &, + for space, raw names, no Content-Type', async () => {
    const { full, release } = await releaseFixture();
    const gh = await call('POST', uploadUrl(full, release.id, 'label=&name=two+words.zip'), { token: alice.token, raw: 'a', headers: { 'content-type': 'application/zip' } });
    expect(gh.status).toBe(201);
    expect(gh.body).toMatchObject({ name: 'two.words.zip', label: '' });
    const octo = await call('POST', uploadUrl(full, release.id, 'name=c.txt&'), { token: alice.token, raw: 'c', headers: { 'content-type': 'raw' } });
    expect(octo.body).toMatchObject({ name: 'c.txt', label: null, content_type: 'raw' });
    const raw = await fetch(uploadUrl(full, release.id, 'name=100%.tar.gz'), { method: 'POST', headers: { authorization: `token ${alice.token}` }, body: Buffer.from('z') });
    expect(raw.status).toBe(201);
    const rawBody = await raw.json();
    assertMatchesOpenApi('POST', `/repos/${full}/releases/${release.id}/assets`, 201, rawBody);
    expect(rawBody).toMatchObject({ name: '100.tar.gz', content_type: 'application/octet-stream' });
  });

  it('rewrites names as GitHub does, so no name can escape a directory', async () => {
    const { full, release } = await releaseFixture();
    const cases: Array<[string, string]> = [
      ['my file (1).tar.gz', 'my.file.1.tar.gz'],
      ['façade.exposé', 'facade.expose'],
      ['../../etc/passwd', 'default.etc.passwd'],
      ['dir/sub\\file.bin', 'dir.sub.file.bin'],
      ['.env', 'default.env'],
      ['trailing...', 'default.trailing'],
      ['😀.pdf', 'default.pdf'],
      ['app+linux@v1.zip', 'app+linux@v1.zip'],
    ];
    for (const [sent, stored] of cases) {
      const res = await upload(full, release.id, sent, `bytes of ${sent}`);
      expect(res.status, sent).toBe(201);
      expect(res.body.name, sent).toBe(stored);
      const dl = await fetch(res.body.browser_download_url);
      expect(dl.status, sent).toBe(200);
      expect(await dl.text()).toBe(`bytes of ${sent}`);
    }
    // Two local names that rewrite to the same name collide.
    const clash = await upload(full, release.id, 'my file [1].tar.gz', 'x');
    expect(expectGitHubError(clash, 422, 'Validation Failed').errors).toEqual([{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }]);
  });

  it('refuses a duplicate name with already_exists and request_id, also when uploads race', async () => {
    const { full, release } = await releaseFixture();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(full, release.id, 'same.bin', `content ${i}`)));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) {
      const body = expectGitHubError(r, 422, 'Validation Failed');
      expect(body.errors).toEqual([{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }]);
      expect(body.request_id).toBe(r.headers.get('x-github-request-id'));
      expect(body.documentation_url).toBe('https://docs.github.com/rest');
    }
    const list = await call('GET', `${server.api}/repos/${full}/releases/${release.id}/assets`, { token: alice.token });
    expect(list.body).toHaveLength(1);
    // The losers left no bytes behind.
    await waitFor(async () => (await blobKeys()).filter((k) => results.some((_, i) => k === sha256(`content ${i}`))).length === 1);
  });

  it('answers the upload host’s low-level errors: Bad Content-Length, zero bytes, missing name', async () => {
    const { full, release } = await releaseFixture();
    const chunked = await rawRequest(uploadUrl(full, release.id, 'name=a.txt'), {
      headers: { authorization: `token ${alice.token}`, 'transfer-encoding': 'chunked' },
      body: Buffer.from('abc'),
    });
    if (chunked === 'aborted') throw new Error('aborted');
    expect(chunked.status).toBe(400);
    expect(Object.keys(JSON.parse(chunked.body))).toEqual(['message', 'request_id']);
    expect(JSON.parse(chunked.body).message).toBe('Bad Content-Length: ');
    const empty = await upload(full, release.id, 'empty.txt', '');
    expect(expectGitHubError(empty, 422).errors).toEqual([{ resource: 'ReleaseAsset', field: 'size', code: 'custom', message: 'size must be greater than or equal to 1' }]);
    expectGitHubError(await call('POST', uploadUrl(full, release.id, 'label=x'), { token: alice.token, raw: 'x' }), 400);
    expectGitHubError(await call('POST', uploadUrl(full, 999999, 'name=x'), { token: alice.token, raw: 'x' }), 404, 'Not Found');
    expectGitHubError(await call('POST', uploadUrl(full, release.id, 'name=x'), { token: bob.token, raw: 'x' }), 403);
    expectGitHubError(await call('POST', uploadUrl(full, release.id, 'name=x'), { raw: 'x' }), 401);
    expect(await blobKeys()).not.toContain(sha256('x'));
  });

  it('caps a release at 1000 assets', async () => {
    const { full, release } = await releaseFixture();
    const db = server.wharf.ctx.db;
    const { repository_id } = await db.selectFrom('releases').select('repository_id').where('id', '=', release.id).executeTakeFirstOrThrow();
    const now = '2024-01-01T00:00:00Z';
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      release_id: release.id,
      repository_id,
      name: `f${i}`,
      label: null,
      content_type: 'x',
      size: 1,
      digest: null,
      blob_key: null,
      state: 'uploaded' as const,
      download_count: 0,
      uploader_id: alice.id,
      created_at: now,
      updated_at: now,
    }));
    for (let i = 0; i < rows.length; i += 100)
      await db
        .insertInto('assets')
        .values(rows.slice(i, i + 100))
        .execute();
    const res = await upload(full, release.id, 'one-too-many.txt', 'x');
    expect(expectGitHubError(res, 422).errors).toEqual([{ resource: 'ReleaseAsset', field: 'file_count', code: 'custom', message: 'file_count limited to 1000 assets' }]);
    const page = await call('GET', `${server.api}/repos/${full}/releases/${release.id}/assets?per_page=100&page=10`, { token: alice.token });
    expect(page.body).toHaveLength(100);
    expect(page.body.map((a: { name: string }) => a.name)).not.toContain('one-too-many.txt');
  });

  it('leaves nothing behind when the client disconnects half-way', async () => {
    const { full, release } = await releaseFixture();
    const half = Buffer.alloc(512 * 1024, 7);
    const result = await rawRequest(uploadUrl(full, release.id, 'name=partial.bin'), {
      headers: { authorization: `token ${alice.token}`, 'content-length': String(4 * half.length), 'content-type': 'application/octet-stream' },
      body: half,
      destroyAfterBody: true,
    });
    expect(result).toBe('aborted');
    const db = server.wharf.ctx.db;
    await waitFor(async () => (await db.selectFrom('assets').select('id').where('release_id', '=', release.id).execute()).length === 0);
    await waitFor(async () => (await tmpFiles()).length === 0);
    // The name is free again and a complete upload succeeds.
    const again = await upload(full, release.id, 'partial.bin', 'complete');
    expect(again.status).toBe(201);
  });
});

describe('upload size limit', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startServer({ env: { WHARF_MAX_ASSET_SIZE: String(1024 * 1024) } });
  });
  afterAll(async () => small?.close());

  it('refuses an upload over the limit from its Content-Length, before reading the body', async () => {
    const owner = await createUser(small);
    const repo = await createRepo(small, owner, { auto_init: true });
    const release = (await call('POST', `${small.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1' } })).body;
    const url = `${small.uploads}/repos/${repo.full}/releases/${release.id}/assets?name=big.bin`;
    // Only headers are sent: the answer must come without the 2 GiB body.
    const res = await rawRequest(url, { headers: { authorization: `token ${owner.token}`, 'content-length': String(2 * 1024 * 1024 * 1024 - 1) } });
    if (res === 'aborted') throw new Error('aborted');
    expect(res.status).toBe(422);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body).errors).toEqual([{ resource: 'ReleaseAsset', field: 'size', code: 'custom', message: 'size must be less than or equal to 1048576' }]);
    const ok = await fetch(url.replace('big', 'fits'), { method: 'POST', headers: { authorization: `token ${owner.token}` }, body: Buffer.alloc(1024 * 1024, 1) });
    expect(ok.status).toBe(201);
  });
});

describe('trickling uploads', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startServer({ env: { WHARF_BODY_TIMEOUT_MS: '400', WHARF_BODY_MIN_RATE: '2048' } });
  });
  afterAll(async () => slow?.close());

  it('ends an upload slower than the minimum rate with a 408 and removes what it left', async () => {
    const owner = await createUser(slow);
    const repo = await createRepo(slow, owner, { auto_init: true });
    const release = (await call('POST', `${slow.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1' } })).body;
    const url = `${slow.uploads}/repos/${repo.full}/releases/${release.id}/assets?name=trickle.bin`;
    // 64 bytes every 50 ms: never idle, but ~1.3 KB/s against a minimum of 2 KB/s.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { authorization: `token ${owner.token}`, 'content-length': String(1024 * 1024) } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      const timer = setInterval(() => (req.destroyed ? clearInterval(timer) : req.write(Buffer.alloc(64, 1))), 50);
      req.on('close', () => clearInterval(timer));
    });
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body).message).toMatch(/slower than the minimum rate of 2048 bytes per second/);
    const db = slow.wharf.ctx.db;
    await waitFor(async () => (await db.selectFrom('assets').select('id').where('release_id', '=', release.id).execute()).length === 0);
    await waitFor(async () => (await readdir(path.join(slow.config.blobDir, 'tmp')).catch(() => [])).length === 0);
    // A client sending at a normal rate is unaffected, and the name is free again.
    const ok = await fetch(url, { method: 'POST', headers: { authorization: `token ${owner.token}` }, body: Buffer.alloc(256 * 1024, 1) });
    expect(ok.status).toBe(201);
  });
});

/** An upload whose body the test sends piece by piece; `answer` settles with the server's reply. */
function manualUpload(url: string, token: string, length: number) {
  let request!: http.ClientRequest;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request = http.request(url, { method: 'POST', headers: { authorization: `token ${token}`, 'content-length': String(length) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    request.on('error', reject);
  });
  return { request, answer };
}

describe('upload leases', () => {
  // A lease of 3 s, renewed every 375 ms while bytes arrive; no minimum rate, and an idle timeout
  // longer than the test, so only the lease decides.
  let leased: TestServer;
  beforeAll(async () => {
    leased = await startServer({ env: { WHARF_UPLOAD_LEASE_MS: '3000', WHARF_BODY_MIN_RATE: '0', WHARF_IDLE_TIMEOUT_MS: '60000', WHARF_BODY_TIMEOUT_MS: '60000' } });
  });
  afterAll(async () => leased?.close());

  async function leasedRelease() {
    const owner = await createUser(leased);
    const repo = await createRepo(leased, owner, { auto_init: true });
    const release = (await call('POST', `${leased.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1' } })).body;
    const url = (name: string) => `${leased.uploads}/repos/${repo.full}/releases/${release.id}/assets?name=${name}`;
    const openRow = async () => leased.wharf.ctx.db.selectFrom('assets').select(['id', 'state', 'updated_at']).where('release_id', '=', release.id).executeTakeFirst();
    return { owner, url, openRow };
  }

  it('renews the lease of a slow upload while its bytes arrive: the sweeper leaves it alone past the lease', async () => {
    const { owner, url, openRow } = await leasedRelease();
    // 32 bytes every 100 ms for about 6 s: twice the lease, well below any useful rate.
    const chunks = 60;
    const { request, answer } = manualUpload(url('slow.bin'), owner.token, chunks * 32);
    let sweptWhileSending = 0;
    for (let i = 0; i < chunks; i++) {
      request.write(Buffer.alloc(32, i));
      await new Promise((r) => setTimeout(r, 100));
      if (i % 15 === 10) {
        // The sweeper, run with the real clock, sees a lease renewed within the last second or two.
        sweptWhileSending += (await sweepAssets(leased.wharf.ctx)).expiredUploads;
        const row = await openRow();
        expect(row?.state).toBe('open');
        expect(Date.now() - Date.parse(row!.updated_at)).toBeLessThan(3000);
      }
    }
    request.end();
    const done = await answer;
    expect(done.status, done.body).toBe(201);
    expect(sweptWhileSending).toBe(0);
    expect(JSON.parse(done.body).size).toBe(chunks * 32);
  });

  it('lets the lease of a stalled upload run out: the sweeper removes it, and the upload ends when bytes come again', async () => {
    const { owner, url, openRow } = await leasedRelease();
    const { request, answer } = manualUpload(url('stalled.bin'), owner.token, 4096);
    request.write(Buffer.alloc(1024, 1));
    await vi.waitUntil(async () => (await openRow())?.state === 'open', { timeout: 5000 });
    const leaseStart = Date.parse((await openRow())!.updated_at);
    // Nothing more arrives: the lease is not renewed, however long the connection stays open.
    await new Promise((r) => setTimeout(r, 4500));
    expect(Date.parse((await openRow())!.updated_at)).toBe(leaseStart);
    expect((await sweepAssets(leased.wharf.ctx)).expiredUploads).toBe(1);
    expect(await openRow()).toBeUndefined();
    // Bytes again: the renewal finds its row gone and the upload stops with 404, leaving nothing.
    const more = setInterval(() => request.destroyed || request.write(Buffer.alloc(64, 2)), 100);
    const ended = await answer.finally(() => clearInterval(more));
    expect(ended.status).toBe(404);
    expect(await openRow()).toBeUndefined();
    // The name is free again.
    const again = await fetch(url('stalled.bin'), { method: 'POST', headers: { authorization: `token ${owner.token}` }, body: Buffer.alloc(4096, 3) });
    expect(again.status).toBe(201);
  });
});

describe('reading and downloading', () => {
  it('serves bytes with Range, HEAD, ETag and counts only completed downloads', async () => {
    const { full, release } = await releaseFixture();
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const { body: asset } = await upload(full, release.id, 'data.bin', data, { contentType: 'text/html' });
    const headers = { accept: 'application/octet-stream' };

    const head = await fetch(asset.url, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
    expect(head.headers.get('etag')).toBe(`"${sha256(data)}"`);

    const full200 = await fetch(asset.url, { headers });
    expect(full200.status).toBe(200);
    // User-declared HTML is never served as HTML from Wharf's origin.
    expect(full200.headers.get('content-type')).toBe('application/octet-stream');
    expect(full200.headers.get('content-disposition')).toMatch(/^attachment; filename=data\.bin/);
    expect(full200.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await full200.arrayBuffer()).equals(data)).toBe(true);

    const part = await fetch(asset.url, { headers: { ...headers, range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
    const tail = await fetch(asset.browser_download_url, { headers: { range: 'bytes=-5' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(995))).toBe(true);
    const beyond = await fetch(asset.url, { headers: { ...headers, range: 'bytes=5000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */1000');
    const notModified = await fetch(asset.url, { headers: { ...headers, 'if-none-match': `"${sha256(data)}"` } });
    expect(notModified.status).toBe(304);

    // Counted: the full GET and the tail range (which completes the file); not HEAD, 206 mid-file, 416, 304.
    await waitFor(async () => (await call('GET', asset.url, {})).body.download_count === 2);
    const json = await call('GET', asset.url, {});
    expect(json.body.download_count).toBe(2);
    expect(json.headers.get('last-modified')).toBeTruthy();
  });

  it('lists assets with pagination, edits and deletes them with Octokit', async () => {
    const { full, name, release } = await releaseFixture();
    const octokit = new Octokit({ auth: alice.token, baseUrl: server.api });
    const uploadUrlTemplate = `${server.uploads}/repos/${full}/releases/${release.id}/assets{?name,label}`;
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const data = Buffer.from(`file number ${i}`);
      const res = await octokit.rest.repos.uploadReleaseAsset({
        owner: alice.login,
        repo: name,
        release_id: release.id,
        url: uploadUrlTemplate,
        name: `file-${i}.txt`,
        data: data as unknown as string,
        headers: { 'content-type': 'text/plain', 'content-length': data.length },
      });
      expect(res.status).toBe(201);
      assertMatchesOpenApi('POST', `/repos/${full}/releases/${release.id}/assets`, 201, res.data);
      ids.push(res.data.id);
    }
    const first = await octokit.rest.repos.listReleaseAssets({ owner: alice.login, repo: name, release_id: release.id, per_page: 2 });
    assertMatchesOpenApi('GET', `/repos/${full}/releases/${release.id}/assets`, 200, first.data);
    expect(first.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.repos.listReleaseAssets, { owner: alice.login, repo: name, release_id: release.id, per_page: 2 });
    expect(all.map((a) => a.id)).toEqual(ids);

    const bytes = await octokit.rest.repos.getReleaseAsset({ owner: alice.login, repo: name, asset_id: ids[1]!, headers: { accept: 'application/octet-stream' } });
    expect(Buffer.from(bytes.data as unknown as ArrayBuffer).toString()).toBe('file number 1');

    const patched = await octokit.rest.repos.updateReleaseAsset({ owner: alice.login, repo: name, asset_id: ids[0]!, name: 'renamed file.txt', label: 'A label' });
    assertMatchesOpenApi('PATCH', `/repos/${full}/releases/assets/${ids[0]}`, 200, patched.data);
    expect(patched.data).toMatchObject({ name: 'renamed.file.txt', label: 'A label' });
    expect(patched.data.browser_download_url).toMatch(/\/renamed\.file\.txt$/);
    await expect(octokit.rest.repos.updateReleaseAsset({ owner: alice.login, repo: name, asset_id: ids[0]!, name: 'file-1.txt' })).rejects.toMatchObject({ status: 422 });
    expectGitHubError(await call('PATCH', `${server.api}/repos/${full}/releases/assets/${ids[0]}`, { token: alice.token, body: { label: 5 } }), 422);

    const del = await octokit.rest.repos.deleteReleaseAsset({ owner: alice.login, repo: name, asset_id: ids[1]! });
    expect(del.status).toBe(204);
    await expect(octokit.rest.repos.getReleaseAsset({ owner: alice.login, repo: name, asset_id: ids[1]! })).rejects.toMatchObject({ status: 404 });
    expect(await blobKeys()).not.toContain(sha256('file number 1'));
  });

  it('follows the gh flow with Octokit: draft, upload to upload_url, publish', async () => {
    const repo = await createRepo(server, alice, { auto_init: true });
    const octokit = new Octokit({ auth: alice.token, baseUrl: server.api });
    const draft = await octokit.rest.repos.createRelease({ owner: alice.login, repo: repo.name, tag_name: 'v2.0.0', draft: true });
    const data = Buffer.from('binary for v2');
    const up = await octokit.rest.repos.uploadReleaseAsset({
      owner: alice.login,
      repo: repo.name,
      release_id: draft.data.id,
      url: draft.data.upload_url,
      name: 'tool linux.tar.gz',
      label: 'Linux build',
      data: data as unknown as string,
      headers: { 'content-type': 'application/gzip', 'content-length': data.length },
    });
    expect(up.data.browser_download_url).toMatch(/\/releases\/download\/untagged-[0-9a-f]{20}\/tool\.linux\.tar\.gz$/);
    const published = await octokit.rest.repos.updateRelease({ owner: alice.login, repo: repo.name, release_id: draft.data.id, draft: false });
    assertMatchesOpenApi('PATCH', `/repos/${repo.full}/releases/${draft.data.id}`, 200, published.data);
    expect(published.data.assets).toHaveLength(1);
    expect(published.data.assets[0]).toMatchObject({ name: 'tool.linux.tar.gz', label: 'Linux build', digest: `sha256:${sha256(data)}` });
    expect(published.data.assets[0]!.browser_download_url).toBe(`${server.base}/${repo.full}/releases/download/v2.0.0/tool.linux.tar.gz`);
    expect(await (await fetch(published.data.assets[0]!.browser_download_url)).text()).toBe('binary for v2');
  });

  it('redirects latest/download to the latest release’s asset', async () => {
    const repo = await createRepo(server, alice, { auto_init: true });
    const older = await createRelease(repo.full, { tag_name: 'v1' });
    const newer = await createRelease(repo.full, { tag_name: 'v2' });
    const pre = await createRelease(repo.full, { tag_name: 'v3-rc', prerelease: true });
    for (const r of [older, newer, pre]) await upload(repo.full, r.id, 'tool.tgz', `tool ${r.tag_name}`);
    const res = await fetch(`${server.base}/${repo.full}/releases/latest/download/tool.tgz`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${server.base}/${repo.full}/releases/download/v2/tool.tgz`);
    const followed = await fetch(`${server.base}/${repo.full}/releases/latest/download/tool.tgz`);
    expect(await followed.text()).toBe('tool v2');
    expectGitHubError(await call('GET', `${server.base}/${repo.full}/releases/latest/download/missing.tgz`, {}), 404);
  });

  it('serves tags containing slashes on the browser URL', async () => {
    const { full, release } = await releaseFixture({}, { tag_name: 'release/1.0+build' });
    const { body: asset } = await upload(full, release.id, 'x.txt', 'slashy');
    expect(asset.browser_download_url).toBe(`${server.base}/${full}/releases/download/release/1.0%2Bbuild/x.txt`);
    expect(await (await fetch(asset.browser_download_url)).text()).toBe('slashy');
  });
});

describe('visibility', () => {
  it('hides assets of private repositories on every path, and accepts a token on the browser URL', async () => {
    const { full, release } = await releaseFixture({ private: true });
    const { body: asset } = await upload(full, release.id, 'secret.txt', 'top secret');
    const paths = [
      { url: asset.url, headers: {} as Record<string, string> },
      { url: asset.url, headers: { accept: 'application/octet-stream' } },
      { url: `${server.api}/repos/${full}/releases/${release.id}/assets`, headers: {} },
      { url: asset.browser_download_url, headers: {} },
      { url: `${server.base}/${full}/releases/latest/download/secret.txt`, headers: {} },
    ];
    for (const p of paths) {
      for (const token of [null, bob.token]) expectGitHubError(await call('GET', p.url, { token, headers: p.headers }), 404, 'Not Found');
    }
    expectGitHubError(await call('PATCH', asset.url, { token: bob.token, body: { label: 'x' } }), 404);
    expectGitHubError(await call('DELETE', asset.url, { token: bob.token }), 404);
    expectGitHubError(await call('POST', uploadUrl(full, release.id, 'name=y'), { token: bob.token, raw: 'y' }), 404);
    const withToken = await fetch(asset.browser_download_url, { headers: { authorization: `token ${alice.token}` } });
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toBe('top secret');
  });

  it('hides draft assets from callers without push access, and serves them on the untagged URL to pushers', async () => {
    const { full, name, release } = await releaseFixture({}, { draft: true, tag_name: 'v9.9.9' });
    await addCollaborator(server, alice, name, bob, 'pull');
    const { body: asset } = await upload(full, release.id, 'draft.bin', 'draft bytes');
    expect(asset.browser_download_url).toBe(`${server.base}/${full}/releases/download/untagged-${release.untagged_key}/draft.bin`);
    for (const token of [null, bob.token]) {
      expectGitHubError(await call('GET', asset.url, { token }), 404);
      expectGitHubError(await call('GET', asset.url, { token, headers: { accept: 'application/octet-stream' } }), 404);
      expectGitHubError(await call('GET', `${server.api}/repos/${full}/releases/${release.id}/assets`, { token }), 404);
      expectGitHubError(await call('GET', asset.browser_download_url, { token }), 404);
      expectGitHubError(await call('GET', `${server.base}/${full}/releases/download/v9.9.9/draft.bin`, { token }), 404);
    }
    const mine = await fetch(asset.browser_download_url, { headers: { authorization: `token ${alice.token}` } });
    expect(await mine.text()).toBe('draft bytes');
  });
});

describe('bytes and cleanup', () => {
  it('keeps shared bytes while any asset uses them, and deletes them with the last one', async () => {
    const { full, release } = await releaseFixture();
    const a = (await upload(full, release.id, 'a.bin', 'shared content')).body;
    const b = (await upload(full, release.id, 'b.bin', 'shared content')).body;
    const key = sha256('shared content');
    expect((await call('DELETE', a.url, { token: alice.token })).status).toBe(204);
    expect(await blobKeys()).toContain(key);
    expect(await (await fetch(b.browser_download_url)).text()).toBe('shared content');
    expect((await call('DELETE', b.url, { token: alice.token })).status).toBe(204);
    expect(await blobKeys()).not.toContain(key);
  });

  it('deletes a release’s bytes with the release, keeping bytes other releases share', async () => {
    const { full, release } = await releaseFixture();
    const other = await createRelease(full, { tag_name: 'v-other' });
    await upload(full, release.id, 'one.bin', 'release bytes 1');
    await upload(full, release.id, 'two.bin', 'release bytes 2');
    await upload(full, other.id, 'same.bin', 'release bytes 2');
    const del = await call('DELETE', `${server.api}/repos/${full}/releases/${release.id}`, { token: alice.token });
    expect(del.status).toBe(204);
    const left = await blobKeys();
    expect(left).not.toContain(sha256('release bytes 1'));
    expect(left).toContain(sha256('release bytes 2'));
    // Direct use, as other services call it: already-deleted or still-used keys are left alone.
    await deleteUnreferencedBlobs(server.wharf.ctx, [sha256('release bytes 1'), sha256('release bytes 2')]);
    expect(await blobKeys()).toContain(sha256('release bytes 2'));
    expect(await (await fetch(`${server.base}/${full}/releases/download/v-other/same.bin`)).text()).toBe('release bytes 2');
  });

  it('makes an upload wait out a concurrent deletion of its bytes before trusting them', async () => {
    const ctx = server.wharf.ctx;
    const { Readable } = await import('node:stream');
    const blob = await ctx.blobs.put(Readable.from([Buffer.from('raced bytes')]));
    // A deleter has claimed the key: the upload's check must wait for the verdict.
    await ctx.db
      .insertInto('blob_deletions')
      .values({ blob_key: blob.key, started_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') })
      .execute();
    let settled = false;
    const check = confirmBlobStored(ctx, blob.key).then((v) => ((settled = true), v));
    await new Promise((r) => setTimeout(r, 150));
    expect(settled).toBe(false);
    await ctx.blobs.delete(blob.key);
    await ctx.db.deleteFrom('blob_deletions').where('blob_key', '=', blob.key).execute();
    expect(await check).toBe(false);
    // Without a claim, bytes that are there are confirmed at once.
    const kept = await ctx.blobs.put(Readable.from([Buffer.from('kept bytes')]));
    expect(await confirmBlobStored(ctx, kept.key)).toBe(true);
    await ctx.blobs.delete(kept.key);
  });

  it('keeps bytes that are being stored while a deletion of identical bytes runs (holds)', async () => {
    const ctx = server.wharf.ctx;
    const { Readable } = await import('node:stream');
    const bytes = Buffer.from(`held bytes ${Date.now()}`);
    const key = sha256(bytes);
    // Stored, in place, not yet referenced by any row: the window between an upload's put and its
    // row recording the key. A deletion of the same key (the last other asset with these bytes
    // was just deleted) must leave them; a plain put lost them here.
    const { stored, hold } = await putHeld(ctx, Readable.from([bytes]), {});
    expect(stored.key).toBe(key);
    expect(await deleteUnreferencedBlobs(ctx, [key])).toBe(0);
    expect(await ctx.blobs.stat(key)).not.toBeNull();
    await hold.release();
    expect(await deleteUnreferencedBlobs(ctx, [key])).toBe(1);
    expect(await ctx.blobs.stat(key)).toBeNull();

    // A deletion claimed before the bytes are put in place: the put waits for it to finish, so
    // the deletion cannot remove the bytes after they arrived.
    await ctx.blobs.put(Readable.from([bytes]));
    await ctx.db
      .insertInto('blob_deletions')
      .values({ blob_key: key, started_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') })
      .execute();
    let settled = false;
    const second = putHeld(ctx, Readable.from([bytes]), {}).then((v) => ((settled = true), v));
    await new Promise((r) => setTimeout(r, 150));
    expect(settled).toBe(false);
    await ctx.blobs.delete(key);
    await ctx.db.deleteFrom('blob_deletions').where('blob_key', '=', key).execute();
    const { hold: secondHold } = await second;
    expect(await ctx.blobs.stat(key)).not.toBeNull();
    await secondHold.release();
    expect(await deleteUnreferencedBlobs(ctx, [key])).toBe(1);
    expect(await ctx.db.selectFrom('blob_holds').select('id').where('blob_key', '=', key).execute()).toEqual([]);
  });

  it('sweeps expired uploads, stale temporary files and orphan blobs', async () => {
    const { release } = await releaseFixture();
    const ctx = server.wharf.ctx;
    const { repository_id } = await ctx.db.selectFrom('releases').select('repository_id').where('id', '=', release.id).executeTakeFirstOrThrow();
    const orphan = await ctx.blobs.put((await import('node:stream')).Readable.from([Buffer.from('orphan bytes')]));
    await ctx.db
      .insertInto('assets')
      .values({
        release_id: release.id,
        repository_id,
        name: 'stuck.bin',
        label: null,
        content_type: 'x',
        size: 10,
        digest: null,
        blob_key: orphan.key,
        state: 'open',
        download_count: 0,
        uploader_id: alice.id,
        created_at: '2024-01-01T00:00:00Z',
        updated_at: '2024-01-01T00:00:00Z',
      })
      .execute();
    const result = await sweepAssets(ctx, { now: Date.now() + 10 * 60_000, orphans: true });
    expect(result.expiredUploads).toBe(1);
    expect(await ctx.db.selectFrom('assets').select('id').where('release_id', '=', release.id).execute()).toHaveLength(0);
    expect(await blobKeys()).not.toContain(orphan.key);
  });
});
