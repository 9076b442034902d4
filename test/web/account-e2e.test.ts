/**
 * Accounts in headless Chromium: signing in with a password, changing it on the settings page,
 * a reset link that works once, and "sign out everywhere" ending another browser's session at
 * once. The sessions page shows what browsers sent (their User-Agent), so a hostile one is part
 * of the XSS checks here.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccountByLogin } from '../../src/db/repos/accounts-repo.ts';
import { createResetLink, setPassword } from '../../src/services/passwords.ts';
import { createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { chromiumAvailable, injectedOn, openBrowser, watchPage, type BrowserSession } from './browser.ts';

const HOSTILE_AGENT = `Mozilla/5.0 <img src=x onerror="window.__xss='ua'"><script>window.__xss='ua-script'</script>`;
const operator = { id: null, login: 'test', ip: null };

let server: TestServer;
let alice: TestUser;
let browser: BrowserSession;
let other: BrowserSession;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  server = await startServer();
  alice = await createUser(server);
  const account = await findAccountByLogin(server.wharf.ctx.db, alice.login);
  await setPassword(server.wharf.ctx, { user: account!, password: 'first-tide-42', actor: operator, via: 'cli', endSessions: 'none' });
  browser = await openBrowser();
  other = await openBrowser({ userAgent: HOSTILE_AGENT });
});

afterAll(async () => {
  await browser?.close();
  await other?.close();
  await server?.close();
});

async function signIn(page: Page, password: string): Promise<void> {
  await page.goto(`${server.base}/login`);
  await page.getByLabel('Username').fill(alice.login);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.base}/`);
}

describe.skipIf(!chromiumAvailable)('accounts in the browser', { timeout: 180_000 }, () => {
  it('signs in with a password, changes it, and signs out everywhere (another browser too)', async () => {
    const problems: string[] = [];
    const page = await browser.context.newPage();
    const elsewhere = await other.context.newPage();
    watchPage(page, problems);
    watchPage(elsewhere, problems);
    await signIn(page, 'first-tide-42');
    await signIn(elsewhere, 'first-tide-42');

    await page.goto(`${server.base}/settings/password`);
    await page.getByLabel('Old password').fill('first-tide-42');
    await page.getByRole('textbox', { name: /^New password/ }).fill('second-tide-43');
    await page.getByLabel('Confirm new password').fill('second-tide-43');
    await page.getByRole('button', { name: 'Update password' }).click();
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 30_000 }).toContain('Password changed.');
    // The other browser was signed out by the change; it signs in again with the new password.
    await elsewhere.goto(`${server.base}/settings/profile`);
    expect(new URL(elsewhere.url()).pathname).toBe('/login');
    await signIn(elsewhere, 'second-tide-43');

    await page.goto(`${server.base}/settings/sessions`);
    expect(await page.locator('li.session-row').count()).toBe(2);
    await expect.poll(() => page.locator('li.session-row', { hasText: 'This browser' }).count()).toBe(1);
    // The hostile User-Agent of the other browser is shown as text.
    expect(await page.locator('li.session-row').filter({ hasText: '<script>' }).count()).toBe(1);
    expect(await injectedOn(page)).toEqual({ xss: null, inlineScripts: 0, handlers: 0 });

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.waitForURL(`${server.base}/login`);
    const cookies = await browser.context.cookies(server.base);
    expect(cookies.find((c) => c.name === 'wharf_session')).toBeUndefined();
    // The other browser still holds its cookie, and it no longer works.
    expect((await other.context.cookies(server.base)).some((c) => c.name === 'wharf_session')).toBe(true);
    const res = await elsewhere.goto(`${server.base}/settings/sessions`);
    expect(res?.status()).toBe(200);
    expect(new URL(elsewhere.url()).pathname).toBe('/login');
    expect(problems).toEqual([]);
    await page.close();
    await elsewhere.close();
  });

  it('lets a reset link set a password once', async () => {
    const problems: string[] = [];
    const account = await findAccountByLogin(server.wharf.ctx.db, alice.login);
    const link = await createResetLink(server.wharf.ctx, account!, operator);
    const page = await browser.context.newPage();
    watchPage(page, problems);
    await page.goto(`${server.base}${link.path}`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(`Choose a password for ${alice.login}`);
    await page.getByRole('textbox', { name: /^New password/ }).fill('third-tide-44');
    await page.getByLabel('Confirm new password').fill('third-tide-44');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(`${server.base}/login?password_reset=1`);
    expect(await page.getByRole('status').textContent()).toContain('Your password was changed.');
    await signIn(page, 'third-tide-44');

    const again = await page.goto(`${server.base}${link.path}`);
    expect(again?.status()).toBe(404);
    expect(await page.locator('main').textContent()).toContain('expired or was already used');
    expect(problems).toEqual([]);
    await page.close();
  });
});
