/**
 * Every page of the web suite in headless Chromium, as a visitor and as a repository admin: no
 * horizontal overflow on a phone (320 and 390 px wide), no serious or critical axe-core
 * violations, a skip link, and screenshots in light, dark and phone widths saved under
 * `test-artifacts/pages/` for people to look at.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccountByLogin } from '../../src/db/repos/accounts-repo.ts';
import { createResetLink } from '../../src/services/passwords.ts';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { artifactPath, chromiumAvailable, openBrowser, type BrowserSession } from './browser.ts';
import { WebClient } from './web-client.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let server: TestServer;
let alice: TestUser;
let repo: { name: string; full: string };
let browser: BrowserSession;
let sessionCookie: string;
let adminCookie: string;
let hookId: number;
let draftTag: string;
let resetPath: string;

const LONG_NAME = 'wharf-release-server-super-long-asset-name-linux-x86_64-musl-static-1.0.0.tar.gz';
const NOTES = [
  '# Heading one in the notes',
  '## Heading two',
  'A paragraph with a [link](https://example.com) and `code-without-any-breaks-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz`.',
  '```\nconst aVeryLongLineOfCodeThatWouldOverflowAPhoneScreen = someFunctionCall(argumentNumberOne, argumentNumberTwo);\n```',
  '| Column | Another column | A third column with a long header | Fourth |\n|---|---|---|---|\n| a | b | c | d |',
  'https://example.com/a/very/long/url/without/any/spaces/that/goes/on/and/on/and/on/forever/and/ever.html',
].join('\n\n');

beforeAll(async () => {
  if (!chromiumAvailable) return;
  server = await startServer();
  alice = await createUser(server, undefined, ['repo', 'admin:repo_hook', 'read:org']);
  repo = await createRepo(server, alice, { description: 'A tool with a description long enough to wrap on a phone screen, as many do' });
  const work = await WorkRepo.create();
  await work.commit('initial', { date: '2024-01-01T00:00:00Z' });
  await work.git('tag', 'v1.0.0');
  await work.commit('a second commit with a rather long subject line that goes past the width of a phone', { date: '2024-02-01T00:00:00Z' });
  await work.git('tag', 'v1.1.0');
  await work.git('tag', 'bare-tag');
  await work.push(server, repo.full, alice.token, 'main', '--tags');
  const v1 = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1.0.0', name: 'First', body: NOTES } });
  expect(v1.status).toBe(201);
  for (const name of [LONG_NAME, 'small.txt']) {
    const up = await fetch(`${server.uploads}/repos/${repo.full}/releases/${v1.body.id}/assets?name=${encodeURIComponent(name)}&label=${encodeURIComponent('A label')}`, {
      method: 'POST',
      headers: { authorization: `token ${alice.token}`, 'content-type': 'application/octet-stream' },
      body: 'x'.repeat(1000),
    });
    expect(up.status).toBe(201);
  }
  const v11 = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1.1.0', prerelease: true, body: 'Small notes.' } });
  expect(v11.status).toBe(201);
  const draft = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v2.0.0', draft: true, name: 'Next' } });
  expect(draft.status).toBe(201);
  draftTag = new URL(draft.body.html_url as string).pathname.split('/releases/tag/')[1]!;
  const hook = await call('POST', `${server.api}/repos/${repo.full}/hooks`, {
    token: alice.token,
    body: { config: { url: 'https://hooks.example.com/a/rather/long/path/for/a/webhook/receiver', content_type: 'json' }, events: ['release'] },
  });
  expect(hook.status).toBe(201);
  hookId = hook.body.id;
  const web = new WebClient(server.base);
  await web.signIn(alice.login, alice.token);
  sessionCookie = web.cookies.get('wharf_session')!;
  const adminWeb = new WebClient(server.base);
  await adminWeb.signIn('admin', ADMIN_TOKEN);
  adminCookie = adminWeb.cookies.get('wharf_session')!;
  const orgForm = await adminWeb.get('/site_admin/organizations');
  expect((await adminWeb.post('/site_admin/organizations', { _csrf: WebClient.csrfOf(orgForm), login: 'a11y-org', admin: alice.login, name: 'Accessible' })).status).toBe(303);
  const bobUser = await createUser(server);
  // A collaborator, so the settings page lists someone besides the owner.
  await addCollaborator(server, alice, repo.name, bobUser, 'triage');
  const bob = await findAccountByLogin(server.wharf.ctx.db, bobUser.login);
  resetPath = (await createResetLink(server.wharf.ctx, bob!, { id: null, login: 'test', ip: null })).path;
  browser = await openBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface PageCase {
  name: string;
  path: () => string;
  signedIn?: boolean;
  /** Signed in as the site administrator (with the `site_admin` scope). */
  admin?: boolean;
  status?: number;
}

