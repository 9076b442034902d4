/**
 * Full disk: the whole data directory (database, repositories, blobs) on a 64 MiB tmpfs mounted by
 * the test. Uploads that do not fit fail with a clear GitHub-shaped error (507, not a 500), from
 * the API and from the release page alike, leave nothing visible and no temporary bytes; a disk
 * too full for the database gives the 507 page on the web and 507 on the API; the server keeps serving downloads; once space is freed,
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

const cookieOf = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))!
    .split(';')[0]!;
const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)![1]!;

/** The sign-in form filled in and sent as a browser does, as the site administrator. */
async function signInForm() {
  const form = await fetch(`${server.base}/login`, { headers: { accept: 'text/html' } });
  const fields = new URLSearchParams({ _csrf: csrfOf(await form.text()), login: server.config.adminLogin, token: ADMIN_TOKEN, return_to: '/' });
  const res = await fetch(`${server.base}/session`, {
    method: 'POST',
    headers: { cookie: cookieOf(form, 'wharf_signin'), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: fields.toString(),
    redirect: 'manual',
  });
  return { status: res.status, headers: res.headers, text: await res.text(), cookie: res.status === 303 ? cookieOf(res, 'wharf_session') : null };
}

/** Signs the site administrator in; returns the session cookie and its CSRF secret. */
async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await signInForm();
  expect(res.status).toBe(303);
  const cookie = res.cookie!;
  const home = await fetch(`${server.base}/`, { headers: { cookie, accept: 'text/html' } });
  return { cookie, csrf: csrfOf(await home.text()) };
}

/** An upload from the release edit page, as its script sends it. */
async function webUpload(releaseId: number, name: string, bytes: Buffer) {
  const session = await signIn();
  const res = await fetch(`${server.base}/admin/full/releases/upload/${releaseId}?name=${name}`, {
    method: 'POST',
    headers: {
      cookie: session.cookie,
      'x-csrf-token': session.csrf,
      accept: 'application/json',
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.length),
    },
    body: new Uint8Array(bytes),
  });
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the test looks at the text
  }
  return { status: res.status, text, body };
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

    // The edit page's upload says the same (its script shows the message), never a bare 500.
    const fromPage = await webUpload(rid, 'from-page.bin', randomBytes(6 * 1024 * 1024));
    expect(fromPage.status).toBe(507);
    expect(fromPage.body.message).toBe('Error saving asset: no space left');
    expect(fromPage.text).not.toMatch(/ENOSPC|at .*\.ts:|stack/);

    // With the disk entirely full, the database cannot write either: the sign-in form shows the
    // 507 page and the API answers 507, not a 500.
    const filler = path.join(mountPoint, 'filler');
    const session = await signIn();
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { stdio: 'pipe' });
    } catch {
      // dd stops with ENOSPC once the disk is full, which is the point.
    }
    const signInPage = await signInForm();
    expect(signInPage.status).toBe(507);
    expect(signInPage.headers.get('content-type')).toMatch(/^text\/html/);
    expect(signInPage.text).toContain('<h1>507 · Storage full</h1>');
    expect(signInPage.text).not.toMatch(/SQLITE|at .*\.ts:|stack/);
    const edit = await call('PATCH', `${server.api}/repos/admin/full/releases/${rid}`, { token: ADMIN_TOKEN, body: { name: 'renamed on a full disk' } });
    expect(edit.status).toBe(507);
    expect(edit.body.message).toMatch(/no space left/);
    // A page that only reads still opens.
    expect((await fetch(`${server.base}/admin/full/releases`, { headers: { cookie: session.cookie, accept: 'text/html' } })).status).toBe(200);
    await rm(filler);

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
