/**
 * The webhook settings pages on a real server with a real receiver on loopback: over plain HTTP,
 * who may see them (repository admins only; 404 for everyone else, before any CSRF or form
 * check), the form's rules (the API's: internal URLs refused, secrets never shown, an empty
 * secret field keeps the secret); and in headless Chromium, an admin creating a hook, pinging
 * it, reading the delivery's request and response, and redelivering it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { chromiumAvailable, openBrowser, type BrowserSession } from './browser.ts';
import { WebClient } from './web-client.ts';

const SECRET = 'page-secret-never-shown';
let server: TestServer;
let receiver: WebhookReceiver;
let alice: TestUser;
let pusher: TestUser;
let reader: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  server = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_EVENTS_POLL_MS: '50', WHARF_WEBHOOK_TIMEOUT_MS: '4000' } });
  receiver = await WebhookReceiver.start();
  alice = await createUser(server);
  pusher = await createUser(server);
  reader = await createUser(server);
  stranger = await createUser(server);
});
afterAll(async () => {
  await receiver?.close();
  await server?.close();
});

async function signedIn(user: TestUser): Promise<WebClient> {
  const web = new WebClient(server.base);
  await web.signIn(user.login, user.token);
  return web;
}

/** Creates a hook through the form; returns its id (from the redirect to its page). */
async function createThroughForm(web: WebClient, full: string, fields: Record<string, string>): Promise<number> {
  const form = await web.get(`/${full}/settings/hooks/new`);
  expect(form.status).toBe(200);
  const res = await web.post(`/${full}/settings/hooks`, { _csrf: WebClient.csrfOf(form), content_type: 'json', insecure_ssl: '0', active: '1', ...fields });
  expect(res.status, res.text).toBe(303);
  const m = /\/settings\/hooks\/(\d+)$/.exec(res.headers.get('location') ?? '');
  expect(m).not.toBeNull();
  return Number(m![1]);
}

