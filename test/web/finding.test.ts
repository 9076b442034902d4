/**
 * Finding things on the pages, over plain HTTP against a real server: the tags page and its
 * pages, release search by name and tag, the kind filter (drafts only for push users), the
 * channel filter, both orders, and the favicon and robots.txt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { WebClient } from './web-client.ts';

let server: TestServer;
let alice: TestUser;
let reader: TestUser;
let pub: { name: string; full: string };
let priv: { name: string; full: string };

/** Release titles on a list page, in order. */
function titles(page: string): string[] {
  return [...page.matchAll(/<article class="release card"[\s\S]*?<h2><a href="[^"]*">([^<]*)<\/a><\/h2>/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server);
  reader = await createUser(server);
  pub = await createRepo(server, alice);
  priv = await createRepo(server, alice, { private: true });
  await addCollaborator(server, alice, pub.name, reader, 'pull');
  const work = await WorkRepo.create();
  // 24 tags: three pages of ten on the tags page.
  // Tags v1.1.0 to v1.19.0 share one commit; v1.20.0 to v1.23.0 get a commit (and date) each.
  await work.commit('early changes', { date: '2024-01-01T00:00:00Z' });
  for (let i = 1; i <= 19; i += 1) await work.git('tag', `v1.${i}.0`);
  for (let i = 20; i <= 23; i += 1) {
    await work.commit(`change ${i}`, { date: `2024-01-${i}T00:00:00Z` });
    await work.git('tag', `v1.${i}.0`);
  }
  // A backport: a fix on a maintenance branch of 1.2, committed after everything on main.
  await work.git('checkout', '-q', '-b', 'maint-1.2', 'v1.2.0');
  await work.commit('backported fix', { date: '2024-03-01T00:00:00Z' });
  await work.git('tag', 'v1.2.1');
  await work.git('checkout', '-q', 'main');
  await work.push(server, pub.full, alice.token, 'main', 'maint-1.2', '--tags');
  await work.push(server, priv.full, alice.token, 'main', '--tags');
  for (const body of [
    { tag_name: 'v1.20.0', name: 'Big release' },
    { tag_name: 'v1.21.0', name: 'Candidate', prerelease: true, channel: 'beta' },
    { tag_name: 'v1.22.0', name: '100% faster_now' },
    { tag_name: 'v1.23.0', name: 'Unannounced', draft: true },
    { tag_name: 'v1.2.1', name: 'Backport fix' },
  ]) {
    const res = await call('POST', `${server.api}/repos/${pub.full}/releases`, { token: alice.token, body });
    expect(res.status, res.text).toBe(201);
  }
}, 120_000);
afterAll(async () => {
  await server?.close();
});

