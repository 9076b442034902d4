import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { WebClient } from './web-client.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let pub: { name: string; full: string };
let priv: { name: string; full: string };
let work: WorkRepo;
const XSS_NAME = `<img src=x onerror="alert(1)"> "quoted" & <script>alert(2)</script>`;
const XSS_NOTES = 'Fixes <script>alert(3)</script> and <a href="javascript:alert(4)">this</a> <img src=x onerror=alert(5)>\n\n**bold**';

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server);
  bob = await createUser(server);
  pub = await createRepo(server, alice, { description: 'A <b>public</b> tool' });
  priv = await createRepo(server, alice, { private: true });
  work = await WorkRepo.create();
  await work.commit('first commit', { date: '2024-01-01T00:00:00Z' });
  await work.git('tag', 'v1.0.0');
  await work.commit('second commit', { date: '2024-02-01T00:00:00Z' });
  await work.commit('third <commit>', { date: '2024-03-01T00:00:00Z' });
  await work.git('tag', 'v1.1.0');
  await work.push(server, pub.full, alice.token, 'main', '--tags');
  await work.push(server, priv.full, alice.token, 'main', '--tags');
  for (const [repo, tag, extra] of [
    [pub, 'v1.0.0', { name: 'Control\u0001chars\u001f' }],
    [pub, 'v1.1.0', { name: XSS_NAME, body: XSS_NOTES }],
    [pub, 'v2.0.0-rc1', { draft: true, name: 'Secret draft' }],
    [priv, 'v1.0.0', { name: 'Private one' }],
  ] as const) {
    const res = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: tag, ...extra } });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  await server.close();
});

