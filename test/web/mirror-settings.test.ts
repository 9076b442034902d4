/**
 * The pull-mirror settings page, `/{owner}/{repo}/settings/mirror`, on a real server mirroring a
 * loopback Gitea stand-in (test/mirrors/fake-gitea.ts): over plain HTTP, who may see it
 * (repository admins only; 404 for everyone else, before any CSRF or form check) and the form's
 * rules (the API's: the same settings, refusals shown beside the form, the token never shown and
 * kept when the field is left empty); in headless Chromium, an admin setting a mirror up, asking
 * for a sync, reading its result, and stopping it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitea } from '../mirrors/fake-gitea.ts';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { chromiumAvailable, openBrowser, type BrowserSession } from './browser.ts';
import { WebClient } from './web-client.ts';

const TOKEN = 'gitea_pat_page_token_never_shown_0123456789';
let server: TestServer;
let gitea: FakeGitea;
let alice: TestUser;
let pusher: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  gitea = new FakeGitea();
  await gitea.start(5);
  gitea.token = TOKEN;
  const commits = await gitea.commits();
  await gitea.setTags({ 'v1.0.0': commits[1]!, 'v1.1.0-beta.1': commits[3]!, 'v1.1.0': commits[4]! });
  const at = '2025-02-03T04:05:06+01:00';
  gitea.addRelease({ tag: 'v1.0.0', name: 'One', body: 'First.', draft: false, prerelease: false, publishedAt: at, assets: [{ name: 'tool.tar.gz', bytes: randomBytes(500) }] });
  gitea.addRelease({ tag: 'v1.1.0-beta.1', name: 'Beta', body: 'Try it.', draft: false, prerelease: true, publishedAt: at });
  gitea.addRelease({
    tag: 'v1.1.0',
    name: 'One one',
    body: 'Second.',
    draft: false,
    prerelease: false,
    publishedAt: at,
    assets: [{ name: 'tool.tar.gz', bytes: randomBytes(700) }],
  });
  server = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_MIRROR_POLL_MS: '200' } });
  alice = await createUser(server);
  pusher = await createUser(server);
  stranger = await createUser(server);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await gitea?.close();
});

async function signedIn(user: TestUser): Promise<WebClient> {
  const web = new WebClient(server.base);
  await web.signIn(user.login, user.token);
  return web;
}

/** The mirror as the API shows it (the same service as the page). */
async function apiMirror(full: string): Promise<{ status: number; body: any }> {
  return call('GET', `${server.api}/repos/${full}/mirror`, { token: alice.token, skipSchema: true });
}

