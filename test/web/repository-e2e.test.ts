/**
 * Repositories in headless Chromium at 1280 and 390 px, with three people at once, each in a
 * browser context of their own: an owner signs in with a password, creates a private repository
 * on `/new` and, on its settings page, adds a collaborator (signed in with a password in another
 * context), who then sees a private release the anonymous context gets a 404 for; the owner
 * makes the repository public and private again, and removing the collaborator makes the release
 * a 404 for them on their next request. A hostile description and display name run nothing.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccountByLogin } from '../../src/db/repos/accounts-repo.ts';
import { setPassword } from '../../src/services/passwords.ts';
import { call } from '../support/http.ts';
import { createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { artifactPath, chromiumAvailable, injectedOn, launchBrowser, watchPage } from './browser.ts';

const HOSTILE = `<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script>`;
const PASSWORD = 'harbour-light-42';
const operator = { id: null, login: 'test', ip: null };

let server: TestServer;
let owner: TestUser;
let friend: TestUser;
let browser: Browser;

async function withPassword(user: TestUser): Promise<void> {
  const account = await findAccountByLogin(server.wharf.ctx.db, user.login);
  await setPassword(server.wharf.ctx, { user: account!, password: PASSWORD, actor: operator, via: 'cli', endSessions: 'none' });
}

beforeAll(async () => {
  if (!chromiumAvailable) return;
  server = await startServer();
  owner = await createUser(server);
  friend = await createUser(server);
  await withPassword(owner);
  await withPassword(friend);
  // The collaborator's display name is shown on the settings page: a payload.
  await server.wharf.ctx.db.updateTable('accounts').set({ name: HOSTILE }).where('login', '=', friend.login).execute();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(context: BrowserContext, user: TestUser, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  watchPage(page, problems);
  await page.goto(`${server.base}/login`);
  await page.getByLabel('Username').fill(user.login);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.base}/`);
  return page;
}

/** The status a page answers in this context (a navigation, as a person would open it). */
async function statusOf(page: Page, path: string): Promise<number | undefined> {
  return (await page.goto(server.base + path))?.status();
}

/** Submits a settings form and waits for the page to say it was done. */
async function expectNotice(page: Page, text: string): Promise<void> {
  await expect.poll(() => page.getByRole('status').textContent(), { timeout: 30_000 }).toContain(text);
}

describe.skipIf(!chromiumAvailable)('repositories in the browser', { timeout: 180_000 }, () => {
  it.each([1280, 390])('creates a private repository, shares a private release with a collaborator and takes it back (%i px)', async (width) => {
    const problems: string[] = [];
    const viewport = { width, height: 900 };
    const contexts = await Promise.all([browser.newContext({ viewport }), browser.newContext({ viewport }), browser.newContext({ viewport })]);
    const [ownerContext, friendContext, anonContext] = contexts;
    try {
      const page = await signIn(ownerContext, owner, problems);
      const friendPage = await signIn(friendContext, friend, problems);
      const anon = await anonContext.newPage();
      watchPage(anon, problems);

      // Create the repository on /new.
      const name = uniqueName('shared');
      const full = `${owner.login}/${name}`;
      await page.goto(`${server.base}/new`);
      await page.getByLabel('Repository name').fill(name);
      await page.getByLabel(/^Description/).fill(HOSTILE);
      await page.getByRole('radio', { name: /^Private/ }).check();
      await page.getByRole('button', { name: 'Create repository' }).click();
      await page.waitForURL(`${server.base}/${full}`);
      expect(await page.locator('.repo-head .badge').textContent()).toBe('Private');

      // A private release in it (pushed and published through the API, as a release tool would).
      const work = await WorkRepo.create();
      await work.commit('initial');
      await work.git('tag', 'v1.0.0');
      await work.push(server, full, owner.token, 'main', '--tags');
      const made = await call('POST', `${server.api}/repos/${full}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0', name: 'Members only' } });
      expect(made.status).toBe(201);
      const release = `/${full}/releases/tag/v1.0.0`;
      expect(await statusOf(anon, release)).toBe(404);
      expect(await statusOf(friendPage, release)).toBe(404);

      // The owner adds the collaborator on the settings page, reached from the repository's tabs.
      await page.goto(`${server.base}/${full}`);
      await page.getByRole('navigation', { name: 'Repository' }).getByRole('link', { name: 'Settings' }).click();
      await page.waitForURL(`${server.base}/${full}/settings`);
      await page.getByLabel('Username').fill(friend.login);
      await page.getByRole('combobox', { name: 'Permission', exact: true }).selectOption('pull');
      await page.getByRole('button', { name: 'Add collaborator' }).click();
      await expectNotice(page, 'Collaborator added.');
      const row = page.locator('li.collaborator', { has: page.getByRole('link', { name: friend.login }) });
      expect(await row.getByRole('combobox').inputValue()).toBe('pull');
      // The hostile description and display name are text.
      expect(await page.getByLabel('Description').inputValue()).toBe(HOSTILE);
      expect(await row.textContent()).toContain('<script>');
      expect(await injectedOn(page)).toEqual({ xss: null, inlineScripts: 0, handlers: 0 });
      await page.screenshot({ path: await artifactPath(`pages/repo-settings-e2e-${width}.png`), fullPage: true });

      // The collaborator now sees the private release; the anonymous visitor still does not.
      expect(await statusOf(friendPage, release)).toBe(200);
      expect(await friendPage.getByRole('heading', { level: 1 }).textContent()).toContain('Members only');
      expect(await statusOf(anon, release)).toBe(404);
      // A reader is no admin: the settings page is a 404 to them.
      expect(await statusOf(friendPage, `/${full}/settings`)).toBe(404);

      // Changing the permission, as the API would.
      await row.getByRole('combobox').selectOption('push');
      await row.getByRole('button', { name: `Change the permission of ${friend.login}` }).click();
      await expectNotice(page, 'Permission changed.');
      const role = await call('GET', `${server.api}/repos/${full}/collaborators/${friend.login}/permission`, { token: owner.token });
      expect(role.body.role_name).toBe('write');

      // Public for everyone, after the name is typed; then private again.
      await page.getByLabel(`Type ${full} to confirm`).fill(full);
      await page.getByRole('button', { name: 'Make public' }).click();
      await expectNotice(page, 'Visibility changed.');
      expect(await page.locator('.repo-head .badge').textContent()).toBe('Public');
      expect(await statusOf(anon, release)).toBe(200);
      await page.getByLabel(`Type ${full} to confirm`).fill(full);
      await page.getByRole('button', { name: 'Make private' }).click();
      await expectNotice(page, 'Visibility changed.');
      expect(await page.locator('.repo-head .badge').textContent()).toBe('Private');
      expect(await statusOf(anon, release)).toBe(404);
      expect(await statusOf(friendPage, release)).toBe(200);

      // Removing the collaborator (confirmed in a dialog) takes the release away on their next request.
      page.once('dialog', (d) => void d.accept());
      await page.getByRole('button', { name: `Remove ${friend.login}` }).click();
      await expectNotice(page, 'Collaborator removed.');
      expect(await page.locator('li.collaborator').count()).toBe(1);
      expect(await statusOf(friendPage, release)).toBe(404);
      expect((await call('GET', `${server.api}/repos/${full}/releases/tags/v1.0.0`, { token: friend.token })).status).toBe(404);
      expect(problems).toEqual([]);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });
});
