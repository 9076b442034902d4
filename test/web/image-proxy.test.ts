/**
 * Images from other hosts in release notes, through Wharf's image proxy, against a real image
 * host on loopback: the page's `<img>` points at a signed `/_image-proxy/…` URL and its CSP stays
 * `img-src 'self' data:`; the proxy serves a PNG (Chromium shows it), follows a redirect, and
 * refuses what it must: internal addresses unless `WHARF_OUTBOUND_ALLOWED_HOSTS` allows them,
 * SVG, HTML, markup labelled as an image, bodies over 5 MiB, unsigned or tampered URLs. The
 * visitor's cookies and credentials never reach the image host.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { ImageProxySigner } from '../../src/web/image-proxy.ts';
import { chromiumAvailable, openBrowser } from './browser.ts';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

let images: Server;
let imageBase: string;
const seen: IncomingHttpHeaders[] = [];
let allowed: TestServer;
let strict: TestServer;

const ROUTES: Record<string, { type: string; body: Buffer | string; status?: number; location?: string; cacheControl?: string }> = {
  '/a.png': { type: 'image/png', body: PNG },
  '/redirect': { type: 'text/plain', body: '', status: 302, location: '/a.png' },
  '/drawing.svg': { type: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>' },
  '/page': { type: 'text/html', body: '<script>alert(1)</script>' },
  '/fake.png': { type: 'image/png', body: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' },
  '/big.png': { type: 'image/png', body: Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024)]) },
  '/missing.png': { type: 'text/plain', body: 'no', status: 404 },
  '/cached.png': { type: 'image/png', body: PNG },
  '/private.png': { type: 'image/png', body: PNG, cacheControl: 'no-store' },
  '/brief.png': { type: 'image/png', body: PNG, cacheControl: 'public, max-age=0' },
};

/** Answers to `/slow/…` held until the test lets them go. */
const held: Array<() => void> = [];