describe('webhook settings over HTTP', () => {
  it('are 404 to everyone but repository admins, on every page and form, before any CSRF check', async () => {
    const pub = await createRepo(server, alice, { auto_init: true });
    const priv = await createRepo(server, alice, { auto_init: true, private: true });
    await addCollaborator(server, alice, pub.name, pusher, 'push');
    await addCollaborator(server, alice, pub.name, reader, 'pull');
    await addCollaborator(server, alice, priv.name, pusher, 'maintain');
    const admin = await signedIn(alice);
    const hookId = await createThroughForm(admin, pub.full, { url: receiver.url(), event_release: '1' });
    const privHook = await createThroughForm(admin, priv.full, { url: receiver.url(), event_push: '1' });

    // The admin sees the Settings tab, whose navigation leads to the webhooks; nobody else does.
    expect((await admin.get(`/${pub.full}`)).text).toContain(`href="/${pub.full}/settings"`);
    expect((await admin.get(`/${pub.full}/settings`)).text).toContain(`href="/${pub.full}/settings/hooks"`);
    for (const user of [pusher, reader, stranger]) {
      const web = await signedIn(user);
      expect((await web.get(`/${pub.full}`)).text).not.toContain(`/${pub.full}/settings`);
    }

    const visitors = [await signedIn(pusher), await signedIn(reader), await signedIn(stranger), new WebClient(server.base)];
    for (const [full, id] of [
      [pub.full, hookId],
      [priv.full, privHook],
    ] as const) {
      const h = `/${full}/settings/hooks`;
      for (const web of visitors) {
        for (const path of [h, `${h}/new`, `${h}/${id}`]) {
          const res = await web.get(path, { accept: 'text/html' });
          expect(res.status, `GET ${path}`).toBe(404);
          expect(res.text).not.toContain(receiver.url());
        }
        // A form post without (or with someone else's) CSRF token is still a 404, not a 403.
        for (const path of [h, `${h}/${id}`, `${h}/${id}/pings`, `${h}/${id}/delete`, `${h}/${id}/deliveries/1/redeliver`]) {
          const fields: Record<string, string> = web.cookies.size ? { _csrf: WebClient.csrfOf(await web.get('/')), url: 'http://10.0.0.1/' } : { url: 'x' };
          expect((await web.post(path, fields)).status, `POST ${path}`).toBe(404);
        }
      }
    }
    // The hooks are untouched.
    const api = await call('GET', `${server.api}/repos/${pub.full}/hooks/${hookId}`, { token: alice.token });
    expect(api.body.config.url).toBe(receiver.url());
    // The admin without the CSRF token: refused.
    expect((await admin.post(`/${pub.full}/settings/hooks/${hookId}/delete`, {})).status).toBe(403);
    expect((await call('GET', `${server.api}/repos/${pub.full}/hooks/${hookId}`, { token: alice.token })).status).toBe(200);
  });

  it('creates, edits and deletes with the API rules: internal URLs refused, the secret kept, never shown', async () => {
    const repo = await createRepo(server, alice, { auto_init: true });
    const admin = await signedIn(alice);
    const h = `/${repo.full}/settings/hooks`;

    const form = await admin.get(`${h}/new`);
    const refused = await admin.post(h, { _csrf: WebClient.csrfOf(form), url: 'http://10.1.2.3/hook', content_type: 'json', event_push: '1', active: '1' });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('internal address');
    // What was typed stays in the form.
    expect(refused.text).toContain('value="http://10.1.2.3/hook"');

    const id = await createThroughForm(admin, repo.full, { url: receiver.url(), secret: SECRET, event_release: '1', event_create: '1', content_type: 'form' });
    const api = `${server.api}/repos/${repo.full}/hooks/${id}`;
    let hook = (await call('GET', api, { token: alice.token })).body;
    expect(hook).toMatchObject({ active: true, events: ['release', 'create'], config: { url: receiver.url(), content_type: 'form', secret: '********' } });

    const page = await admin.get(`${h}/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(SECRET);
    expect(page.text).toContain('A secret is set');
    expect(page.text).toMatch(/name="event_release" value="1" checked/);

    // Edit: an empty secret field keeps the secret; unticking Active turns the hook off.
    const edited = await admin.post(`${h}/${id}`, {
      _csrf: WebClient.csrfOf(page),
      url: `${receiver.url()}?v=2`,
      content_type: 'json',
      insecure_ssl: '0',
      event_push: '1',
      secret: '',
    });
    expect(edited.status).toBe(303);
    hook = (await call('GET', api, { token: alice.token })).body;
    expect(hook).toMatchObject({ active: false, events: ['push'], config: { url: `${receiver.url()}?v=2`, content_type: 'json', secret: '********' } });
    const again = await admin.get(`${h}/${id}`);
    expect(again.text).toContain('<span class="badge">Inactive</span>');
    await admin.post(`${h}/${id}`, { _csrf: WebClient.csrfOf(again), url: receiver.url(), content_type: 'json', event_push: '1', remove_secret: '1', active: '1' });
    hook = (await call('GET', api, { token: alice.token })).body;
    expect(hook.config.secret).toBeUndefined();
    expect(hook.active).toBe(true);

    const list = await admin.get(h);
    expect(list.text).toContain(`href="${h}/${id}"`);
    const deleted = await admin.post(`${h}/${id}/delete`, { _csrf: WebClient.csrfOf(list) });
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get('location')).toBe(h);
    expect((await call('GET', api, { token: alice.token })).status).toBe(404);
    expect((await admin.get(`${h}/${id}`, { accept: 'text/html' })).status).toBe(404);
  });
});

describe.skipIf(!chromiumAvailable)('webhook settings in Chromium', () => {
  let browser: BrowserSession;
  afterAll(async () => {
    await browser?.close();
  });

  /** Reloads the hook's page until `count` deliveries are listed (deliveries go out in the background). */
  async function waitForDeliveries(page: Page, count: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while ((await page.locator('li.delivery').count()) < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} deliveries on the page`);
      await page.waitForTimeout(200);
      await page.reload();
    }
  }

  it('creates a hook, pings it, shows the delivery with request and response, and redelivers it', async () => {
    const repo = await createRepo(server, alice, { auto_init: true });
    browser = await openBrowser();
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });

    await page.goto(`${server.base}/login?return_to=${encodeURIComponent(`/${repo.full}`)}`);
    await page.getByLabel('Username').fill(alice.login);
    await page.getByLabel('Personal access token').fill(alice.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.base}/${repo.full}`);

    await page.getByRole('navigation', { name: 'Repository' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/settings`);
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/settings/hooks`);
    await page.getByRole('link', { name: 'Add webhook' }).click();
    await page.getByLabel('Payload URL').fill(receiver.url());
    await page.getByLabel('Secret').fill(SECRET);
    await page.locator('input[name="event_release"]').check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.waitForURL(/\/settings\/hooks\/\d+$/);
    const hookId = /\/settings\/hooks\/(\d+)$/.exec(page.url())![1]!;
    const mine = () => receiver.received.filter((r) => r.headers['x-github-hook-id'] === hookId);

    // Creating pinged the hook; pressing Ping pings it again.
    await waitForDeliveries(page, 1);
    await page.getByRole('button', { name: 'Ping' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/settings/hooks/${hookId}`);
    await waitForDeliveries(page, 2);
    await receiver.waitFor(() => mine().length === 2);

    // The newest delivery, opened: what was sent and what came back.
    const newest = page.locator('li.delivery').first();
    await newest.locator('summary').click();
    await expect.poll(() => newest.locator('.request-headers').isVisible()).toBe(true);
    const guid = await newest.getAttribute('data-guid');
    expect(guid).toBe(mine()[1]!.headers['x-github-delivery']);
    expect(await newest.locator('summary').textContent()).toContain('ping');
    expect(await newest.locator('.badge.ok').count()).toBe(1);
    const requestHeaders = (await newest.locator('.request-headers').textContent())!;
    expect(requestHeaders).toContain('X-GitHub-Event: ping');
    expect(requestHeaders).toContain(`X-GitHub-Delivery: ${guid}`);
    expect(requestHeaders).toMatch(/X-Hub-Signature-256: sha256=[0-9a-f]{64}/);
    expect(JSON.parse((await newest.locator('.request-body').textContent())!)).toMatchObject({ hook_id: Number(hookId), zen: expect.any(String) });
    expect(await newest.locator('.response-status').textContent()).toBe('200');
    expect(await newest.locator('.response-headers').textContent()).toContain('content-type: text/plain');
    expect(await newest.locator('.response-body').textContent()).toBe('ok');
    expect(await page.content()).not.toContain(SECRET);

    // Redeliver: the same GUID reaches the receiver again, listed as a redelivery.
    await newest.getByRole('button', { name: 'Redeliver' }).click();
    await page.waitForURL(`${server.base}/${repo.full}/settings/hooks/${hookId}`);
    await waitForDeliveries(page, 3);
    await receiver.waitFor(() => mine().length === 3);
    expect(mine()[2]!.headers['x-github-delivery']).toBe(guid);
    const redelivered = page.locator('li.delivery').first();
    expect(await redelivered.getAttribute('data-guid')).toBe(guid);
    expect(await redelivered.locator('summary .badge', { hasText: 'redelivery' }).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});