/** Waits until the API shows a finished sync that passes `wanted`; returns the mirror then. */
async function waitForSync(full: string, wanted: (lastSync: any) => boolean = () => true): Promise<any> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const { body } = await apiMirror(full);
    if (body.last_sync && body.last_sync.status !== 'running' && wanted(body.last_sync)) return body;
    if (Date.now() > deadline) throw new Error(`no sync finished: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('mirror settings over HTTP', () => {
  it('is 404 to everyone but repository admins, on the page and every form, before any CSRF check', async () => {
    const repo = await createRepo(server, alice);
    await addCollaborator(server, alice, repo.name, pusher, 'maintain');
    const priv = await createRepo(server, alice, { private: true });
    const visitors = [await signedIn(pusher), await signedIn(stranger), new WebClient(server.base)];
    for (const full of [repo.full, priv.full]) {
      const m = `/${full}/settings/mirror`;
      for (const web of visitors) {
        expect((await web.get(m, { accept: 'text/html' })).status, `GET ${m}`).toBe(404);
        for (const path of [m, `${m}/sync`, `${m}/delete`]) {
          const fields: Record<string, string> = web.cookies.size ? { _csrf: WebClient.csrfOf(await web.get('/')), upstream_url: gitea.url } : { upstream_url: gitea.url };
          expect((await web.post(path, fields)).status, `POST ${path}`).toBe(404);
        }
      }
      expect((await apiMirror(full)).status).toBe(404);
    }
    // The admin without the CSRF token: refused, nothing set up.
    const admin = await signedIn(alice);
    expect((await admin.post(`/${repo.full}/settings/mirror`, { upstream_url: gitea.url })).status).toBe(403);
    expect((await apiMirror(repo.full)).status).toBe(404);
  });

  it('sets a mirror up with the API rules, keeps the token write-only, syncs, and stops', async () => {
    const repo = await createRepo(server, alice);
    const admin = await signedIn(alice);
    const m = `/${repo.full}/settings/mirror`;
    let page = await admin.get(m);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Start mirroring');

    const refused = await admin.post(m, {
      _csrf: WebClient.csrfOf(page),
      upstream_url: 'ftp://nowhere/a/b',
      kind: 'gitea',
      schedule: '5s',
      channels: 'Not a channel',
      last: 'ten',
      prune: '1',
    });
    expect(refused.status).toBe(422);
    for (const words of ['upstream URL must be http(s)', 'schedule must be a duration', 'channels must be a comma-separated list', 'last must be a whole number']) {
      expect(refused.text).toContain(words);
    }
    // What was typed stays in the form.
    expect(refused.text).toContain('value="Not a channel"');
    expect((await apiMirror(repo.full)).status).toBe(404);

    const set = await admin.post(m, {
      _csrf: WebClient.csrfOf(page),
      upstream_url: gitea.url,
      kind: 'gitea',
      token: TOKEN,
      schedule: '2h',
      channels: 'stable',
      assets: '*.tar.gz',
      last: '5',
      prune: '1',
    });
    expect(set.status, set.text).toBe(303);
    expect(set.headers.get('location')).toBe(m);
    const synced = await waitForSync(repo.full);
    expect(synced).toMatchObject({ upstream_url: gitea.url, kind: 'gitea', has_token: true, schedule: '2h', channels: 'stable', assets: '*.tar.gz', last: 5, prune: true });
    expect(synced.last_sync).toMatchObject({ status: 'ok', error: null });
    const releases = (await call('GET', `${server.api}/repos/${repo.full}/releases`, { token: alice.token })).body;
    expect(releases.map((r: any) => r.tag_name).sort()).toEqual(['v1.0.0', 'v1.1.0']);

    page = await admin.get(m);
    expect(page.text).not.toContain(TOKEN);
    expect(page.text).toContain('A token is set');
    expect(page.text).toContain('This repository is a pull mirror of');
    expect(page.text).toContain('class="badge ok"');
    expect(page.text).toMatch(/releases 2 created/);
    expect(page.text).toContain('Next sync');
    expect(page.text).toContain('value="stable"');

    // Saved again with an empty token field: the token stays. "Remove the token" removes it.
    const sealed = async () => (await server.wharf.ctx.db.selectFrom('mirrors').select('token_sealed').where('upstream_url', '=', gitea.url).execute()).map((r) => r.token_sealed);
    const before = await sealed();
    const form = { _csrf: WebClient.csrfOf(page), upstream_url: gitea.url, kind: 'gitea', schedule: '1d', channels: 'stable', assets: '', last: '', prune: '1' };
    expect((await admin.post(m, { ...form, token: '' })).status).toBe(303);
    expect((await apiMirror(repo.full)).body).toMatchObject({ has_token: true, schedule: '1d', channels: 'stable', assets: null, last: null });
    expect(await sealed()).toEqual(before);
    expect((await admin.post(m, { ...form, remove_token: '1' })).status).toBe(303);
    expect((await apiMirror(repo.full)).body.has_token).toBe(false);

    // Saving asks for a sync; without the token the private upstream refuses it: reported, not silent.
    const failed = await waitForSync(repo.full, (s) => s.status === 'failed');
    expect(failed.last_sync.error).toEqual(expect.any(String));
    page = await admin.get(m);
    expect(page.text).toContain('class="badge failed"');
    expect(page.text).toContain('class="error mirror-error"');

    // Sync now: another sync runs (sync times are whole seconds: asked once the last one's second has passed).
    while (Date.now() < Date.parse(failed.last_sync.started_at) + 1000) await new Promise((r) => setTimeout(r, 50));
    expect((await admin.post(`${m}/sync`, { _csrf: WebClient.csrfOf(page) })).status).toBe(303);
    await waitForSync(repo.full, (s) => s.status === 'failed' && s.started_at !== failed.last_sync.started_at);

    // Stop mirroring: an ordinary repository again, with what it has.
    const stopped = await admin.post(`${m}/delete`, { _csrf: WebClient.csrfOf(page) });
    expect(stopped.status).toBe(303);
    expect((await apiMirror(repo.full)).status).toBe(404);
    expect((await admin.get(m)).text).toContain('Start mirroring');
    expect((await call('GET', `${server.api}/repos/${repo.full}/releases`, { token: alice.token })).body).toHaveLength(2);
  }, 300_000);

  it('refuses a repository with releases of its own, saying why', async () => {
    const repo = await createRepo(server, alice, { auto_init: true });
    expect((await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v0.1.0' } })).status).toBe(201);
    const admin = await signedIn(alice);
    const page = await admin.get(`/${repo.full}/settings/mirror`);
    const refused = await admin.post(`/${repo.full}/settings/mirror`, { _csrf: WebClient.csrfOf(page), upstream_url: gitea.url, kind: 'auto', schedule: '1h', prune: '1' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('A repository with releases cannot become a mirror');
  });
});

describe.skipIf(!chromiumAvailable)('mirror settings in Chromium', () => {
  let browser: BrowserSession;
  afterAll(async () => {
    await browser?.close();
  });

  it('sets a mirror up, syncs it now, shows the result, and stops it', async () => {
    const repo = await createRepo(server, alice);
    browser = await openBrowser();
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    const m = `${server.base}/${repo.full}/settings/mirror`;
    await page.goto(`${server.base}/login?return_to=${encodeURIComponent(`/${repo.full}/settings/mirror`)}`);
    await page.getByLabel('Username').fill(alice.login);
    await page.getByLabel('Personal access token').fill(alice.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(m);

    await page.getByLabel('Upstream repository URL').fill(gitea.url);
    await page.getByLabel('Upstream API').selectOption('gitea');
    await page.locator('input[name="token"]').fill(TOKEN);
    await page.getByLabel('Channels').fill('stable');
    await page.getByRole('button', { name: 'Start mirroring' }).click();
    await page.waitForURL(m);

    // The first sync runs in the background: reload until it has finished.
    const deadline = Date.now() + 240_000;
    while ((await page.locator('.mirror-status .badge.ok, .mirror-status .badge.failed').count()) === 0) {
      if (Date.now() > deadline) throw new Error('the first sync did not finish');
      await page.waitForTimeout(200);
      await page.reload();
    }
    expect(await page.locator('.mirror-status .badge.ok').count()).toBe(1);
    expect(await page.locator('.mirror-summary').textContent()).toMatch(/releases 2 created/);
    expect(await page.locator('input[name="token"]').inputValue()).toBe('');
    expect(await page.content()).not.toContain(TOKEN);

    // Sync now: a second sync, which finds nothing to change. Sync times are whole seconds: asked
    // once the first one's second has passed, so that its time tells it apart.
    const first = (await page.locator('.mirror-status time').first().getAttribute('datetime'))!;
    while (Date.now() < Date.parse(first) + 1000) await page.waitForTimeout(50);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.waitForURL(m);
    const again = Date.now() + 240_000;
    for (;;) {
      const finished = (await page.locator('.mirror-status .badge.ok').count()) === 1;
      if (finished && (await page.locator('.mirror-status time').first().getAttribute('datetime')) !== first) break;
      if (Date.now() > again) throw new Error('the second sync did not finish');
      await page.waitForTimeout(200);
      await page.reload();
    }
    expect(await page.locator('.mirror-summary').textContent()).toMatch(/releases 0 created \/ 0 updated \/ 0 deleted, assets 0 stored/);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Stop mirroring' }).click();
    await page.waitForURL(m);
    await expect.poll(() => page.getByRole('button', { name: 'Start mirroring' }).count()).toBe(1);
    expect((await apiMirror(repo.full)).status).toBe(404);
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