beforeAll(async () => {
  images = createServer((req, res) => {
    seen.push({ ...req.headers, url: req.url });
    if (req.url?.startsWith('/slow/')) {
      held.push(() => res.writeHead(200, { 'content-type': 'image/png' }).end(PNG));
      return;
    }
    const route = ROUTES[(req.url ?? '').split('?')[0]!] ?? ROUTES['/missing.png']!;
    res.writeHead(route.status ?? 200, {
      'content-type': route.type,
      ...(route.location ? { location: route.location } : {}),
      ...(route.cacheControl ? { 'cache-control': route.cacheControl } : {}),
      'set-cookie': 'tracker=1',
    });
    res.end(route.body);
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  allowed = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' } });
  strict = await startServer();
});
afterAll(async () => {
  for (const release of held.splice(0)) release();
  await allowed?.close();
  await strict?.close();
  await new Promise((resolve) => images?.close(resolve));
});

/** A release whose notes show every image of the host; returns the proxied sources in order and the page. */
async function releaseWithImages(server: TestServer): Promise<{ user: TestUser; full: string; sources: string[]; page: Response; html: string }> {
  const user = await createUser(server);
  const repo = await createRepo(server, user, { auto_init: true });
  const body = Object.keys(ROUTES)
    .map((path) => `![${path}](${imageBase}${path})`)
    .concat([
      `![own](${server.base}/static/favicon.svg)`,
      '<picture><source srcset="https://elsewhere.example/x.png"><img src="https://elsewhere.example/y.png" alt="y"></picture>',
    ])
    .join('\n\n');
  expect((await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: user.token, body: { tag_name: 'v1', body } })).status).toBe(201);
  const page = await fetch(`${server.base}/${repo.full}/releases/tag/v1`, { headers: { accept: 'text/html' } });
  const html = await page.text();
  const sources = [...html.matchAll(/<img[^>]* src="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  return { user, full: repo.full, sources, page, html };
}

describe('image proxy', () => {
  it('rewrites images on other hosts to signed proxy URLs and keeps the CSP strict', async () => {
    const { sources, page, html } = await releaseWithImages(allowed);
    expect(page.headers.get('content-security-policy')).toContain("img-src 'self' data:");
    const external = sources.filter((s) => !s.startsWith(allowed.base));
    expect(external).toHaveLength(Object.keys(ROUTES).length + 1);
    for (const src of external) expect(src).toMatch(/^\/_image-proxy\/[A-Za-z0-9_-]{32}\/[A-Za-z0-9_-]+$/);
    // Images on Wharf's own origin are left alone; a srcset on another host is dropped.
    expect(sources).toContain(`${allowed.base}/static/favicon.svg`);
    expect(html).not.toContain('elsewhere.example/x.png');
    expect(html).not.toContain(imageBase);
  });

  it('re-signs what the sanitizer let through without letting markup out of the attribute', async () => {
    const user = await createUser(allowed);
    const repo = await createRepo(allowed, user, { auto_init: true });
    const hostile = 'https://evil.example/a.png?a=1&b=%22"onerror=alert(1)';
    const body = `<img src="${hostile.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" alt="q"> <img src="javascript:alert(2)" alt="j">`;
    expect((await call('POST', `${allowed.api}/repos/${repo.full}/releases`, { token: user.token, body: { tag_name: 'v1', body } })).status).toBe(201);
    const html = await (await fetch(`${allowed.base}/${repo.full}/releases/tag/v1`, { headers: { accept: 'text/html' } })).text();
    expect(html).not.toMatch(/<img[^>]*onerror/i);
    expect(html).not.toContain('javascript:alert(2)');
    const src = /<img[^>]* src="(\/_image-proxy\/[^"]+)"[^>]*alt="q"/.exec(html)?.[1];
    expect(src).toBeDefined();
    expect(Buffer.from(src!.split('/').pop()!, 'base64url').toString('utf8')).toBe(hostile);
  });

  it('serves images, follows redirects, refuses SVG, HTML, disguised markup, oversized and missing images, and forwards no cookies', async () => {
    const { sources } = await releaseWithImages(allowed);
    const byPath = Object.fromEntries(Object.keys(ROUTES).map((path, i) => [path, `${allowed.base}${sources[i]!}`]));
    const get = (url: string) => fetch(url, { headers: { cookie: 'wharf_session=secret-session; other=secret-cookie' } });

    seen.length = 0;
    const png = await get(byPath['/a.png']!);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('x-content-type-options')).toBe('nosniff');
    expect(png.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(png.headers.get('set-cookie')).toBeNull();
    expect(Buffer.from(await png.arrayBuffer())).toEqual(PNG);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.cookie).toBeUndefined();
    expect(seen[0]!.authorization).toBeUndefined();
    expect(seen[0]!.referer).toBeUndefined();

    expect((await get(byPath['/redirect']!)).status).toBe(200);
    for (const [path, status] of [
      ['/drawing.svg', 415],
      ['/page', 415],
      ['/fake.png', 415],
      ['/big.png', 413],
      ['/missing.png', 502],
    ] as const) {
      const res = await get(byPath[path]!);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toContain('text/plain');
      expect(await res.text(), path).not.toContain('<');
    }
  });

  it('answers 404 to unsigned, tampered or foreign URLs', async () => {
    const { sources } = await releaseWithImages(allowed);
    const [, signature, encoded] = /^\/_image-proxy\/([^/]+)\/([^/]+)$/.exec(sources[0]!)!;
    const other = Buffer.from(`${imageBase}/redirect`).toString('base64url');
    for (const path of [
      `/_image-proxy/${signature}/${other}`,
      `/_image-proxy/${'A'.repeat(32)}/${encoded}`,
      `/_image-proxy/x/${encoded}`,
      `/_image-proxy/${signature}/not*base64`,
    ]) {
      expect((await fetch(`${allowed.base}${path}`)).status, path).toBe(404);
    }
    // A URL signed by another instance (another key) is unknown here.
    const foreign = await releaseWithImages(strict);
    expect((await fetch(`${allowed.base}${foreign.sources[0]!}`)).status).toBe(404);
  });

  it('refuses internal addresses unless WHARF_OUTBOUND_ALLOWED_HOSTS allows them', async () => {
    const { sources } = await releaseWithImages(strict);
    seen.length = 0;
    const res = await fetch(`${strict.base}${sources[0]!}`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('internal address');
    expect(seen).toHaveLength(0);
  });

  it('keeps images it served in its cache, not those their host marks no-store or max-age=0, nor refusals', async () => {
    const signer = ImageProxySigner.forContext(allowed.wharf.ctx);
    const proxied = (path: string) => fetch(`${allowed.base}${signer.path(`${imageBase}${path}`)}`);
    const fetchesOf = (path: string) => seen.filter((h) => h.url === path).length;

    for (let i = 0; i < 3; i++) {
      const res = await proxied('/cached.png');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('cache-control')).toBe('public, max-age=86400');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
    }
    // Served three times, fetched once.
    expect(fetchesOf('/cached.png')).toBe(1);

    for (const path of ['/private.png', '/brief.png']) {
      for (let i = 0; i < 2; i++) {
        const res = await proxied(path);
        expect(res.status, path).toBe(200);
        // What its host lets no shared cache keep, browsers are not told to keep either.
        expect(res.headers.get('cache-control'), path).toBe('no-store');
        expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
      }
      expect(fetchesOf(path), path).toBe(2);
    }
    // Refusals are not kept either: the host is asked again.
    expect((await proxied('/missing.png')).status).toBe(502);
    const missing = fetchesOf('/missing.png');
    expect((await proxied('/missing.png')).status).toBe(502);
    expect(fetchesOf('/missing.png')).toBe(missing + 1);
  });

  it('fetches at most WHARF_IMAGE_PROXY_MAX_FETCHES images at once, 503 with Retry-After beyond, and never counts them against the API rate limit', async () => {
    const bounded = await startServer({
      env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_IMAGE_PROXY_MAX_FETCHES: '2', WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_ANONYMOUS: '3' },
    });
    try {
      const signer = ImageProxySigner.forContext(bounded.wharf.ctx);
      const proxied = (path: string) => fetch(`${bounded.base}${signer.path(`${imageBase}${path}`)}`);
      const slowSeen = () => seen.filter((h) => String(h.url).startsWith('/slow/')).length;
      const before = slowSeen();
      const slow = [proxied('/slow/1.png'), proxied('/slow/2.png')];
      // Both fetches have reached the image host and wait there.
      const deadline = Date.now() + 30_000;
      while (slowSeen() < before + 2) {
        if (Date.now() > deadline) throw new Error('the slow fetches never reached the image host');
        await new Promise((r) => setTimeout(r, 25));
      }
      const refused = await proxied('/slow/3.png');
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(await refused.text()).not.toContain('<');
      expect(slowSeen()).toBe(before + 2);

      for (const release of held.splice(0)) release();
      for (const res of await Promise.all(slow)) {
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
      }
      // Slots are free again; more images than the anonymous API allowance, all served.
      for (let i = 0; i < 5; i++) expect((await proxied(`/cached.png?${i}`)).status).toBe(200);
      const limit = await fetch(`${bounded.api}/rate_limit`);
      expect(limit.status).toBe(200);
      const body = (await limit.json()) as { resources: { core: { remaining: number; limit: number } } };
      expect(body.resources.core).toMatchObject({ limit: 3, remaining: 3 });
    } finally {
      for (const release of held.splice(0)) release();
      await bounded.close();
    }
  });

  it.skipIf(!chromiumAvailable)('shows the proxied image in Chromium under the strict CSP', async () => {
    const { full } = await releaseWithImages(allowed);
    const browser = await openBrowser();
    try {
      const page = await browser.context.newPage();
      const blocked: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
      });
      await page.goto(`${allowed.base}/${full}/releases/tag/v1`);
      const img = page.locator('.notes img[alt="/a.png"]');
      await img.waitFor();
      await page.waitForFunction(() => {
        const el = document.querySelector<HTMLImageElement>('.notes img[alt="/a.png"]');
        return el !== null && el.complete;
      });
      expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(1);
      expect(blocked.filter((b) => b.includes('img-src'))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
