/**
 * The web uploader: tus (tus-js-client, served by Wharf) from the release form, as the signed-in
 * session with its CSRF token. Over plain HTTP: the tus endpoints take a session only with the
 * CSRF proof, and then with the API's permission rules. In headless Chromium: an upload survives
 * the browser going offline and a page reload mid-upload and ends with the right digest; the
 * new-release form uploads two files into a draft it creates and publishes it; assets are
 * renamed and relabelled; no page overflows a phone's width.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { artifactPath, chromiumAvailable, openBrowser, throttleResumableWrites, type BrowserSession } from './browser.ts';
import { WebClient } from './web-client.ts';

let server: TestServer;
let alice: TestUser;
let reader: TestUser;
let repo: { name: string; full: string };
let privateRepo: { name: string; full: string };
let throttle: { rate: number | null };
let dir: string;
const problems: string[] = [];

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious and critical axe-core violations of the page as it is now (upload rows included). */
async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) does not apply.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    type Violation = { id: string; impact: string | null; nodes: { target: string[] }[] };
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Violation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id} (${v.targets.join(', ')})`);
}

/** Generous: a loaded CI machine is slow, and every wait below polls for a condition. */
const WAIT = { timeout: 60_000 };
/** A browser test's own limit: above every wait it polls with. */
const TEST_TIMEOUT = 120_000;
const MiB = 1024 * 1024;

beforeAll(async () => {
  server = await startServer();
  throttle = throttleResumableWrites(server.wharf.ctx);
  alice = await createUser(server, undefined, ['repo']);
  reader = await createUser(server, undefined, ['repo']);
  repo = await createRepo(server, alice);
  privateRepo = await createRepo(server, alice, { private: true });
  await addCollaborator(server, alice, repo.name, reader, 'pull');
  const work = await WorkRepo.create();
  await work.commit('first change');
  await work.push(server, repo.full, alice.token, 'main');
  dir = await mkdtemp(path.join(tmpdir(), 'wharf-uploader-'));
});
afterAll(() => server?.close());

async function draft(tag: string): Promise<{ id: number; editPath: string }> {
  const res = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: tag, draft: true } });
  expect(res.status).toBe(201);
  return { id: res.body.id, editPath: `/${repo.full}/releases/edit/${new URL(res.body.html_url).pathname.split('/').pop()}` };
}

async function assets(releaseId: number): Promise<Array<{ id: number; name: string; label: string | null; state: string; digest: string | null; size: number }>> {
  const res = await call('GET', `${server.api}/repos/${repo.full}/releases/${releaseId}/assets`, { token: alice.token });
  expect(res.status).toBe(200);
  return res.body;
}

async function file(name: string, size: number): Promise<{ path: string; sha256: string }> {
  const bytes = randomBytes(size);
  const at = path.join(dir, name);
  await writeFile(at, bytes);
  return { path: at, sha256: createHash('sha256').update(bytes).digest('hex') };
}

function tusHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'tus-resumable': '1.0.0', ...extra };
}

describe('tus endpoints with a browser session', () => {
  it('take the session cookie only with its CSRF token, from this origin, with the API rules', async () => {
    const { id } = await draft('csrf-check');
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const csrf = WebClient.csrfOf(await web.get(`/${repo.full}/releases/new`));
    const create = `/api/uploads/repos/${repo.full}/releases/${id}/assets/resumable`;
    const meta = `name ${Buffer.from('page.bin').toString('base64')}`;
    const creation = { 'upload-length': '11', 'upload-metadata': meta };

    // The cookie alone, a wrong token, or the right token from another origin: refused, nothing claimed.
    for (const headers of [{}, { 'x-csrf-token': 'not-the-token' }, { 'x-csrf-token': csrf, origin: 'https://evil.example' }] as Array<Record<string, string>>) {
      const res = await web.request('POST', create, { headers: tusHeaders({ ...creation, ...headers }) });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.text).message).toMatch(/CSRF|Cross-origin/);
    }
    expect(await assets(id)).toEqual([]);

    const created = await web.request('POST', create, { headers: tusHeaders({ ...creation, 'x-csrf-token': csrf, origin: server.base }) });
    expect(created.status).toBe(201);
    const location = created.headers.get('location')!;
    const assetId = Number(created.headers.get('x-wharf-asset-id'));
    expect((await assets(id)).map((a) => [a.id, a.name, a.state])).toEqual([[assetId, 'page.bin', 'open']]);
    const at = new URL(location).pathname;
    // Every later request needs the token too.
    expect((await web.request('HEAD', at, { headers: tusHeaders() })).status).toBe(403);
    const chunk = { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' };
    expect((await web.request('PATCH', at, { headers: tusHeaders(chunk), body: 'hello world' })).status).toBe(403);
    expect((await web.request('DELETE', at, { headers: tusHeaders() })).status).toBe(403);
    const patched = await web.request('PATCH', at, { headers: tusHeaders({ ...chunk, 'x-csrf-token': csrf }), body: 'hello world' });
    expect(patched.status).toBe(204);
    expect(patched.headers.get('upload-offset')).toBe('11');
    const asset = await web.get(`/${repo.full}/releases/assets/${assetId}`, { accept: 'application/json' });
    expect(JSON.parse(asset.text)).toMatchObject({ name: 'page.bin', state: 'uploaded', digest: `sha256:${createHash('sha256').update('hello world').digest('hex')}` });

    // A reader's session with its token, as the API answers the reader's token: a published
    // release is 403, a draft (invisible to readers) and a private repository it cannot see 404.
    const published = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'csrf-published' } });
    expect(published.status).toBe(201);
    const readerWeb = new WebClient(server.base);
    await readerWeb.signIn(reader.login, reader.token);
    const readerCsrf = WebClient.csrfOf(await readerWeb.get('/'));
    const denied = await readerWeb.request('POST', `/api/uploads/repos/${repo.full}/releases/${published.body.id}/assets/resumable`, {
      headers: tusHeaders({ ...creation, 'x-csrf-token': readerCsrf }),
    });
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text).message).toBe('Must have push access to repository.');
    for (const at of [create, `/api/uploads/repos/${privateRepo.full}/releases/${id}/assets/resumable`]) {
      expect((await readerWeb.request('POST', at, { headers: tusHeaders({ ...creation, 'x-csrf-token': readerCsrf }) })).status).toBe(404);
    }
    // A token in Authorization is the API's way and needs no CSRF token, cookie or not.
    const api = await web.request('POST', create, {
      headers: tusHeaders({ ...creation, 'upload-metadata': `name ${Buffer.from('api.bin').toString('base64')}`, authorization: `token ${alice.token}` }),
    });
    expect(api.status).toBe(201);
  });

  it('serve tus-js-client from Wharf itself, cacheable for a year', async () => {
    const page = await new WebClient(server.base).get('/login');
    expect(page.status).toBe(200);
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const form = await web.get(`/${repo.full}/releases/new`);
    const src = /<script src="(\/static\/tus\.js\?v=[0-9a-f]{12})" defer><\/script>/.exec(form.text)?.[1];
    expect(src).toBeDefined();
    expect(form.text).toMatch(/<script src="\/static\/uploader\.js\?v=[0-9a-f]{12}" defer><\/script>/);
    const script = await fetch(server.base + src!);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const text = await script.text();
    expect(text).toContain('tus');
    expect(text).not.toContain('sourceMappingURL');
  });
});

describe.skipIf(!chromiumAvailable)('the web uploader in Chromium', { timeout: TEST_TIMEOUT }, () => {
  let browser: BrowserSession;

  beforeAll(async () => {
    browser = await openBrowser();
    const page = await browser.context.newPage();
    await page.goto(`${server.base}/login`);
    await page.getByLabel('Username').fill(alice.login);
    await page.getByLabel('Personal access token').fill(alice.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.base}/`);
    await page.close();
  });
  afterAll(async () => {
    throttle.rate = null;
    await browser?.close();
  });

  async function newPage(): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
    });
    return page;
  }

  /** The upload row's progress value (0 before it shows). */
  async function progressOf(page: Page, index = 0): Promise<number> {
    return page.evaluate((i) => (document.querySelectorAll('.uploads > li.upload:not(.unfinished) progress')[i] as HTMLProgressElement | undefined)?.value ?? 0, index);
  }

  async function noOverflow(page: Page): Promise<void> {
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    expect(widths.scroll, `scrollWidth ${widths.scroll} > ${widths.client}`).toBeLessThanOrEqual(widths.client);
  }

  it('continues after the browser goes offline and back online mid-upload', async () => {
    const { id, editPath } = await draft('offline');
    const big = await file('offline.bin', 40 * MiB);
    const page = await newPage();
    await page.goto(server.base + editPath);
    throttle.rate = 8 * MiB;
    await page.locator('input.file-input').setInputFiles(big.path);
    await page.waitForFunction(() => (document.querySelector<HTMLProgressElement>('.uploads progress')?.value ?? 0) >= 10, null, WAIT);
    // Chromium's offline mode lets a request under way finish and fails the next: the uploader
    // sends 16 MiB requests, so the second one meets the dead network.
    await browser.context.setOffline(true);
    try {
      // The page noticed: the upload waits for the connection instead of failing.
      await page.locator('.uploads .status', { hasText: 'Offline' }).waitFor(WAIT);
      expect(await progressOf(page)).toBeLessThan(100);
      expect(await page.locator('.uploads > li.failed').count()).toBe(0);
      throttle.rate = 32 * MiB;
    } finally {
      await browser.context.setOffline(false);
    }
    await page.locator('.uploads > li.done').waitFor(WAIT);
    const [asset] = await assets(id);
    expect(asset).toMatchObject({ name: 'offline.bin', state: 'uploaded', size: 40 * MiB, digest: `sha256:${big.sha256}` });
    expect(await page.locator('.uploads > li.done').getAttribute('data-digest')).toBe(`sha256:${big.sha256}`);
    expect(await progressOf(page)).toBe(100);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('continues after a page reload mid-upload when the same file is picked again', async () => {
    const { id, editPath } = await draft('reload');
    const big = await file('reload.bin', 40 * MiB);
    const page = await newPage();
    await page.goto(server.base + editPath);
    throttle.rate = 8 * MiB;
    await page.locator('input.file-input').setInputFiles(big.path);
    // Past the first 16 MiB request (40%), so the server holds some of the file for certain.
    await page.waitForFunction(() => (document.querySelector<HTMLProgressElement>('.uploads progress')?.value ?? 0) >= 45, null, WAIT);
    await page.reload();
    // The page offers the unfinished upload of this release, with what the server holds of it.
    const offer = page.locator('.uploads > li.unfinished');
    await offer.locator('.status', { hasText: '% stored' }).waitFor(WAIT);
    expect(await offer.locator('.file-name').textContent()).toBe('reload.bin');
    const stored = Number(/(\d+)% stored/.exec((await offer.locator('.status').textContent())!)![1]);
    expect(stored).toBeGreaterThanOrEqual(40);
    expect(stored).toBeLessThan(100);
    expect(await axeProblems(page)).toEqual([]);
    throttle.rate = 32 * MiB;
    await page.locator('input.file-input').setInputFiles(big.path);
    await offer.waitFor({ state: 'detached', ...WAIT });
    await page.locator('.uploads > li.done').waitFor(WAIT);
    // One asset: the upload continued (a new one would have found its name taken).
    expect(await assets(id)).toMatchObject([{ name: 'reload.bin', state: 'uploaded', digest: `sha256:${big.sha256}` }]);
    expect(await page.locator('.uploads > li.done').getAttribute('data-digest')).toBe(`sha256:${big.sha256}`);
    // Finished uploads are forgotten: a reload offers nothing.
    await page.reload();
    expect(await page.locator('.assets-list > li').count()).toBe(1);
    expect(await page.locator('.uploads > li').count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });

  it.each([390, 1280])('publishes a release from the new-release form with two files uploaded into its draft, renamed and labelled (%i px)', async (width) => {
    const tag = `v3.${width}.0`;
    const title = `Three at ${width} px`;
    throttle.rate = 16 * MiB;
    const one = await file('tool-linux-amd64.tar.gz', 6 * MiB + 5);
    const two = await file('checksums.txt', 300);
    const page = await newPage();
    await page.setViewportSize({ width, height: 844 });
    await page.goto(`${server.base}/${repo.full}/releases/new`);
    await page.getByLabel('Tag', { exact: true }).fill(tag);
    await page.getByLabel('Release title').fill(title);
    await page.locator('input.file-input').setInputFiles([one.path, two.path]);
    // The form saved a draft and the page now edits it (a reload would open it).
    await page.waitForURL(/\/releases\/edit\/untagged-[0-9a-f]{20}$/, WAIT);
    const rows = page.locator('.uploads > li.upload');
    // Label the first file while it may still be uploading; rename the second.
    await rows.nth(0).getByLabel('Label').fill('Linux (x64)');
    await rows.nth(0).getByRole('button', { name: 'Save name and label' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.uploads > li.done').length === 2, null, WAIT);
    await rows.nth(1).getByLabel('Name').fill('SHA256SUMS');
    await rows.nth(1).getByRole('button', { name: 'Save name and label' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.uploads > li[data-saved]').length === 2, null, WAIT);
    for (const [i, f] of [one, two].entries()) {
      expect(
        await rows
          .nth(i)
          .locator('progress')
          .evaluate((p) => (p as HTMLProgressElement).value),
      ).toBe(100);
      expect(await rows.nth(i).getAttribute('data-digest')).toBe(`sha256:${f.sha256}`);
      expect(await rows.nth(i).locator('.status').textContent()).toContain(`sha256:${f.sha256}`);
    }
    expect(await rows.nth(1).locator('.file-name').textContent()).toBe('SHA256SUMS');
    await noOverflow(page);
    expect(await axeProblems(page)).toEqual([]);
    await page.screenshot({ path: await artifactPath(`release-new-uploads-${width}.png`), fullPage: true });

    await page.getByLabel('Notes (Markdown)').fill('Uploaded from the form.');
    await page.getByRole('button', { name: 'Publish release' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/releases/tag/${tag}`, WAIT);
    expect(await page.locator('h1').textContent()).toBe(title);
    await noOverflow(page);
    const release = await call('GET', `${server.api}/repos/${repo.full}/releases/tags/${tag}`, { token: alice.token });
    expect(release.body.draft).toBe(false);
    expect(release.body.body).toBe('Uploaded from the form.');
    const byName = Object.fromEntries((release.body.assets as Array<{ name: string; label: string | null; digest: string }>).map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(['SHA256SUMS', 'tool-linux-amd64.tar.gz']);
    expect(byName['tool-linux-amd64.tar.gz']).toMatchObject({ label: 'Linux (x64)', digest: `sha256:${one.sha256}` });
    expect(byName.SHA256SUMS).toMatchObject({ digest: `sha256:${two.sha256}` });
    // One release: the draft the form created is the one published.
    const all = await call('GET', `${server.api}/repos/${repo.full}/releases`, { token: alice.token });
    expect((all.body as Array<{ name: string | null }>).filter((r) => r.name === title)).toHaveLength(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renames and relabels an uploaded asset on the edit page, at phone width, and shows the service errors', async () => {
    throttle.rate = null;
    const { id, editPath } = await draft('rename');
    for (const name of ['a.txt', 'b.txt']) {
      const up = await fetch(`${server.uploads}/repos/${repo.full}/releases/${id}/assets?name=${name}`, {
        method: 'POST',
        headers: { authorization: `token ${alice.token}`, 'content-type': 'text/plain' },
        body: `${name}\n`,
      });
      expect(up.status).toBe(201);
    }
    const page = await newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(server.base + editPath);
    await noOverflow(page);
    const first = page.locator('.assets-list > li', { hasText: 'a.txt' });
    await first.locator('summary').click();
    await first.getByLabel('Name').fill('renamed <b>.txt');
    await first.getByLabel('Label').fill('A <i>label</i>');
    await first.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(server.base + editPath, WAIT);
    await page.locator('.assets-list .name', { hasText: 'renamed' }).waitFor(WAIT);
    const list = await assets(id);
    const renamed = list.find((a) => a.name !== 'b.txt')!;
    expect(renamed.label).toBe('A <i>label</i>');
    expect(await page.locator('.assets-list .asset-label').first().textContent()).toBe('A <i>label</i>');
    expect(await page.evaluate(() => document.querySelectorAll('.assets-list b, .assets-list i').length)).toBe(0);
    // A taken name: the API's error, shown above the form.
    const second = page.locator('.assets-list > li').filter({ has: page.locator('.name', { hasText: /^b\.txt$/ }) });
    await second.locator('summary').click();
    await second.getByLabel('Name').fill(renamed.name);
    await second.getByRole('button', { name: 'Save' }).click();
    await page.locator('.flash.error').waitFor(WAIT);
    expect(await page.locator('.flash.error').textContent()).toContain('name already exists');
    await noOverflow(page);
    expect(await axeProblems(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
