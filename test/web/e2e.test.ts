/**
 * End to end in headless Chromium against a real server: browse, follow latest, sign in, draft a
 * release, upload files with progress, publish, read the feed, and make sure hostile release
 * content executes nothing.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { artifactPath, chromiumAvailable, openBrowser, throttleResumableWrites, type BrowserSession } from './browser.ts';

let server: TestServer;
let alice: TestUser;
let repo: { name: string; full: string };
let browser: BrowserSession;
let throttle: { rate: number | null };
const problems: string[] = [];

/** Marks set by any payload that manages to run. */
const XSS_NAME = `<img src=x onerror="window.__xss='name'"><script>window.__xss='name-script'</script>`;
const XSS_NOTES = [
  'Hostile notes <script>window.__xss="notes"</script>',
  '<img src=x onerror="window.__xss=\'img\'">',
  '<a href="javascript:window.__xss=\'link\'" id="evil-link">click</a>',
  '<iframe src="javascript:alert(1)"></iframe><svg onload="alert(1)"></svg>',
  '<style>body{display:none}</style>',
  '```html\n<script>window.__xss="code"</script><img src=x onerror="window.__xss=\'code-img\'">\n```',
  '```js\n"</span></code></pre><script>window.__xss=\'hl\'</script>"\n```',
  '- [x] <img src=x onerror="window.__xss=\'task\'">\n- [ ] <input autofocus onfocus="window.__xss=\'input\'">',
].join('\n\n');

/** Every page is watched for dialogs, console CSP violations and page errors. */
function watch(page: Page): void {
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
}

async function newPage(): Promise<Page> {
  const page = await browser.context.newPage();
  watch(page);
  return page;
}

async function injected(page: Page): Promise<unknown> {
  return page.evaluate(() => ({
    xss: (window as unknown as { __xss?: string }).__xss ?? null,
    inlineScripts: document.querySelectorAll('script:not([src])').length,
    handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
    frames: document.querySelectorAll('iframe, svg, object, embed, style').length,
    jsLinks: [...document.querySelectorAll('a[href]')].filter((a) => a.getAttribute('href')!.trim().toLowerCase().startsWith('javascript:')).length,
  }));
}

