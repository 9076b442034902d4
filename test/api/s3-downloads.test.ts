/**
 * Asset downloads on S3 storage: a 302 to a short-lived presigned URL (bytes never pass through
 * Wharf), followed by an unmodified Octokit; access is checked before anything is signed; and
 * a signed URL is refused once it expires; and `WHARF_S3_PROXY_DOWNLOADS` streams through Wharf instead. Runs on an s3rver of its own, with
 * whichever database the test environment selects.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { createTestBucket, S3_TEST_CREDENTIALS, type TestBucket } from '../support/s3.ts';
import { startServer, type TestServer } from '../support/server.ts';

let bucket: TestBucket;
let server: TestServer;
let proxied: TestServer;
let alice: TestUser;

const TTL = 120;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  bucket = await createTestBucket();
  process.env.AWS_ACCESS_KEY_ID ??= S3_TEST_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= S3_TEST_CREDENTIALS.secretAccessKey;
  server = await startServer({ env: { ...bucket.env, WHARF_S3_PRESIGN_TTL: String(TTL), WHARF_S3_PROXY_DOWNLOADS: 'false' } });
  alice = await createUser(server);
});
afterAll(async () => {
  await proxied?.close();
  await server?.close();
  await bucket?.close();
});

async function releaseWithAsset(target: TestServer, owner: TestUser, repoBody: Record<string, unknown>, name: string, data: Buffer) {
  const repo = await createRepo(target, owner, { auto_init: true, ...repoBody });
  const release = await call('POST', `${target.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0' } });
  expect(release.status).toBe(201);
  const uploaded = await call('POST', `${target.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=${encodeURIComponent(name)}`, {
    token: owner.token,
    raw: data,
    headers: { 'content-type': 'application/gzip' },
  });
  expect(uploaded.status).toBe(201);
  return { repo, release: release.body, asset: uploaded.body };
}

describe('downloads from S3', () => {
  it('redirects the browser URL and the API to a presigned URL that serves the bytes', async () => {
    const data = randomBytes(300_000);
    const { asset } = await releaseWithAsset(server, alice, {}, 'tool-linux-amd64.tar.gz', data);
    expect(asset.digest).toBe(`sha256:${sha256(data)}`);
    for (const [url, headers] of [
      [asset.browser_download_url, {}],
      [asset.url, { accept: 'application/octet-stream' }],
    ] as const) {
      const res = await call('GET', url, { headers, skipSchema: true });
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${bucket.endpoint}/${bucket.bucket}/blobs/${sha256(data)}?`)).toBe(true);
      expect(new URL(location).searchParams.get('X-Amz-Expires')).toBe(String(TTL));
      // No Authorization travels to the bucket: the signature is the credential.
      const bytes = await fetch(location);
      expect(bytes.status).toBe(200);
      expect(sha256(Buffer.from(await bytes.arrayBuffer()))).toBe(sha256(data));
      expect(bytes.headers.get('content-type')).toBe('application/octet-stream');
      expect(bytes.headers.get('content-disposition')).toContain('filename="tool-linux-amd64.tar.gz"');
    }
    // Each redirect for the whole file counts as a download, as on GitHub.
    const after = await call('GET', asset.url, { token: alice.token });
    expect(after.body.download_count).toBe(2);
  });

  it('is followed by an unmodified Octokit', async () => {
    const data = randomBytes(50_000);
    const { repo, asset } = await releaseWithAsset(server, alice, {}, 'octokit.bin', data);
    const octokit = new Octokit({ auth: alice.token, baseUrl: server.api });
    const [owner, name] = repo.full.split('/') as [string, string];
    const res = await octokit.rest.repos.getReleaseAsset({ owner, repo: name, asset_id: asset.id, headers: { accept: 'application/octet-stream' } });
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(res.data as unknown as ArrayBuffer))).toBe(sha256(data));
  });

  it('checks access before signing anything', async () => {
    const { asset } = await releaseWithAsset(server, alice, { private: true }, 'secret.bin', randomBytes(1000));
    for (const url of [asset.browser_download_url, asset.url]) {
      const res = await call('GET', url, { headers: { accept: 'application/octet-stream' }, skipSchema: true });
      expect(res.status).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
    const mallory = await createUser(server);
    expectGitHubError(await call('GET', asset.url, { token: mallory.token, headers: { accept: 'application/octet-stream' } }), 404, 'Not Found');
    const allowed = await call('GET', asset.url, { token: alice.token, headers: { accept: 'application/octet-stream' }, skipSchema: true });
    expect(allowed.status).toBe(302);
  });

  it('hands out signed URLs that stop working when they expire', async () => {
    // A three-second lifetime; s3rver, like S3, refuses a presigned request after X-Amz-Expires.
    // X-Amz-Date has one-second precision, so a URL signed late in a second has two seconds
    // left: enough for the fetch below on a loaded machine (one second was not).
    const shortLived = await startServer({ env: { ...bucket.env, WHARF_S3_PRESIGN_TTL: '3', WHARF_S3_PROXY_DOWNLOADS: 'false' } });
    try {
      const owner = await createUser(shortLived);
      const data = randomBytes(10_000);
      const { asset } = await releaseWithAsset(shortLived, owner, { private: true }, 'expiring.bin', data);
      const signed = await call('GET', asset.url, { token: owner.token, headers: { accept: 'application/octet-stream' }, skipSchema: true });
      expect(signed.status).toBe(302);
      const location = signed.headers.get('location')!;
      expect(new URL(location).searchParams.get('X-Amz-Expires')).toBe('3');
      const fresh = await fetch(location);
      expect(fresh.status).toBe(200);
      expect(sha256(Buffer.from(await fresh.arrayBuffer()))).toBe(sha256(data));
      // X-Amz-Date has one-second precision: wait past the whole second the URL may still cover.
      await new Promise((r) => setTimeout(r, 4_500));
      const expired = await fetch(location);
      expect(expired.status).toBe(403);
      const text = await expired.text();
      expect(text).toContain('AccessDenied');
      expect(text).not.toContain(data.subarray(0, 16).toString('base64'));
      // The holder of access simply asks Wharf again and gets a new URL.
      const again = await call('GET', asset.url, { token: owner.token, headers: { accept: 'application/octet-stream' }, skipSchema: true });
      expect(again.status).toBe(302);
      expect((await fetch(again.headers.get('location')!)).status).toBe(200);
    } finally {
      await shortLived.close();
    }
  });

  it('streams through Wharf when the bucket is not reachable by clients', async () => {
    proxied = await startServer({ env: { ...bucket.env, WHARF_S3_PROXY_DOWNLOADS: 'true' } });
    const owner = await createUser(proxied);
    const data = randomBytes(200_000);
    const { asset } = await releaseWithAsset(proxied, owner, {}, 'proxied.bin', data);
    const res = await fetch(asset.browser_download_url, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(data));
    const ranged = await fetch(asset.browser_download_url, { headers: { range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(data.subarray(10, 20));
  });
});