describe('release pages for anonymous visitors', () => {
  it('lists published releases newest first with markers, escaped names and sanitized notes', async () => {
    const web = new WebClient(server.base);
    const page = await web.get(`/${pub.full}/releases`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.text.indexOf('v1.1.0')).toBeLessThan(page.text.indexOf('>v1.0.0<'));
    expect(page.text).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(page.text).not.toMatch(/<script>alert/);
    expect(page.text).not.toMatch(/<img[^>]*onerror/i);
    expect(page.text).not.toContain('javascript:');
    expect(page.text).toContain('<strong>bold</strong>');
    expect(page.text).toContain('class="badge latest">Latest');
    expect(page.text).not.toContain('Secret draft');
    expect(page.text).toContain(`/${pub.full}/archive/refs/tags/v1.1.0.zip`);
  });

  it('opens a release by its html_url and redirects latest to it', async () => {
    const web = new WebClient(server.base);
    const api = await call('GET', `${server.api}/repos/${pub.full}/releases/latest`, {});
    const htmlUrl: string = api.body.html_url;
    const tagPage = await web.get(new URL(htmlUrl).pathname);
    expect(tagPage.status).toBe(200);
    expect(tagPage.text).toContain('<h1><a href=');
    const latest = await web.get(`/${pub.full}/releases/latest`);
    expect(latest.status).toBe(302);
    expect(latest.headers.get('location')).toBe(new URL(htmlUrl).pathname);
    expect((await web.get(`/${pub.full}/releases/tag/nope`)).status).toBe(404);
  });

  it('shows a tag without a published release as a bare tag, revealing no draft', async () => {
    const head = await call('GET', `${server.api}/repos/${pub.full}/git/ref/tags/v1.1.0`, {});
    const made = await call('POST', `${server.api}/repos/${pub.full}/git/refs`, { token: alice.token, body: { ref: 'refs/tags/v2.0.0-rc1', sha: head.body.object.sha } });
    expect(made.status).toBe(201);
    const anon = await new WebClient(server.base).get(`/${pub.full}/releases/tag/v2.0.0-rc1`);
    expect(anon.status).toBe(200);
    expect(anon.text).toContain('This tag has no release.');
    expect(anon.text).not.toContain('Secret draft');
    expect(anon.text).not.toContain('Create a release from this tag');
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    expect((await web.get(`/${pub.full}/releases/tag/v2.0.0-rc1`)).text).toContain(`href="/${pub.full}/releases/new?tag=v2.0.0-rc1"`);
  });

  it('keeps drafts at their untagged address for push users only', async () => {
    const list = await call('GET', `${server.api}/repos/${pub.full}/releases`, { token: alice.token });
    const draft = list.body.find((r: { draft: boolean }) => r.draft);
    const path = new URL(draft.html_url).pathname;
    expect(path).toMatch(/\/releases\/tag\/untagged-[0-9a-f]{20}$/);
    expect((await new WebClient(server.base).get(path)).status).toBe(404);
    const signedIn = new WebClient(server.base);
    await signedIn.signIn(alice.login, alice.token);
    const page = await signedIn.get(path);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Secret draft');
    expect(page.text).toContain('class="badge draft">Draft');
    const bobWeb = new WebClient(server.base);
    await bobWeb.signIn(bob.login, bob.token);
    expect((await bobWeb.get(path)).status).toBe(404);
  });

  it('shows the front page, the owner page and the repository page', async () => {
    const web = new WebClient(server.base);
    const home = await web.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain(`${pub.full}`);
    expect(home.text).not.toContain('Private one');
    const owner = await web.get(`/${alice.login}`);
    expect(owner.text).toContain(pub.name);
    expect(owner.text).not.toContain(priv.name);
    const repo = await web.get(`/${pub.full}`);
    expect(repo.status).toBe(200);
    expect(repo.text).toContain('A &lt;b&gt;public&lt;/b&gt; tool');
    expect(repo.text).toContain(`${server.base}/${pub.full}.git`);
    expect(repo.text).toContain('v1.1.0');
  });

  it('opens every html_url and avatar_url the API returns', async () => {
    const web = new WebClient(server.base);
    const repo = (await call('GET', `${server.api}/repos/${pub.full}`, {})).body;
    const release = (await call('GET', `${server.api}/repos/${pub.full}/releases/latest`, {})).body;
    const commits = (await call('GET', `${server.api}/repos/${pub.full}/commits`, {})).body;
    const urls = [repo.html_url, repo.owner.html_url, release.html_url, release.author.html_url, commits[0].html_url, commits[0].parents[0].html_url];
    for (const url of urls) {
      const page = await web.get(new URL(url).pathname);
      expect(page.status, url).toBe(200);
      expect(page.headers.get('content-type'), url).toBe('text/html; charset=utf-8');
    }
    const commitPage = await web.get(new URL(commits[0].html_url).pathname);
    expect(commitPage.text).toContain('<h1>third &lt;commit&gt;</h1>');
    expect(commitPage.text).toContain(commits[0].sha);
    const avatar = await web.get(new URL(repo.owner.avatar_url).pathname);
    expect(avatar.status).toBe(200);
    expect(avatar.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(avatar.headers.get('content-security-policy')).toContain('sandbox');
    expect(avatar.text).toContain(`>${alice.login[0]!.toUpperCase()}</text>`);
    expect((await web.get('/avatars/u/999999')).status).toBe(404);
    expect((await web.get(`/${pub.full}/commit/${'0'.repeat(40)}`)).status).toBe(404);
  });

  it('answers unknown paths with an HTML page for browsers and GitHub JSON for the API', async () => {
    const web = new WebClient(server.base);
    const page = await web.get(`/${pub.full}/tree/main/src`, { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.text).toContain('404 · Page not found');
    const json = await web.get(`/${pub.full}/tree/main/src`);
    expect(json.status).toBe(404);
    expect(JSON.parse(json.text).message).toBe('Not Found');
    const api = await web.get('/api/v3/nothing/here', { accept: 'text/html' });
    expect(JSON.parse(api.text).message).toBe('Not Found');
    // Paths refused before routing, or by the static files, are the same page for browsers.
    for (const path of [`/${'a'.repeat(5000)}`, `/${pub.full}/${'b'.repeat(5000)}`, '/static/missing.css', `/${pub.full}/releases/tag/x%00y`]) {
      const refused = await web.get(path, { accept: 'text/html' });
      expect(refused.status, path.slice(0, 40)).toBe(404);
      expect(refused.text).toContain('404 · Page not found');
    }
    // `/api/…` is never taken for an owner `api`'s pages, even with a wrong token.
    for (const accept of ['text/html', 'application/json']) {
      const graphql = await web.get('/api/graphql', { accept, authorization: 'token wharf_wrong' });
      expect(graphql.status).toBe(404);
      expect(JSON.parse(graphql.text).message).toBe('Not Found');
    }
  });

  it('compares two refs', async () => {
    const web = new WebClient(server.base);
    const page = await web.get(`/${pub.full}/compare/v1.0.0...v1.1.0`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('2 commits');
    expect(page.text).toContain('third &lt;commit&gt;');
    expect(page.text).not.toContain('first commit');
    expect((await web.get(`/${pub.full}/compare/v1.0.0...nope`)).status).toBe(404);
  });

  it('opens the Full Changelog links of generated notes', async () => {
    const web = new WebClient(server.base);
    // A repository without releases: its first release's notes link to the tag's history.
    const fresh = await createRepo(server, alice);
    await work.push(server, fresh.full, alice.token, 'main', '--tags');
    for (const [repo, previous] of [
      [pub, 'v1.0.0'],
      [fresh, null],
    ] as const) {
      const notes = await call('POST', `${server.api}/repos/${repo.full}/releases/generate-notes`, {
        token: alice.token,
        body: previous ? { tag_name: 'v1.1.0', previous_tag_name: previous } : { tag_name: 'v1.1.0' },
      });
      expect(notes.status).toBe(200);
      const link = /\*\*Full Changelog\*\*: (\S+)/.exec(notes.body.body)![1]!;
      const page = await web.get(new URL(link).pathname);
      expect(page.status, link).toBe(200);
      expect(page.text).toContain('third &lt;commit&gt;');
      expect(page.text.includes('first commit')).toBe(previous === null);
    }
  });

  it("shows generated notes' commit and compare links short, as GitHub does, on the page and in body_html", async () => {
    const repo = await createRepo(server, alice);
    await work.push(server, repo.full, alice.token, 'main', '--tags');
    await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1.0.0' } });
    const created = await call('POST', `${server.api}/repos/${repo.full}/releases`, {
      token: alice.token,
      body: { tag_name: 'v1.1.0', generate_release_notes: true },
    });
    expect(created.status).toBe(201);
    const commit = /\/commit\/([0-9a-f]{40})/.exec(created.body.body as string)![1]!;
    const short = `<code>${commit.slice(0, 7)}</code></a>`;
    const api = await call('GET', `${server.api}/repos/${repo.full}/releases/${created.body.id}`, { headers: { accept: 'application/vnd.github.html+json' } });
    expect(api.body.body_html).toContain(short);
    expect(api.body.body_html).toContain('<code>v1.0.0...v1.1.0</code></a>');
    expect(api.body.body_html).toContain(`href="${server.base}/${repo.full}/commit/${commit}"`);
    const page = await new WebClient(server.base).get(`/${repo.full}/releases/tag/v1.1.0`);
    expect(page.text).toContain(short);
    // The link leads to a page that exists.
    expect((await new WebClient(server.base).get(`/${repo.full}/commit/${commit}`)).status).toBe(200);
  });

  it('serves Atom feeds of releases and tags', async () => {
    const web = new WebClient(server.base);
    const feed = await web.get(`/${pub.full}/releases.atom`);
    expect(feed.status).toBe(200);
    expect(feed.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    expect(feed.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/);
    expect(feed.text.match(/<entry>/g)).toHaveLength(2);
    expect(feed.text).toContain(`<id>tag:127.0.0.1,2008:${server.base}/${pub.full}/releases</id>`);
    expect(feed.text).toMatch(/<id>tag:127\.0\.0\.1,2008:Repository\/\d+\/v1\.1\.0<\/id>/);
    expect(feed.text).not.toContain('Secret draft');
    expect(feed.text).not.toContain('<script>');
    expect(feed.text).toContain('<title>Controlchars</title>');
    const tags = await web.get(`/${pub.full}/tags.atom`);
    expect(tags.status).toBe(200);
    expect(tags.text).toContain('<title>v1.1.0</title>');
  });

  it('streams source archives under the release names', async () => {
    const res = await fetch(`${server.base}/${pub.full}/archive/refs/tags/v1.0.0.tar.gz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename=${pub.name}-1.0.0.tar.gz`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
  });

  it('answers 404 for every page, feed and archive of a private repository', async () => {
    const web = new WebClient(server.base);
    for (const path of [
      '',
      '/releases',
      '/releases/latest',
      '/releases/tag/v1.0.0',
      '/releases.atom',
      '/tags.atom',
      '/compare/v1.0.0...v1.1.0',
      '/archive/refs/tags/v1.0.0.zip',
      '/releases/new',
    ]) {
      const res = await web.get(`/${priv.full}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.text).not.toContain('Private one');
    }
    // A token in the Authorization header works for feed readers and scripts.
    const feed = await web.get(`/${priv.full}/releases.atom`, { authorization: `token ${alice.token}` });
    expect(feed.status).toBe(200);
    expect(feed.text).toContain('Private one');
  });
});

describe('signing in and out', () => {
  it('rejects a wrong token and a missing CSRF token, then signs in with a safe cookie', async () => {
    const web = new WebClient(server.base);
    const form = await web.get('/login');
    const csrf = WebClient.csrfOf(form);
    expect((await web.post('/session', { login: alice.login, token: alice.token })).status).toBe(403);
    const wrong = await web.post('/session', { _csrf: csrf, login: alice.login, token: bob.token });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Incorrect username or token.');
    const ok = await web.post('/session', { _csrf: csrf, login: alice.login.toUpperCase(), token: alice.token, return_to: `/${priv.full}` });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe(`/${priv.full}`);
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('wharf_session='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    expect((await web.get(`/${priv.full}/releases`)).text).toContain('Private one');
  });

  it('marks the cookie Secure when the public URL is https', async () => {
    const httpsServer = await startServer({ env: { WHARF_EXTERNAL_URL: 'https://wharf.example' } });
    try {
      const carol = await createUser(httpsServer);
      const web = new WebClient(httpsServer.base);
      const form = await web.get('/login');
      expect(form.headers.getSetCookie()[0]).toMatch(/; Secure$/);
      const res = await web.post('/session', { _csrf: WebClient.csrfOf(form), login: carol.login, token: carol.token });
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie().find((c) => c.startsWith('wharf_session='))).toMatch(/HttpOnly; SameSite=Lax; Max-Age=\d+; Secure$/);
      // The browser's Origin must be the public one.
      const page = await web.get('/');
      expect((await web.post('/logout', { _csrf: WebClient.csrfOf(page) }, { origin: httpsServer.base })).status).toBe(403);
      expect((await web.post('/logout', { _csrf: WebClient.csrfOf(page) }, { origin: 'https://wharf.example' })).status).toBe(303);
    } finally {
      await httpsServer.close();
    }
  });

  it('lets a signed-in visitor download a private asset from the release page', async () => {
    const release = await call('GET', `${server.api}/repos/${priv.full}/releases/tags/v1.0.0`, { token: alice.token });
    const up = await fetch(`${server.uploads}/repos/${priv.full}/releases/${release.body.id}/assets?name=secret.bin`, {
      method: 'POST',
      headers: { authorization: `token ${alice.token}`, 'content-type': 'application/octet-stream' },
      body: 'private bytes',
    });
    expect(up.status).toBe(201);
    const path = new URL(((await up.json()) as { browser_download_url: string }).browser_download_url).pathname;
    expect((await new WebClient(server.base).get(path)).status).toBe(404);
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const page = await web.get(`/${priv.full}/releases/tag/v1.0.0`);
    expect(page.text).toContain(`href="${path}"`);
    const download = await web.get(path);
    expect(download.status).toBe(200);
    expect(download.text).toBe('private bytes');
    expect(download.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('never redirects off-site after sign-in', async () => {
    const web = new WebClient(server.base);
    const form = await web.get('/login');
    const res = await web.post('/session', { _csrf: WebClient.csrfOf(form), login: alice.login, token: alice.token, return_to: '//evil.example/' });
    expect(res.headers.get('location')).toBe('/');
    // Browsers drop tabs and read `\` as `/`: these are all `//evil.example` to them.
    for (const returnTo of ['/\t/evil.example', '/\t\\evil.example', '/.//evil.example']) {
      const again = await web.get(`/login?return_to=${encodeURIComponent(returnTo)}`);
      expect(again.status).toBe(303);
      expect(again.headers.get('location')).toBe('/');
    }
    // A path outside Latin-1 is percent-encoded, not a 500 for an invalid Location header.
    const unicode = await web.get(`/login?return_to=${encodeURIComponent('/\u20ac')}`);
    expect(unicode.status).toBe(303);
    expect(unicode.headers.get('location')).toBe('/%E2%82%AC');
  });

  it('signs out only with the CSRF token, and the session is gone afterwards', async () => {
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const page = await web.get(`/${priv.full}`);
    expect(page.status).toBe(200);
    expect((await web.post('/logout', {})).status).toBe(403);
    expect((await web.post('/logout', { _csrf: WebClient.csrfOf(page) })).status).toBe(303);
    expect((await web.get(`/${priv.full}`)).status).toBe(404);
  });

  it('replaces the previous session when signing in again', async () => {
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const first = web.cookies.get('wharf_session')!;
    // The sign-in form redirects a signed-in visitor, so fetch it without the cookie.
    web.cookies.delete('wharf_session');
    const again = await web.get('/login');
    web.cookies.set('wharf_session', first);
    expect((await web.post('/session', { _csrf: WebClient.csrfOf(again), login: alice.login, token: alice.token })).status).toBe(303);
    expect(web.cookies.get('wharf_session')).not.toBe(first);
    const old = new WebClient(server.base);
    old.cookies.set('wharf_session', first);
    expect((await old.get(`/${priv.full}`)).status).toBe(404);
    expect((await web.get(`/${priv.full}`)).status).toBe(200);
  });

  it('ends the session when its token is revoked', async () => {
    const carol = await createUser(server);
    const web = new WebClient(server.base);
    await web.signIn(carol.login, carol.token);
    expect((await web.get('/')).text).toContain(`>${carol.login}</a>`);
    const { wharf } = server;
    await wharf.ctx.db.updateTable('tokens').set({ revoked_at: '2020-01-01T00:00:00Z' }).where('user_id', '=', carol.id).execute();
    expect((await web.get('/')).text).not.toContain(`>${carol.login}</a>`);
  });
});

describe('publishing from the pages', () => {
  it('drafts, edits, publishes and deletes a release through the forms', async () => {
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const form = await web.get(`/${pub.full}/releases/new`);
    expect(form.status).toBe(200);
    const csrf = WebClient.csrfOf(form);
    const fields = { _csrf: csrf, tag_name: 'v3.0.0', target_commitish: '', name: 'Three', body: 'Notes\r\nline two', intent: 'draft', make_latest: '1' };
    expect((await web.post(`/${pub.full}/releases`, { ...fields, _csrf: 'wrong' })).status).toBe(403);
    expect((await web.post(`/${pub.full}/releases`, fields, { origin: 'https://evil.example' })).status).toBe(403);
    const created = await web.post(`/${pub.full}/releases`, fields);
    expect(created.status).toBe(303);
    const editPath = created.headers.get('location')!;
    expect(editPath).toMatch(new RegExp(`^/${pub.full}/releases/edit/untagged-[0-9a-f]{20}$`));
    const edit = await web.get(editPath);
    expect(edit.text).toContain('value="Three"');
    expect(edit.text).toContain('class="uploader"');
    const api = await call('GET', `${server.api}/repos/${pub.full}/releases`, { token: alice.token });
    const draft = api.body.find((r: { name: string }) => r.name === 'Three');
    expect(draft.draft).toBe(true);
    expect(draft.body).toBe('Notes\nline two');

    const published = await web.post(editPath, { ...fields, name: 'Three, final', intent: 'publish' });
    expect(published.status).toBe(303);
    expect(published.headers.get('location')).toBe(`/${pub.full}/releases/tag/v3.0.0`);
    const after = await call('GET', `${server.api}/repos/${pub.full}/releases/latest`, {});
    expect(after.body.tag_name).toBe('v3.0.0');
    expect(after.body.name).toBe('Three, final');

    const bad = await web.post(`/${pub.full}/releases`, { ...fields, tag_name: 'bad..tag', intent: 'publish' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('tag_name is not a valid tag');
    expect(bad.text).toContain('value="bad..tag"');

    // The Publish button on a draft's card.
    const draft2 = await web.post(`/${pub.full}/releases`, { ...fields, tag_name: 'v3.1.0', name: 'Three one', intent: 'draft' });
    const draftTag = draft2.headers.get('location')!.split('/releases/edit/')[1]!;
    const listed = await web.get(`/${pub.full}/releases`);
    expect(listed.text).toContain(`action="/${pub.full}/releases/publish/${draftTag}"`);
    const pub2 = await web.post(`/${pub.full}/releases/publish/${draftTag}`, { _csrf: csrf });
    expect(pub2.headers.get('location')).toBe(`/${pub.full}/releases/tag/v3.1.0`);
    expect((await web.get(`/${pub.full}/releases/tag/${draftTag}`)).headers.get('location')).toBe(`/${pub.full}/releases/tag/v3.1.0`);
    expect((await call('GET', `${server.api}/repos/${pub.full}/releases/latest`, {})).body.tag_name).toBe('v3.1.0');
    expect((await web.post(`/${pub.full}/releases/delete/v3.1.0`, { _csrf: csrf })).status).toBe(303);

    const deleted = await web.post(`/${pub.full}/releases/delete/v3.0.0`, { _csrf: csrf });
    expect(deleted.status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${pub.full}/releases/tags/v3.0.0`, {})).status).toBe(404);
  });

  it('guards the upload endpoint with the session and its CSRF token', async () => {
    const list = await call('GET', `${server.api}/repos/${pub.full}/releases/tags/v1.0.0`, {});
    const url = `/${pub.full}/releases/upload/${list.body.id}?name=x.bin`;
    const body = new TextEncoder().encode('bytes');
    const anon = new WebClient(server.base);
    const refused = await anon.request('POST', url, { body, headers: { 'x-csrf-token': 'guess' } });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text).message).toBe('Requires authentication');
    // A token alone is not enough: state-changing page requests need a session.
    expect((await anon.request('POST', url, { body, headers: { authorization: `token ${alice.token}` } })).status).toBe(401);
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    expect((await web.request('POST', url, { body })).status).toBe(403);
    const page = await web.get(`/${pub.full}/releases`);
    const ok = await web.request('POST', url, { body, headers: { 'x-csrf-token': WebClient.csrfOf(page), 'content-type': 'application/x-custom' } });
    expect(ok.status).toBe(201);
    const asset = JSON.parse(ok.text);
    expect(asset.digest).toBe('sha256:' + (await import('node:crypto')).createHash('sha256').update('bytes').digest('hex'));
    expect(asset.content_type).toBe('application/x-custom');
    const empty = await web.request('POST', `/${pub.full}/releases/upload/${list.body.id}?name=empty.bin`, {
      body: new Uint8Array(0),
      headers: { 'x-csrf-token': WebClient.csrfOf(page) },
    });
    expect(empty.status).toBe(422);
    expect(JSON.parse(empty.text).errors[0].message).toBe('size must be greater than or equal to 1');

    expect((await web.post(`/${pub.full}/releases/assets/${asset.id}/delete`, {})).status).toBe(403);
    const deleted = await web.post(`/${pub.full}/releases/assets/${asset.id}/delete`, { _csrf: WebClient.csrfOf(page) });
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get('location')).toBe(`/${pub.full}/releases/edit/v1.0.0`);
    expect((await call('GET', `${server.api}/repos/${pub.full}/releases/assets/${asset.id}`, {})).status).toBe(404);
  });

  it('answers a feed reader with bad credentials 401 rather than the sign-in page', async () => {
    const res = await new WebClient(server.base).get(`/${pub.full}/releases.atom`, { authorization: 'token nope' });
    expect(res.status).toBe(401);
  });

  it('refuses the forms to visitors without push access', async () => {
    const anon = new WebClient(server.base);
    const redirect = await anon.get(`/${pub.full}/releases/new`);
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('location')).toBe(`/login?return_to=${encodeURIComponent(`/${pub.full}/releases/new`)}`);
    const web = new WebClient(server.base);
    await web.signIn(bob.login, bob.token);
    expect((await web.get(`/${pub.full}/releases/new`)).status).toBe(403);
    const page = await web.get(`/${pub.full}/releases`);
    expect(page.text).not.toContain('Draft a new release');
    const res = await web.post(`/${pub.full}/releases`, { _csrf: WebClient.csrfOf(page), tag_name: 'v9', intent: 'publish' });
    expect(res.status).toBe(403);
  });
});