beforeAll(async () => {
  if (!chromiumAvailable) return;
  server = await startServer();
  throttle = throttleResumableWrites(server.wharf.ctx);
  alice = await createUser(server);
  repo = await createRepo(server, alice, { description: 'Browser-tested tool' });
  const work = await WorkRepo.create();
  await work.commit('initial', { date: '2024-01-01T00:00:00Z' });
  await work.git('tag', 'v1.0.0');
  await work.commit('feature', { date: '2024-02-01T00:00:00Z' });
  await work.git('tag', 'v1.1.0');
  await work.push(server, repo.full, alice.token, 'main', '--tags');
  for (const [tag, extra] of [
    ['v1.0.0', { name: 'First', body: 'The first release.' }],
    ['v1.1.0', { name: XSS_NAME, body: XSS_NOTES }],
  ] as const) {
    const res = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: tag, ...extra } });
    expect(res.status).toBe(201);
  }
  // An asset whose name and label carry payloads too.
  const v110 = await call('GET', `${server.api}/repos/${repo.full}/releases/tags/v1.1.0`, {});
  const hostileName = encodeURIComponent(`"><img src=x onerror="window.__xss='asset'">.txt`);
  const hostileLabel = encodeURIComponent(`<script>window.__xss='label'</script><b onmouseover="window.__xss='label'">label</b>`);
  const upload = await fetch(`${server.uploads}/repos/${repo.full}/releases/${v110.body.id}/assets?name=${hostileName}&label=${hostileLabel}`, {
    method: 'POST',
    headers: { authorization: `token ${alice.token}`, 'content-type': 'text/html' },
    body: '<script>window.__xss="served"</script>',
  });
  expect(upload.status).toBe(201);
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe.skipIf(!chromiumAvailable)('release pages in Chromium', () => {
  it('browses the list, opens a tag page and follows latest; hostile content runs nothing', async () => {
    const page = await newPage();
    const res = await page.goto(`${server.base}/${repo.full}/releases`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('article.release').count()).toBe(2);
    expect(await page.locator('article.release h2').first().textContent()).toBe(XSS_NAME);
    expect(await page.locator('.badge.latest').count()).toBe(1);
    expect(await injected(page)).toEqual({ xss: null, inlineScripts: 0, handlers: 0, frames: 0, jsLinks: 0 });
    // Clicking the neutralised link does nothing either.
    await page.locator('.notes a', { hasText: 'click' }).click();
    expect(await injected(page)).toMatchObject({ xss: null });

    await page.locator('article.release h2 a', { hasText: 'First' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/releases/tag/v1.0.0`);
    expect(await page.locator('h1').textContent()).toBe('First');

    await page.goto(`${server.base}/${repo.full}/releases/latest`);
    expect(page.url()).toBe(`${server.base}/${repo.full}/releases/tag/v1.1.0`);
    expect(await injected(page)).toEqual({ xss: null, inlineScripts: 0, handlers: 0, frames: 0, jsLinks: 0 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('signs in, drafts a release, uploads two files with progress, publishes it and finds it in the feed', async () => {
    const page = await newPage();
    await page.goto(`${server.base}/${repo.full}/releases`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Username').fill(alice.login);
    await page.getByLabel('Personal access token').fill(alice.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/releases`);
    const cookies = await browser.context.cookies(server.base);
    const session = cookies.find((c) => c.name === 'wharf_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Lax');

    await page.getByRole('link', { name: 'Draft a new release' }).click();
    await page.getByLabel('Tag', { exact: true }).fill('v2.0.0');
    await page.getByLabel('Release title').fill('Two point oh');
    await page.getByLabel('Notes (Markdown)').fill('## Highlights\n\n* uploads from the browser');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL(/\/releases\/edit\/untagged-[0-9a-f]{20}$/);

    const dir = await mkdtemp(path.join(tmpdir(), 'wharf-e2e-'));
    const files = [
      { name: 'tool-linux-amd64.tar.gz', bytes: Buffer.alloc(12 * 1024 * 1024 + 17, 7) },
      { name: 'checksums.txt', bytes: Buffer.from('hello from the browser\n') },
    ];
    for (const f of files) await writeFile(path.join(dir, f.name), f.bytes);
    // The store takes 8 MB/s, so the 12 MB file's bar visibly moves; its values are sampled as it goes.
    throttle.rate = 8 * 1024 * 1024;
    await page.evaluate(() => {
      const samples: number[][] = [];
      (window as unknown as { __samples: number[][] }).__samples = samples;
      setInterval(() => document.querySelectorAll('.uploads progress').forEach((p, i) => (samples[i] ??= []).push((p as HTMLProgressElement).value)), 25);
    });
    await page.locator('input.file-input').setInputFiles(files.map((f) => path.join(dir, f.name)));
    const rows = page.locator('.uploads > li');
    await rows.nth(1).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.uploads > li.done, .uploads > li.failed').length === 2, null, { timeout: 30_000 });
    const samples = await page.evaluate(() => (window as unknown as { __samples: number[][] }).__samples);
    expect(
      samples[0]!.some((v) => v > 0 && v < 100),
      `progress samples ${samples[0]!.join(',')}`,
    ).toBe(true);
    expect(samples[0]!.every((v, i, all) => i === 0 || v >= all[i - 1]!)).toBe(true);
    for (const [i, f] of files.entries()) {
      const row = rows.nth(i);
      expect(await row.locator('.file-name').textContent()).toBe(f.name);
      expect(await row.getAttribute('class')).toContain('done');
      expect(await row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(100);
      const digest = createHash('sha256').update(f.bytes).digest('hex');
      expect(await row.getAttribute('data-digest')).toBe(`sha256:${digest}`);
      expect(await row.locator('.status').textContent()).toContain(`sha256:${digest}`);
    }

    await page.screenshot({ path: await artifactPath('release-edit-uploads.png'), fullPage: true });
    throttle.rate = null;
    // A file dropped on the drop zone uploads the same way.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped bytes\n'], 'dropped.txt', { type: 'text/plain' }));
      document.querySelector('.dropzone')!.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.querySelectorAll('.uploads > li.done').length === 3);
    expect(await rows.nth(2).locator('.file-name').textContent()).toBe('dropped.txt');

    // Cancel stops an upload part-way, and nothing of it stays on the release.
    throttle.rate = 1024 * 1024;
    await writeFile(path.join(dir, 'cancel-me.bin'), Buffer.alloc(24 * 1024 * 1024, 1));
    await page.locator('input.file-input').setInputFiles(path.join(dir, 'cancel-me.bin'));
    const cancelRow = rows.nth(3);
    await page.waitForFunction(() => ((document.querySelectorAll('.uploads progress')[3] as HTMLProgressElement | undefined)?.value ?? 0) > 0);
    await cancelRow.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.uploads > li.failed').length === 1);
    expect(await cancelRow.locator('.status').textContent()).toBe('Cancelled');
    throttle.rate = null;
    const releaseId = Number(await page.evaluate(() => /releases\/(\d+)\/assets\/resumable$/.exec(document.querySelector('.uploader')!.getAttribute('data-endpoint')!)![1]));
    let names: string[] = [];
    // The server notices the cancel when the connection closes; give a loaded machine time.
    for (let i = 0; i < 200; i++) {
      const list = await call('GET', `${server.api}/repos/${repo.full}/releases/${releaseId}/assets`, { token: alice.token });
      names = list.body.map((a: { name: string }) => a.name);
      if (!names.includes('cancel-me.bin')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(names.sort()).toEqual(['checksums.txt', 'dropped.txt', 'tool-linux-amd64.tar.gz']);

    await page.reload();
    expect(await page.locator('.assets-list > li').count()).toBe(3);
    await page.getByRole('button', { name: 'Publish release' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/releases/tag/v2.0.0`);
    expect(await page.locator('h1').textContent()).toBe('Two point oh');
    expect(await page.locator('.badge.latest').count()).toBe(1);
    expect(await page.locator('tr.asset').count()).toBe(3);

    // Download an asset the way a visitor does and check its digest.
    const download = page.waitForEvent('download');
    await page.locator('tr.asset a', { hasText: 'checksums.txt' }).click();
    const saved = await (await download).path();
    const bytes = await readFile(saved);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(files[1]!.bytes).digest('hex'));

    const feed = await page.evaluate(async (url) => {
      const text = await (await fetch(url)).text();
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      return {
        error: doc.getElementsByTagName('parsererror').length,
        ns: doc.documentElement.namespaceURI,
        titles: [...doc.getElementsByTagName('entry')].map((e) => e.getElementsByTagName('title')[0]?.textContent),
        complete: [...doc.getElementsByTagName('entry')].every((e) => ['id', 'title', 'updated', 'link', 'author'].every((n) => e.getElementsByTagName(n).length > 0)),
      };
    }, `${server.base}/${repo.full}/releases.atom`);
    expect(feed).toEqual({ error: 0, ns: 'http://www.w3.org/2005/Atom', titles: ['Two point oh', XSS_NAME, 'First'], complete: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('saves screenshots of the list in light and dark mode', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const page = await newPage();
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${server.base}/${repo.full}/releases`);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(bg).toBe(scheme === 'dark' ? 'rgb(13, 17, 23)' : 'rgb(255, 255, 255)');
      await page.screenshot({ path: await artifactPath(`releases-${scheme}.png`), fullPage: true });
      await page.close();
    }
  });
});
