/**
 * Downloads behind nginx with `WHARF_SENDFILE_HEADER=X-Accel-Redirect`, through a real nginx
 * configured as docs/deploy.md says: Wharf authorizes and counts, nginx sends the bytes. What a
 * client sees must be what standalone Wharf sends (Range, If-Range, HEAD, ETag, 304, 416,
 * Content-Disposition), private assets stay behind Wharf's access check, the internal location
 * cannot be reached from outside, and access withdrawn between two downloads is honoured.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { call } from '../support/http.ts';
import { startNginxSendfile, type NginxProxy } from '../support/nginx.ts';
import { ADMIN_TOKEN, startServer, testBlobStore, type TestServer } from '../support/server.ts';
import { needs, TOOLS } from '../support/tools.ts';

// The hand-off names a file in the blob directory; with S3, downloads are presigned redirects.
describe.skipIf(testBlobStore === 's3' || !needs(TOOLS.nginx))('downloads sent by nginx (X-Accel-Redirect)', () => {
  let server: TestServer;
  let proxy: NginxProxy;
  let alice: TestUser;
  let bob: TestUser;
  const bytes = randomBytes(300_000);
  const etag = `"${createHash('sha256').update(bytes).digest('hex')}"`;
  let publicAsset: Awaited<ReturnType<typeof assetOn>>;
  let privateAsset: Awaited<ReturnType<typeof assetOn>>;

  async function assetOn(owner: TestUser, repoOptions: Record<string, unknown>, name: string) {
    const repo = await createRepo(server, owner, { auto_init: true, ...repoOptions });
    const release = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0' } });
    expect(release.status).toBe(201);
    const uploaded = await call('POST', `${server.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=${encodeURIComponent(name)}`, {
      token: owner.token,
      raw: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(uploaded.status).toBe(201);
    return { id: uploaded.body.id as number, path: new URL(uploaded.body.browser_download_url).pathname, name: uploaded.body.name as string, full: repo.full, repo: repo.name };
  }

  const viaProxy = (path: string, init: RequestInit = {}) => fetch(`${proxy.base}${path}`, { redirect: 'manual', ...init });
  const downloadCount = async (full: string, id: number) =>
    (await call('GET', `${server.api}/repos/${full}/releases/assets/${id}`, { token: alice.token })).body.download_count as number;

  beforeAll(async () => {
    server = await startServer({ env: { WHARF_SENDFILE_HEADER: 'X-Accel-Redirect', WHARF_TRUST_PROXY: 'true' } });
    proxy = await startNginxSendfile(Number(new URL(server.base).port), server.config.blobDir);
    alice = await createUser(server);
    bob = await createUser(server);
    publicAsset = await assetOn(alice, {}, 'tool@1.0 linux.tar.gz');
    privateAsset = await assetOn(alice, { private: true }, 'secret.bin');
  });

  afterAll(async () => {
    await proxy?.close();
    await server?.close();
  });

  it('Wharf itself answers with the header naming the blob under the prefix, and no body', async () => {
    const res = await fetch(`${server.base}${publicAsset.path}`);
    const key = etag.slice(1, -1);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-accel-redirect')).toBe(`/_wharf/blobs/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`);
    expect(await res.text()).toBe('');
  });

  it('nginx sends the bytes with the headers Wharf chose', async () => {
    const res = await viaProxy(publicAsset.path);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(res.headers.get('x-accel-redirect')).toBeNull();
    expect(res.headers.get('etag')).toBe(etag);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    // Quoted: `@` is not an HTTP token character.
    expect(publicAsset.name).toBe('tool@1.0.linux.tar.gz');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="tool@1.0.linux.tar.gz"; filename*=UTF-8''${encodeURIComponent('tool@1.0.linux.tar.gz')}`);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const direct = await fetch(`${server.base}${publicAsset.path}`, { method: 'HEAD' });
    expect(res.headers.get('last-modified')).toBe(direct.headers.get('last-modified'));
  });

  it('the API download (Accept: application/octet-stream) is handed off too', async () => {
    const res = await viaProxy(`/api/v3/repos/${publicAsset.full}/releases/assets/${publicAsset.id}`, {
      headers: { accept: 'application/octet-stream', authorization: `token ${bob.token}` },
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(res.headers.get('etag')).toBe(etag);
  });

  it('Range, If-Range, If-None-Match, HEAD and unsatisfiable ranges behave as when Wharf streams', async () => {
    const part = await viaProxy(publicAsset.path, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);

    const suffix = await viaProxy(publicAsset.path, { headers: { range: 'bytes=-10' } });
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true);

    const resumed = await viaProxy(publicAsset.path, { headers: { range: 'bytes=100-199', 'if-range': etag } });
    expect(resumed.status).toBe(206);
    await resumed.arrayBuffer();
    const stale = await viaProxy(publicAsset.path, { headers: { range: 'bytes=100-199', 'if-range': '"something-else"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(bytes.length);

    const cached = await viaProxy(publicAsset.path, { headers: { 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(etag);

    const head = await viaProxy(publicAsset.path, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('etag')).toBe(etag);

    const beyond = await viaProxy(publicAsset.path, { headers: { range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  });

  it('counts full downloads and the range that ends the file, not HEAD, 304 or a middle range', async () => {
    const before = await downloadCount(publicAsset.full, publicAsset.id);
    await (await viaProxy(publicAsset.path)).arrayBuffer();
    await (await viaProxy(publicAsset.path, { method: 'HEAD' })).arrayBuffer();
    await (await viaProxy(publicAsset.path, { headers: { 'if-none-match': etag } })).arrayBuffer();
    await (await viaProxy(publicAsset.path, { headers: { range: 'bytes=0-9' } })).arrayBuffer();
    await (await viaProxy(publicAsset.path, { headers: { range: 'bytes=10-' } })).arrayBuffer();
    expect(await downloadCount(publicAsset.full, publicAsset.id)).toBe(before + 2);
  });

  it('a private asset needs access: 404 without it, the bytes with it', async () => {
    expect((await viaProxy(privateAsset.path)).status).toBe(404);
    expect((await viaProxy(privateAsset.path, { headers: { authorization: `token ${bob.token}` } })).status).toBe(404);
    const res = await viaProxy(privateAsset.path, { headers: { authorization: `token ${alice.token}` } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('the internal location cannot be reached from outside, however the path is spelled', async () => {
    const key = etag.slice(1, -1);
    const blob = `${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`;
    for (const path of [`/_wharf/blobs/${blob}`, `/_wharf%2Fblobs/${blob}`, `/_wharf/%62lobs/${blob}`, `/x/../_wharf/blobs/${blob}`, `//_wharf/blobs/${blob}`, '/_wharf/blobs/']) {
      const res = await viaProxy(path);
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status, path).toBe(404);
      expect(body.includes(bytes.subarray(0, 64)), path).toBe(false);
    }
    // A client cannot ask nginx for the hand-off itself: only an upstream answer triggers it.
    const asked = await viaProxy('/api/v3/meta', { headers: { 'x-accel-redirect': `/_wharf/blobs/${blob}` } });
    expect(Buffer.from(await asked.arrayBuffer()).includes(bytes.subarray(0, 64))).toBe(false);
  });

  it('access withdrawn between two downloads is honoured on the next request', async () => {
    const carol = await createUser(server);
    await addCollaborator(server, alice, privateAsset.repo, carol, 'pull');
    const auth = { headers: { authorization: `token ${carol.token}` } };
    const first = await viaProxy(privateAsset.path, auth);
    expect(first.status).toBe(200);
    await first.arrayBuffer();

    const removed = await call('DELETE', `${server.api}/repos/${privateAsset.full}/collaborators/${carol.login}`, { token: alice.token });
    expect(removed.status).toBe(204);
    expect((await viaProxy(privateAsset.path, auth)).status).toBe(404);
    expect(
      (await viaProxy(`/api/v3/repos/${privateAsset.full}/releases/assets/${privateAsset.id}`, { headers: { ...auth.headers, accept: 'application/octet-stream' } })).status,
    ).toBe(404);

    // A revoked token: the same download is refused at once.
    await addCollaborator(server, alice, privateAsset.repo, carol, 'pull');
    expect((await viaProxy(privateAsset.path, auth)).status).toBe(200);
    const revoked = await call('DELETE', `${server.api}/admin/users/${carol.login}/authorizations`, { token: ADMIN_TOKEN });
    expect(revoked.status).toBe(204);
    expect([401, 404]).toContain((await viaProxy(privateAsset.path, auth)).status);

    // A repository made private: anonymous downloads stop on the next request.
    const open = await call('PATCH', `${server.api}/repos/${publicAsset.full}`, { token: alice.token, body: { private: true } });
    expect(open.status).toBe(200);
    expect((await viaProxy(publicAsset.path)).status).toBe(404);
    await call('PATCH', `${server.api}/repos/${publicAsset.full}`, { token: alice.token, body: { private: false } });
  });
});

describe.skipIf(testBlobStore === 's3')('downloads handed off with X-Sendfile', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { WHARF_SENDFILE_HEADER: 'x-sendfile', WHARF_SENDFILE_PREFIX: '/srv/wharf/blobs/' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('names the file under the configured directory; HEAD is still answered by Wharf', async () => {
    const alice = await createUser(server);
    const repo = await createRepo(server, alice, { auto_init: true });
    const release = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1' } });
    const data = Buffer.from('hello, proxy');
    await call('POST', `${server.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=a.txt`, {
      token: alice.token,
      raw: data,
      headers: { 'content-type': 'text/plain' },
    });
    const key = createHash('sha256').update(data).digest('hex');
    const res = await fetch(`${server.base}/${repo.full}/releases/download/v1/a.txt`);
    expect(res.headers.get('x-sendfile')).toBe(`/srv/wharf/blobs/${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`);
    expect(res.headers.get('etag')).toBe(`"${key}"`);
    const head = await fetch(`${server.base}/${repo.full}/releases/download/v1/a.txt`, { method: 'HEAD' });
    expect(head.headers.get('x-sendfile')).toBeNull();
    expect(head.headers.get('content-length')).toBe(String(data.length));
  });
});

describe('sendfile settings', () => {
  const base = { WHARF_DATA_DIR: '/srv/wharf' };
  it('are off by default, with the documented prefix', () => {
    const config = loadConfig(base);
    expect(config.sendfileHeader).toBeNull();
    expect(config.sendfilePrefix).toBe('/_wharf/blobs/');
  });

  it('accept either header in any case and name the setting when refusing a value', () => {
    expect(loadConfig({ ...base, WHARF_SENDFILE_HEADER: 'x-accel-redirect' }).sendfileHeader).toBe('X-Accel-Redirect');
    expect(() => loadConfig({ ...base, WHARF_SENDFILE_HEADER: 'X-Lighttpd-Send-File' })).toThrow(/WHARF_SENDFILE_HEADER/);
    for (const prefix of ['_wharf/blobs/', '/_wharf/blobs', '/a b/', '/x/../y/', '/x?y/', '/%2e%2e/']) {
      expect(() => loadConfig({ ...base, WHARF_SENDFILE_HEADER: 'X-Sendfile', WHARF_SENDFILE_PREFIX: prefix }), prefix).toThrow(ConfigError);
    }
  });

  it('are refused with the S3 store, whose downloads are presigned redirects', () => {
    expect(() => loadConfig({ ...base, WHARF_BLOB_STORE: 's3', WHARF_S3_BUCKET: 'b', WHARF_SENDFILE_HEADER: 'X-Accel-Redirect' })).toThrow(
      /WHARF_SENDFILE_HEADER="X-Accel-Redirect": needs WHARF_BLOB_STORE=fs/,
    );
  });
});