describe('the tags page', () => {
  it('lists every tag in the tag order, ten a page, with commits and archives', async () => {
    const web = new WebClient(server.base);
    const first = await web.get(`/${pub.full}/tags`);
    expect(first.status).toBe(200);
    const names = (text: string) => [...text.matchAll(/<li class="tag-row">\s*<h2><a href="[^"]*">([^<]*)<\/a>/g)].map((m) => m[1]);
    expect(names(first.text)).toEqual(['v1.23.0', 'v1.22.0', 'v1.21.0', 'v1.20.0', 'v1.19.0', 'v1.18.0', 'v1.17.0', 'v1.16.0', 'v1.15.0', 'v1.14.0']);
    expect(first.text).toContain(`rel="next" href="/${pub.full}/tags?page=2"`);
    expect(first.text).toContain(`href="/${pub.full}/archive/refs/tags/v1.23.0.zip"`);
    expect(first.text).toMatch(new RegExp(`href="/${pub.full}/commit/[0-9a-f]{40}"><code>[0-9a-f]{7}</code>`));
    expect(first.text).toContain('aria-current="page" class="current">Tags</a>');
    const third = await web.get(`/${pub.full}/tags?page=3`);
    expect(names(third.text)).toEqual(['v1.3.0', 'v1.2.1', 'v1.2.0', 'v1.1.0']);
    expect(third.text).toContain('rel="prev"');
    expect(third.text).not.toContain('rel="next"');
    const beyond = await web.get(`/${pub.full}/tags?page=9`);
    expect(beyond.status).toBe(200);
    expect(beyond.text).toContain('No more tags.');
  });

  it('is 404 for a private repository to anyone without access', async () => {
    const anonymous = new WebClient(server.base);
    expect((await anonymous.get(`/${priv.full}/tags`, { accept: 'text/html' })).status).toBe(404);
    const owner = new WebClient(server.base);
    await owner.signIn(alice.login, alice.token);
    expect((await owner.get(`/${priv.full}/tags`)).status).toBe(200);
  });
});

describe('searching and filtering releases', () => {
  it("keeps GitHub's order by default (newest commit first: the later backport on top) and sorts by version on request", async () => {
    const web = new WebClient(server.base);
    expect(titles((await web.get(`/${pub.full}/releases`)).text)).toEqual(['Backport fix', '100% faster_now', 'Candidate', 'Big release']);
    expect(titles((await web.get(`/${pub.full}/releases?sort=version`)).text)).toEqual(['100% faster_now', 'Candidate', 'Big release', 'Backport fix']);
  });

  it('finds releases by name or tag, case-insensitively, with LIKE wildcards taken literally', async () => {
    const web = new WebClient(server.base);
    expect(titles((await web.get(`/${pub.full}/releases?q=BIG`)).text)).toEqual(['Big release']);
    expect(titles((await web.get(`/${pub.full}/releases?q=v1.21`)).text)).toEqual(['Candidate']);
    expect(titles((await web.get(`/${pub.full}/releases?q=${encodeURIComponent('100%')}`)).text)).toEqual(['100% faster_now']);
    expect(titles((await web.get(`/${pub.full}/releases?q=${encodeURIComponent('%')}`)).text)).toEqual(['100% faster_now']);
    expect(titles((await web.get(`/${pub.full}/releases?q=_`)).text)).toEqual(['100% faster_now']);
    const none = await web.get(`/${pub.full}/releases?q=${encodeURIComponent('<script>nothing')}`);
    expect(none.text).toContain('No releases match.');
    expect(none.text).toContain('value="&lt;script&gt;nothing"');
    expect(none.text).not.toContain('<script>nothing');
  });

  it('filters by kind; drafts only for push users, and the search survives paging', async () => {
    const web = new WebClient(server.base);
    expect(titles((await web.get(`/${pub.full}/releases?type=prerelease`)).text)).toEqual(['Candidate']);
    expect(titles((await web.get(`/${pub.full}/releases?type=release`)).text)).toEqual(['Backport fix', '100% faster_now', 'Big release']);
    // A reader asking for drafts gets the unfiltered list, and never a draft.
    const readerWeb = new WebClient(server.base);
    await readerWeb.signIn(reader.login, reader.token);
    const asReader = await readerWeb.get(`/${pub.full}/releases?type=draft`);
    expect(titles(asReader.text)).not.toContain('Unannounced');
    expect(asReader.text).not.toContain('<option value="draft"');
    const writer = new WebClient(server.base);
    await writer.signIn(alice.login, alice.token);
    const drafts = await writer.get(`/${pub.full}/releases?type=draft`);
    expect(titles(drafts.text)).toEqual(['Unannounced']);
    expect(drafts.text).toContain('<option value="draft" selected>Drafts</option>');
  });

  it('filters by channel, linked from the channel badge, and keeps every filter in the pager links', async () => {
    const web = new WebClient(server.base);
    const list = await web.get(`/${pub.full}/releases`);
    expect(list.text).toContain(`<a class="badge channel" href="/${pub.full}/releases?channel=beta"`);
    const beta = await web.get(`/${pub.full}/releases?channel=beta`);
    expect(titles(beta.text)).toEqual(['Candidate']);
    expect(beta.text).toContain('<input type="hidden" name="channel" value="beta">');
    // Twelve more releases so the search spans two pages.
    for (let i = 3; i <= 14; i += 1) {
      const res = await call('POST', `${server.api}/repos/${pub.full}/releases`, { token: alice.token, body: { tag_name: `v1.${i}.0`, name: `Patch ${i}` } });
      expect(res.status).toBe(201);
    }
    const page1 = await web.get(`/${pub.full}/releases?q=patch&sort=version`);
    expect(titles(page1.text)).toHaveLength(10);
    expect(page1.text).toContain(`href="/${pub.full}/releases?q=patch&amp;sort=version&amp;page=2"`);
    const page2 = await web.get(`/${pub.full}/releases?q=patch&sort=version&page=2`);
    expect(titles(page2.text)).toEqual(['Patch 4', 'Patch 3']);
  }, 120_000);
});

describe('favicon and robots.txt', () => {
  it('serves an icon every page links to, and /favicon.ico leads to it', async () => {
    const web = new WebClient(server.base);
    const page = await web.get('/');
    const href = /<link rel="icon" href="([^"]+)" type="image\/svg\+xml">/.exec(page.text)?.[1];
    expect(href).toMatch(/^\/static\/favicon\.svg\?v=[0-9a-f]{12}$/);
    const icon = await fetch(server.base + href!);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('content-security-policy')).toContain('sandbox');
    expect(await icon.text()).toMatch(/^<svg /);
    const ico = await fetch(`${server.base}/favicon.ico`, { redirect: 'manual' });
    expect(ico.status).toBe(301);
    expect(ico.headers.get('location')).toBe(href);
  });

  it('tells crawlers to stay out of the API, archives and forms', async () => {
    const res = await fetch(`${server.base}/robots.txt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^User-agent: \*$/m);
    for (const path of ['/api/', '/*/*/archive/', '/*/*/releases/download/']) expect(text).toContain(`Disallow: ${path}\n`);
  });
});
