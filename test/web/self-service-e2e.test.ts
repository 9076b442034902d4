/**
 * Self-service and administration in headless Chromium at 1280 and 390 px: a user signed in with
 * a password makes a personal access token on `/settings/tokens`, uses it with the API and revokes
 * it (the API then answers 401); a site administrator creates a user with a first token and
 * suspends them, and the user's browser session and token stop on their next request. Hostile
 * names on the administration page run nothing.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccountByLogin } from '../../src/db/repos/accounts-repo.ts';
import { setPassword } from '../../src/services/passwords.ts';
import { call } from '../support/http.ts';
import { createUser, uniqueName } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { chromiumAvailable, injectedOn, launchBrowser, watchPage } from './browser.ts';

const HOSTILE = `<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script>`;
const PASSWORD = 'quay-lantern-42';
const operator = { id: null, login: 'test', ip: null };

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  server = await startServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Signs in on `/login` with a password or a token; returns the page, on the home page. */
async function signIn(context: BrowserContext, problems: string[], login: string, secret: { password: string } | { token: string }): Promise<Page> {
  const page = await context.newPage();
  watchPage(page, problems);
  await page.goto(`${server.base}/login`);
  await page.getByLabel('Username').fill(login);
  if ('password' in secret) await page.getByLabel('Password', { exact: true }).fill(secret.password);
  else await page.getByLabel('Personal access token').fill(secret.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.base}/`);
  return page;
}

describe.skipIf(!chromiumAvailable)('self-service and administration in the browser', { timeout: 180_000 }, () => {
  it.each([1280, 390])('signs in with a password, makes a token, uses it with the API and revokes it (%i px)', async (width) => {
    const problems: string[] = [];
    const user = await createUser(server);
    const account = await findAccountByLogin(server.wharf.ctx.db, user.login);
    await setPassword(server.wharf.ctx, { user: account!, password: PASSWORD, actor: operator, via: 'cli', endSessions: 'none' });
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    try {
      const page = await signIn(context, problems, user.login, { password: PASSWORD });
      await page.goto(`${server.base}/settings/tokens`);
      await page.getByLabel(/^Note/).fill('release bot');
      await page.getByLabel('Expiration').selectOption('7');
      await page.getByRole('checkbox', { name: 'repo', exact: true }).check();
      await page.getByRole('button', { name: 'Generate token' }).click();
      await expect.poll(() => page.locator('#new-token').count(), { timeout: 30_000 }).toBe(1);
      const token = (await page.locator('#new-token').textContent())!.trim();
      expect(token).toMatch(/^wharf_[\w-]{20,}$/);

      const me = await call('GET', `${server.api}/user`, { token });
      expect(me.status).toBe(200);
      expect(me.body.login).toBe(user.login);
      expect(me.headers.get('x-oauth-scopes')).toBe('repo');

      // Shown once: the list names it by its last eight characters.
      await page.goto(`${server.base}/settings/tokens`);
      expect(await page.content()).not.toContain(token);
      page.once('dialog', (d) => void d.accept());
      await page.getByRole('button', { name: `Revoke token …${token.slice(-8)}` }).click();
      await page.waitForURL(`${server.base}/settings/tokens`);
      await expect.poll(() => page.getByRole('button', { name: `Revoke token …${token.slice(-8)}` }).count(), { timeout: 30_000 }).toBe(0);
      expect((await call('GET', `${server.api}/user`, { token })).status).toBe(401);
      // The session signed in with a password, not with that token: it goes on.
      expect((await page.goto(`${server.base}/settings/profile`))?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/settings/profile');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it.each([1280, 390])('lets an administrator create a user and suspend them: their session and token stop at once (%i px)', async (width) => {
    const problems: string[] = [];
    const viewport = { width, height: 900 };
    const [adminContext, userContext] = await Promise.all([browser.newContext({ viewport }), browser.newContext({ viewport })]);
    try {
      const admin = await signIn(adminContext, problems, 'admin', { token: ADMIN_TOKEN });
      await admin.goto(`${server.base}/site_admin/users`);
      const login = uniqueName('crew');
      await admin.getByLabel('Username').fill(login);
      await admin.getByLabel('E-mail address').fill(`${login}@example.com`);
      await admin.getByLabel('Name', { exact: true }).fill(HOSTILE);
      await admin.getByRole('button', { name: 'Create user' }).click();
      await expect.poll(() => admin.locator('#new-token').count(), { timeout: 30_000 }).toBe(1);
      const token = (await admin.locator('#new-token').textContent())!.trim();
      expect(await admin.locator(`#user-${login}`).textContent()).toContain('<script>');
      expect(await injectedOn(admin)).toEqual({ xss: null, inlineScripts: 0, handlers: 0 });

      const theirs = await signIn(userContext, problems, login, { token });
      expect((await theirs.goto(`${server.base}/settings/profile`))?.status()).toBe(200);
      expect((await call('GET', `${server.api}/user`, { token })).status).toBe(200);

      await admin.getByRole('button', { name: `Suspend ${login}` }).click();
      await expect.poll(() => admin.locator(`#user-${login}`).textContent(), { timeout: 30_000 }).toContain('Suspended');
      // Their next request: the session is gone (sent to sign in), the token refused.
      await theirs.goto(`${server.base}/settings/profile`);
      expect(new URL(theirs.url()).pathname).toBe('/login');
      expect((await call('GET', `${server.api}/user`, { token })).status).toBe(401);
      expect(problems).toEqual([]);
    } finally {
      await Promise.all([adminContext.close(), userContext.close()]);
    }
  });
});
