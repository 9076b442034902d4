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
import { artifactPath, chromiumAvailable, openBrowser, type BrowserSession } from './browser.ts';

let server: TestServer;
let alice: TestUser;
let repo: { name: string; full: string };
let browser: BrowserSession;
const problems: string[] = [];

/** Marks set by any payload that manages to run. */
const XSS_NAME = `<img src=x onerror="window.__xss='name'"><script>window.__xss='name-script'</script>`;
const XSS_NOTES = [
  'Hostile notes <script>window.__xss="notes"</script>',
  '<img src=x onerror="window.__xss=\'img\'">',
  '<a href="javascript:window.__xss=\'link\'" id="evil-link">click</a>',
  '<iframe src="javascript:alert(1)"></iframe><svg onload="alert(1)"></svg>',
  '<style>body{display:none}</style>',
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
      { name: 'tool-linux-amd64.tar.gz', bytes: Buffer.alloc(3 * 1024 * 1024 + 17, 7) },
      { name: 'checksums.txt', bytes: Buffer.from('hello from the browser\n') },
    ];
    for (const f of files) await writeFile(path.join(dir, f.name), f.bytes);
    await page.locator('input.file-input').setInputFiles(files.map((f) => path.join(dir, f.name)));
    // Both bars appear at once and move while the bytes go out.
    const rows = page.locator('.uploads > li');
    await rows.nth(1).waitFor();
    await page.locator('.uploads > li.done, .uploads > li.failed').nth(1).waitFor({ timeout: 30_000 });
    for (const [i, f] of files.entries()) {
      const row = rows.nth(i);
      expect(await row.locator('.file-name').textContent()).toBe(f.name);
      expect(await row.getAttribute('class')).toContain('done');
      expect(await row.locator('progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(100);
      const digest = createHash('sha256').update(f.bytes).digest('hex');
      expect(await row.getAttribute('data-digest')).toBe(`sha256:${digest}`);
      expect(await row.locator('.status').textContent()).toContain(`sha256:${digest}`);
    }

    await page.reload();
    expect(await page.locator('.assets-list > li').count()).toBe(2);
    await page.getByRole('button', { name: 'Publish release' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/releases/tag/v2.0.0`);
    expect(await page.locator('h1').textContent()).toBe('Two point oh');
    expect(await page.locator('.badge.latest').count()).toBe(1);
    expect(await page.locator('tr.asset').count()).toBe(2);

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
});
