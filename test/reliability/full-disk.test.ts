/**
 * Full disk: the whole data directory (database, repositories, blobs) on a 64 MiB tmpfs mounted by
 * the test. Uploads that do not fit fail with a clear GitHub-shaped error (507, not a 500), leave
 * nothing visible and no temporary bytes; the server keeps serving downloads; once space is freed,
 * uploads work again. Needs root (to mount); skipped with a message otherwise.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { recordFigure } from './support/figures.ts';

const SIZE_MIB = 64;
let mountPoint: string | null = null;
let skipReason = '';

function tryMount(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MIB}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (err) {
    skipReason = `cannot mount a tmpfs (${(err as Error).message.split('\n')[0]}); run as root to test a full disk`;
    return false;
  }
}

let server: TestServer;
const auth = { authorization: `token ${ADMIN_TOKEN}` };

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-full-'));
  if (tryMount(dir)) {
    mountPoint = dir;
    server = await startServer({ dataDir: dir });
  } else {
    console.warn(`[full-disk] skipped: ${skipReason}`);
  }
});
afterAll(async () => {
  if (!mountPoint) return;
  await server?.close();
  execFileSync('umount', ['-l', mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function upload(releaseId: number, name: string, bytes: Buffer) {
  const res = await fetch(`${server.uploads}/repos/admin/full/releases/${releaseId}/assets?name=${name}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: new Uint8Array(bytes),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

describe('a full disk', () => {
  it('refuses what does not fit with 507, keeps serving, and recovers once space is freed', async (t) => {
    if (!mountPoint) return t.skip();
    expect((await call('POST', `${server.api}/user/repos`, { token: ADMIN_TOKEN, body: { name: 'full', auto_init: true } })).status).toBe(201);
    const release = await call('POST', `${server.api}/repos/admin/full/releases`, { token: ADMIN_TOKEN, body: { tag_name: 'v1' } });
    expect(release.status).toBe(201);
    const rid = release.body.id as number;

    // Fill the disk with distinct 6 MiB assets until one does not fit.
    const stored: Array<{ id: number; name: string; digest: string }> = [];
    let refused: { status: number; text: string; body: any } | null = null;
    for (let i = 0; i < 20 && !refused; i++) {
      const bytes = randomBytes(6 * 1024 * 1024);
      const res = await upload(rid, `fill-${i}.bin`, bytes);
      if (res.status === 201) stored.push({ id: res.body.id, name: `fill-${i}.bin`, digest: sha256(bytes) });
      else refused = res;
    }
    expect(stored.length).toBeGreaterThan(3);
    expect(refused, 'the disk never filled up').not.toBeNull();
    expect(refused!.status).toBe(507);
    expect(typeof refused!.body.message).toBe('string');
    expect(refused!.text).not.toMatch(/ENOSPC|at .*\.ts:|stack/);
    recordFigure(`full disk: 6 MiB uploads stored on ${SIZE_MIB} MiB before a 507`, stored.length);

    // Nothing partial is visible, and no temporary bytes stay behind.
    const listed = await call('GET', `${server.api}/repos/admin/full/releases/${rid}/assets?per_page=100`, { token: ADMIN_TOKEN });
    expect(listed.status).toBe(200);
    expect(listed.body.map((a: any) => a.name).sort()).toEqual(stored.map((s) => s.name).sort());
    for (const a of listed.body) expect(a.state).toBe('uploaded');
    const tmp = path.join(mountPoint, 'blobs', 'tmp');
    if (existsSync(tmp)) expect(await readdir(tmp)).toEqual([]);

    // The server stays up and keeps serving downloads, byte for byte.
    expect((await call('GET', `${server.api}/meta`, {})).status).toBe(200);
    for (const s of stored.slice(0, 3)) {
      const res = await fetch(`${server.api}/repos/admin/full/releases/assets/${s.id}`, { headers: { ...auth, accept: 'application/octet-stream' } });
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(s.digest);
    }
    const browser = await fetch(`${server.base}/admin/full/releases/download/v1/${stored[0]!.name}`, { headers: auth });
    expect(browser.status).toBe(200);
    expect(sha256(Buffer.from(await browser.arrayBuffer()))).toBe(stored[0]!.digest);

    // Free space: delete two assets; uploads work again.
    for (const s of stored.slice(-2)) expect((await call('DELETE', `${server.api}/repos/admin/full/releases/assets/${s.id}`, { token: ADMIN_TOKEN })).status).toBe(204);
    const again = await upload(rid, 'after.bin', randomBytes(6 * 1024 * 1024));
    expect(again.status).toBe(201);
    expect(again.body.state).toBe('uploaded');
  });
});
