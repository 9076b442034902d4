/**
 * The release form's notes helpers. Over plain HTTP: who may call the preview and generator
 * endpoints (push access, a session, its CSRF token; private repositories 404), the preview is
 * the sanitized `body_html` renderer, the generator the API's. In headless Chromium: a writer
 * picks a tag from the suggestions and a previous tag, generates the notes (title filled too),
 * previews them (a script in the notes runs nothing), and publishes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { artifactPath, chromiumAvailable, openBrowser, type BrowserSession } from './browser.ts';
import { WebClient } from './web-client.ts';

let server: TestServer;
let alice: TestUser;
let reader: TestUser;
let repo: { name: string; full: string };
let privateRepo: { name: string; full: string };

const XSS = '<script>window.__xss = 1</script>\n\n<img src=x onerror="window.__xss = 2">\n\n**bold** [a](javascript:alert(1))';

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server, undefined, ['repo']);
  reader = await createUser(server, undefined, ['repo']);
  repo = await createRepo(server, alice);
  privateRepo = await createRepo(server, alice, { private: true });
  await addCollaborator(server, alice, repo.name, reader, 'pull');
  const work = await WorkRepo.create();
  await work.commit('first change', { date: '2024-01-01T00:00:00Z' });
  await work.git('tag', 'v1.0.0');
  await work.commit('second change', { date: '2024-02-01T00:00:00Z' });
  await work.git('tag', 'v1.1.0');
  await work.commit('third change', { date: '2024-03-01T00:00:00Z' });
  await work.push(server, repo.full, alice.token, 'main', '--tags');
  expect((await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1.0.0' } })).status).toBe(201);
});
afterAll(() => server?.close());

async function signedIn(user: TestUser): Promise<WebClient> {
  const web = new WebClient(server.base);
  await web.signIn(user.login, user.token);
  return web;
}

describe('notes helpers over HTTP', () => {
  it('offer the tags and a previous-tag choice in the form', async () => {
    const web = await signedIn(alice);
    const page = await web.get(`/${repo.full}/releases/new`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('list="existing-tags"');
    expect(page.text).toMatch(/<datalist id="existing-tags"><option value="v1\.1\.0"><\/option><option value="v1\.0\.0"><\/option><\/datalist>/);
    expect(page.text).toContain('<option value="v1.0.0">v1.0.0</option>');
    expect(page.text).toMatch(/<script src="\/static\/release-editor\.js\?v=[0-9a-f]{12}" defer><\/script>/);
    const script = await fetch(`${server.base}/static/release-editor.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
  });

  it('links @mentions of existing accounts on the release page and in the preview, and nobody else', async () => {
    const body = `Thanks @${alice.login} and @no-such-user-here, and \`@${reader.login}\` in code.`;
    expect((await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'mentions', body, prerelease: true } })).status).toBe(201);
    const web = await signedIn(alice);
    for (const text of [
      (await web.get(`/${repo.full}/releases/tag/mentions`)).text,
      (await web.post(`/${repo.full}/releases/preview`, { body }, { 'x-csrf-token': WebClient.csrfOf(await web.get(`/${repo.full}/releases/new`)) })).text,
    ]) {
      expect(text).toContain(`<a href="${server.base}/${alice.login}" rel="nofollow noopener noreferrer">@${alice.login}</a>`);
      expect(text).toContain('and @no-such-user-here,');
      expect(text).toContain(`<code>@${reader.login}</code>`);
    }
  });

  it('preview with the sanitizer of body_html and generate with the API generator, for writers only', async () => {
    const web = await signedIn(alice);
    const csrf = WebClient.csrfOf(await web.get(`/${repo.full}/releases/new`));
    const preview = await web.post(`/${repo.full}/releases/preview`, { body: XSS }, { 'x-csrf-token': csrf });
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(preview.text).toContain('<strong>bold</strong>');
    expect(preview.text).not.toMatch(/<script|onerror|href="javascript:/i);
    const api = await call('POST', `${server.api}/repos/${repo.full}/releases`, {
      token: alice.token,
      body: { tag_name: 'html-check', draft: true, body: XSS },
      headers: { accept: 'application/vnd.github.html+json' },
    });
    // The same renderer: the API's body_html is the preview (one heading level apart; there is none here).
    expect(preview.text).toBe(api.body.body_html);

    const generated = await web.post(`/${repo.full}/releases/notes`, { tag_name: 'v2.0.0', target_commitish: 'main', previous_tag_name: 'v1.1.0' }, { 'x-csrf-token': csrf });
    expect(generated.status).toBe(200);
    const notes = JSON.parse(generated.text) as { name: string; body: string };
    const fromApi = await call('POST', `${server.api}/repos/${repo.full}/releases/generate-notes`, {
      token: alice.token,
      body: { tag_name: 'v2.0.0', target_commitish: 'main', previous_tag_name: 'v1.1.0' },
    });
    expect(notes).toEqual({ name: fromApi.body.name, body: fromApi.body.body });
    expect(notes.body).toContain('third change');
    expect(notes.body).not.toContain('second change');
    expect(notes.body).toContain('/compare/v1.1.0...v2.0.0');

    const unknown = await web.post(`/${repo.full}/releases/notes`, { tag_name: 'v2.0.0', previous_tag_name: 'no-such-tag' }, { 'x-csrf-token': csrf });
    expect(unknown.status).toBe(422);
    expect(JSON.parse(unknown.text).errors.length).toBeGreaterThan(0);
    expect((await web.post(`/${repo.full}/releases/notes`, { tag_name: '' }, { 'x-csrf-token': csrf })).status).toBe(422);

    // Without the CSRF token, cross-site, as a reader, anonymously, or on a private repository: refused.
    expect((await web.post(`/${repo.full}/releases/preview`, { body: 'x' })).status).toBe(403);
    expect((await web.post(`/${repo.full}/releases/preview`, { body: 'x' }, { 'x-csrf-token': csrf, origin: 'https://evil.example' })).status).toBe(403);
    const readerWeb = await signedIn(reader);
    const readerCsrf = WebClient.csrfOf(await readerWeb.get('/'));
    expect((await readerWeb.post(`/${repo.full}/releases/notes`, { tag_name: 'v2.0.0' }, { 'x-csrf-token': readerCsrf })).status).toBe(403);
    expect((await readerWeb.post(`/${repo.full}/releases/preview`, { body: 'x' }, { 'x-csrf-token': readerCsrf })).status).toBe(403);
    expect((await readerWeb.post(`/${privateRepo.full}/releases/preview`, { body: 'x' }, { 'x-csrf-token': readerCsrf })).status).toBe(404);
    expect((await new WebClient(server.base).post(`/${privateRepo.full}/releases/notes`, { tag_name: 'v1' })).status).toBe(404);
    expect((await new WebClient(server.base).post(`/${repo.full}/releases/notes`, { tag_name: 'v1' })).status).toBe(401);
  });
});

describe.skipIf(!chromiumAvailable)('release editor in Chromium', () => {
  let browser: BrowserSession;
  beforeAll(async () => {
    browser = await openBrowser();
  });
  afterAll(() => browser?.close());

  it.each([1280, 390])('picks tags, generates notes, previews them safely and publishes (%i px)', async (width) => {
    const web = await signedIn(alice);
    await browser.context.clearCookies();
    await browser.context.addCookies([{ name: 'wharf_session', value: web.cookies.get('wharf_session')!, url: server.base }]);
    const page = await browser.context.newPage();
    await page.setViewportSize({ width, height: 900 });
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${server.base}/${repo.full}/releases/new`);
    const tag = `v2.${width}.0`;
    await page.getByLabel('Tag', { exact: false }).first().fill(tag);
    expect(await page.locator('#existing-tags option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(expect.arrayContaining(['v1.1.0', 'v1.0.0']));
    await page.getByLabel('Previous tag').selectOption('v1.0.0');
    await page.getByRole('button', { name: 'Generate release notes' }).click();
    await page.getByText('Release notes generated.').waitFor();
    const notes = await page.locator('textarea[name="body"]').inputValue();
    expect(notes).toContain('second change');
    expect(notes).toContain('third change');
    expect(notes).toContain(`/compare/v1.0.0...${tag}`);
    expect(await page.locator('input[name="name"]').inputValue()).toBe(tag);

    await page.locator('textarea[name="body"]').fill(`${notes}\n\n${XSS}`);
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.locator('.notes-preview');
    await preview.waitFor({ state: 'visible' });
    expect(await page.locator('textarea[name="body"]').isHidden()).toBe(true);
    expect(await preview.locator('strong', { hasText: 'bold' }).count()).toBe(1);
    expect((await preview.locator('a', { hasText: 'third change' }).count()) + (await preview.getByText('third change').count())).toBeGreaterThan(0);
    expect(await preview.locator('script, img[onerror]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: await artifactPath(`pages/release-editor-preview-${width}.png`), fullPage: true });
    await page.getByRole('button', { name: 'Write' }).click();
    expect(await page.locator('textarea[name="body"]').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Publish release' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/releases/tag/${tag}`);
    const release = await call('GET', `${server.api}/repos/${repo.full}/releases/tags/${tag}`, { token: alice.token });
    expect(release.body.body).toContain('third change');
    expect(release.body.name).toBe(tag);
    await page.close();
  });
});