const PAGES: PageCase[] = [
  { name: 'home', path: () => '/' },
  { name: 'owner', path: () => `/${alice.login}` },
  { name: 'repository', path: () => `/${repo.full}` },
  { name: 'releases', path: () => `/${repo.full}/releases` },
  { name: 'release', path: () => `/${repo.full}/releases/tag/v1.0.0` },
  { name: 'tags', path: () => `/${repo.full}/tags` },
  { name: 'releases-search', path: () => `/${repo.full}/releases?q=first&type=release&sort=version` },
  { name: 'bare-tag', path: () => `/${repo.full}/releases/tag/bare-tag` },
  { name: 'compare', path: () => `/${repo.full}/compare/v1.0.0...v1.1.0` },
  { name: 'commits', path: () => `/${repo.full}/commits/main` },
  { name: 'commit', path: () => `/${repo.full}/commit/v1.1.0` },
  { name: 'sign-in', path: () => '/login' },
  { name: 'not-found', path: () => '/no/such/page/here', status: 404 },
  { name: 'releases-admin', path: () => `/${repo.full}/releases`, signedIn: true },
  { name: 'draft', path: () => `/${repo.full}/releases/tag/${draftTag}`, signedIn: true },
  { name: 'new-release', path: () => `/${repo.full}/releases/new`, signedIn: true },
  { name: 'edit-release', path: () => `/${repo.full}/releases/edit/v1.0.0`, signedIn: true },
  { name: 'repo-settings', path: () => `/${repo.full}/settings`, signedIn: true },
  { name: 'mirror-settings', path: () => `/${repo.full}/settings/mirror`, signedIn: true },
  { name: 'hooks', path: () => `/${repo.full}/settings/hooks`, signedIn: true },
  { name: 'new-hook', path: () => `/${repo.full}/settings/hooks/new`, signedIn: true },
  { name: 'hook', path: () => `/${repo.full}/settings/hooks/${hookId}`, signedIn: true },
  { name: 'settings-profile', path: () => '/settings/profile', signedIn: true },
  { name: 'settings-tokens', path: () => '/settings/tokens', signedIn: true },
  { name: 'settings-password', path: () => '/settings/password', signedIn: true },
  { name: 'settings-sessions', path: () => '/settings/sessions', signedIn: true },
  { name: 'password-reset', path: () => resetPath },
  { name: 'new-repository', path: () => '/new', signedIn: true },
  { name: 'admin-users', path: () => '/site_admin/users', admin: true },
  { name: 'admin-organizations', path: () => '/site_admin/organizations', admin: true },
  { name: 'admin-organization', path: () => '/site_admin/organizations/a11y-org', admin: true },
  { name: 'admin-repositories', path: () => '/site_admin/repositories', admin: true },
];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) does not apply.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`);
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits };
  });
}

async function open(pageCase: PageCase, width: number, scheme: 'light' | 'dark'): Promise<Page> {
  await browser.context.clearCookies();
  if (pageCase.signedIn || pageCase.admin) await browser.context.addCookies([{ name: 'wharf_session', value: pageCase.admin ? adminCookie : sessionCookie, url: server.base }]);
  const page = await browser.context.newPage();
  await page.setViewportSize({ width, height: 800 });
  await page.emulateMedia({ colorScheme: scheme });
  const res = await page.goto(server.base + pageCase.path());
  expect(res?.status(), pageCase.name).toBe(pageCase.status ?? 200);
  return page;
}

describe.skipIf(!chromiumAvailable)('every page on a phone and with assistive technology', () => {
  it.each(PAGES)('$name: fits 320 and 390 px, has no serious axe violations, and is photographed', async (pageCase) => {
    const page = await open(pageCase, 390, 'light');
    const phone = await overflow(page);
    expect(phone.scrollWidth, `${pageCase.name} at 390 px: ${phone.culprits.join(', ')}`).toBeLessThanOrEqual(phone.innerWidth);
    expect(await axeProblems(page), pageCase.name).toEqual([]);
    await page.screenshot({ path: await artifactPath(`pages/${pageCase.name}-phone.png`), fullPage: true });
    // The skip link is the first thing a keyboard reaches (first focusable element in document
    // order, none with a positive tabindex), and it leads to the main content.
    const first = await page.evaluate(() => {
      const focusable = [...document.querySelectorAll<HTMLElement>('a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]')];
      return { href: focusable[0]?.getAttribute('href') ?? null, positive: focusable.filter((el) => el.tabIndex > 0).length };
    });
    expect(first, pageCase.name).toEqual({ href: '#main', positive: 0 });
    expect(await page.locator('main#main').count()).toBe(1);
    await page.setViewportSize({ width: 320, height: 800 });
    const narrow = await overflow(page);
    expect(narrow.scrollWidth, `${pageCase.name} at 320 px: ${narrow.culprits.join(', ')}`).toBeLessThanOrEqual(narrow.innerWidth);
    await page.close();

    for (const scheme of ['light', 'dark'] as const) {
      const wide = await open(pageCase, 1280, scheme);
      if (scheme === 'dark') expect(await axeProblems(wide), `${pageCase.name} (dark)`).toEqual([]);
      await wide.screenshot({ path: await artifactPath(`pages/${pageCase.name}-${scheme}.png`), fullPage: true });
      await wide.close();
    }
  });

  it('gives every button and link on a phone a touch target of at least 44 by 44 px', async () => {
    const small: string[] = [];
    for (const pageCase of PAGES) {
      const page = await open(pageCase, 390, 'light');
      const found = await page.evaluate(() =>
        [
          ...document.querySelectorAll(
            'main button, main .button, main input[type="checkbox"]:not(:disabled), main summary, header.site a, header.site button, nav.pager a, .tabs a',
          ),
        ]
          // A checkbox's target is its label, which the browser makes clickable too.
          .map((el) => ({ el, box: (el.matches('input[type="checkbox"]') ? (el.closest('label') ?? el) : el).getBoundingClientRect() }))
          .filter(({ box }) => box.width > 0 && (box.width < 44 || box.height < 44))
          .map(({ el, box }) => `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(box.width)}x${Math.round(box.height)}`),
      );
      small.push(...found.map((f) => `${pageCase.name}: ${f}`));
      await page.close();
    }
    expect(small).toEqual([]);
  });

  it.each([390, 1280])('searches and filters releases and opens the tags page by keyboard and mouse (%i px)', async (width) => {
    const page = await open({ name: 'releases', path: () => `/${repo.full}/releases` }, width, 'light');
    await page.getByLabel('Find a release by name or tag').fill('FIRST');
    await page.getByLabel('Find a release by name or tag').press('Enter');
    await page.waitForURL(/\?q=FIRST/);
    expect(await page.locator('article.release h2').allTextContents()).toEqual(['First']);
    await page.getByLabel('Type').selectOption('prerelease');
    await page.getByLabel('Find a release by name or tag').fill('');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/type=prerelease/);
    expect(await page.locator('article.release h2').allTextContents()).toEqual(['v1.1.0']);
    await page.getByRole('link', { name: 'Tags', exact: true }).click();
    await page.waitForURL(`${server.base}/${repo.full}/tags`);
    expect(await page.locator('.tag-row h2').allTextContents()).toEqual(['v1.1.0', 'v1.0.0', 'bare-tag']);
    await page.close();
  });

  it('demotes headings in release notes below the release title', async () => {
    const page = await open(
      PAGES.find((p) => p.name === 'release')!,
      1280,
      'light',
    );
    const levels = await page.evaluate(() => [...document.querySelectorAll('main h1, main h2, main h3, main h4, main h5, main h6')].map((h) => h.tagName.toLowerCase()));
    expect(levels.filter((l) => l === 'h1')).toHaveLength(1);
    expect(await page.locator('.notes h1').count()).toBe(0);
    expect(await page.locator('.notes h2', { hasText: 'Heading one in the notes' }).count()).toBe(1);
    expect(await page.locator('.notes h3', { hasText: 'Heading two' }).count()).toBe(1);
    await page.close();
    const list = await open(
      PAGES.find((p) => p.name === 'releases')!,
      1280,
      'light',
    );
    // In the list each release title is an h2, so a note's top heading becomes an h3.
    expect(await list.locator('.notes h3', { hasText: 'Heading one in the notes' }).count()).toBe(1);
    expect(await list.locator('.notes h1, .notes h2').count()).toBe(0);
    await list.close();
  });
});
