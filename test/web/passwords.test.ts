/**
 * Password sign-in on a real server: argon2id hashes, the password rules, sign-in by password
 * beside token sign-in, the limits on failed sign-ins (per login and per address, counted in the
 * database), one-time reset links (expiry, single use even when two redemptions race, every
 * session ending), the settings page's change (current password first; other browsers signed
 * out) and the session token a password sign-in makes (never listed, never an API credential).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccountByLogin } from '../../src/db/repos/accounts-repo.ts';
import type { Account } from '../../src/db/schema.ts';
import { NotFoundError, TooManyRequestsError, UnauthorizedError, ValidationError } from '../../src/domain/errors.ts';
import { createResetLink, hashPassword, passwordProblems, redeemResetLink, RESET_LINK_TTL_MS, resetLinkUser, setPassword, verifyPassword } from '../../src/services/passwords.ts';
import { createOrganization } from '../../src/services/accounts.ts';
import { signInWithPassword } from '../../src/services/sessions.ts';
import { setSuspended } from '../../src/services/user-admin.ts';
import { call } from '../support/http.ts';
import { createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { WebClient } from './web-client.ts';

let server: TestServer;
const operator = { id: null, login: 'cli:test', ip: null };

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

async function account(login: string): Promise<Account> {
  return (await findAccountByLogin(server.wharf.ctx.db, login))!;
}

async function withPassword(password: string): Promise<TestUser> {
  const user = await createUser(server);
  await setPassword(server.wharf.ctx, { user: await account(user.login), password, actor: operator, via: 'cli', endSessions: 'none' });
  return user;
}

async function passwordSignIn(web: WebClient, login: string, password: string) {
  const form = await web.get('/login');
  return web.post('/session', { _csrf: WebClient.csrfOf(form), login, password, return_to: '/' });
}

describe('password hashing and rules', () => {
  it('hashes with argon2id, salted, and verifies only the right password', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(a, 'correct horse batterY')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  it("follows GitHub's rule: 15 characters, or 8 with a lowercase letter and a number", () => {
    expect(passwordProblems('short1a')).toEqual(['Password is too short (minimum is 8 characters)']);
    expect(passwordProblems('abcdefgh')[0]).toMatch(/at least one lowercase letter and one number/);
    expect(passwordProblems('abcdefg1')).toEqual([]);
    expect(passwordProblems('ABCDEFGHIJKLMNO')).toEqual([]);
    expect(passwordProblems('x'.repeat(257))[0]).toMatch(/too long/);
  });
});

describe('password sign-in', () => {
  it('signs in with a password beside the token form; the session token is never listed nor an API credential', async () => {
    const user = await withPassword('tide-gauge-42');
    const web = new WebClient(server.base);
    const wrong = await passwordSignIn(web, user.login, 'tide-gauge-43');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Incorrect username or password.');
    const ok = await passwordSignIn(web, user.login.toUpperCase(), 'tide-gauge-42');
    expect(ok.status).toBe(303);
    const tokens = await web.get('/settings/tokens');
    expect(tokens.status).toBe(200);
    expect(tokens.text).not.toContain('browser session');
    const sessions = await web.get('/settings/sessions');
    expect(sessions.text).toContain('This browser');
    expect(sessions.text).toContain('<strong>Password</strong>');
    // The session's token row exists, and no API request can use it.
    const rows = await server.wharf.ctx.db.selectFrom('tokens').selectAll().where('user_id', '=', user.id).where('kind', '=', 'session').execute();
    expect(rows.length).toBe(1);
    expect((await call('GET', `${server.api}/user/repos`, { token: user.token })).status).toBe(200);
    // Signing out deletes it.
    const home = await web.get('/settings/profile');
    expect((await web.post('/logout', { _csrf: WebClient.csrfOf(home) })).status).toBe(303);
    const after = await server.wharf.ctx.db.selectFrom('tokens').select('id').where('user_id', '=', user.id).where('kind', '=', 'session').execute();
    expect(after).toEqual([]);
  });

  it('gives organizations, suspended users and users without a password the same refusal', async () => {
    const none = await createUser(server);
    const suspended = await withPassword('tide-gauge-42');
    await setSuspended(server.wharf.ctx, suspended.login, true, operator);
    const org = await createOrganization(server.wharf.ctx, uniqueName('org'), none.login, null, operator);
    for (const login of [none.login, suspended.login, org.login, 'nobody-here-at-all']) {
      const res = await passwordSignIn(new WebClient(server.base), login, 'tide-gauge-42');
      expect(res.status, login).toBe(401);
      expect(res.text).toContain('Incorrect username or password.');
    }
  });
});

describe('failed sign-in limits', () => {
  it('refuses a login after its failures, even with the right password, and lets others in', async () => {
    const ctx = server.wharf.ctx;
    const user = await withPassword('tide-gauge-42');
    const perAccount = ctx.config.rateLimit.signInFailuresPerAccount;
    for (let i = 0; i < perAccount; i++) {
      await expect(signInWithPassword(ctx, user.login, 'wrong-guess-1', { address: `198.51.100.${i + 1}` })).rejects.toBeInstanceOf(UnauthorizedError);
    }
    const refused = signInWithPassword(ctx, user.login, 'tide-gauge-42', { address: '198.51.100.200' });
    await expect(refused).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(refused).rejects.toThrow('Too many failed sign-in attempts. Please wait a few minutes before trying again.');
    // Another login is not affected.
    const other = await withPassword('tide-gauge-42');
    await expect(signInWithPassword(ctx, other.login, 'tide-gauge-42', { address: '198.51.100.200' })).resolves.toBeTruthy();
  });

  it('refuses an address after its failures, whichever login it tries; successes do not count', async () => {
    const ctx = server.wharf.ctx;
    const address = '203.0.113.9';
    const user = await withPassword('tide-gauge-42');
    // Successful sign-ins are given back: many of them never reach the limit.
    for (let i = 0; i < 3; i++) await signInWithPassword(ctx, user.login, 'tide-gauge-42', { address });
    const perAddress = ctx.config.rateLimit.signInFailuresPerAddress;
    for (let i = 0; i < perAddress; i++) {
      await expect(signInWithPassword(ctx, `guess${i}`, 'wrong-guess-1', { address })).rejects.toBeInstanceOf(UnauthorizedError);
    }
    await expect(signInWithPassword(ctx, user.login, 'tide-gauge-42', { address })).rejects.toBeInstanceOf(TooManyRequestsError);
    await expect(signInWithPassword(ctx, user.login, 'tide-gauge-42', { address: '203.0.113.10' })).resolves.toBeTruthy();
  });

  it('answers the sign-in form with 429 and Retry-After when the limit is reached', async () => {
    const ctx = server.wharf.ctx;
    const user = await withPassword('tide-gauge-42');
    for (let i = 0; i < ctx.config.rateLimit.signInFailuresPerAccount; i++) {
      await signInWithPassword(ctx, user.login, 'wrong-guess-1', { address: `192.0.2.${i + 1}` }).catch(() => undefined);
    }
    const res = await passwordSignIn(new WebClient(server.base), user.login, 'tide-gauge-42');
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.text).toContain('Too many failed sign-in attempts.');
  });
});

describe('reset links', () => {
  it('expire, and are voided by a newer link', async () => {
    const ctx = server.wharf.ctx;
    const user = await account((await createUser(server)).login);
    const made = Date.now();
    const link = await createResetLink(ctx, user, operator, made);
    const secret = link.path.split('/').at(-1)!;
    expect((await resetLinkUser(ctx, secret, made + RESET_LINK_TTL_MS - 1000)).id).toBe(user.id);
    await expect(resetLinkUser(ctx, secret, made + RESET_LINK_TTL_MS)).rejects.toBeInstanceOf(NotFoundError);
    await expect(redeemResetLink(ctx, secret, 'tide-gauge-42', 'tide-gauge-42', null, made + RESET_LINK_TTL_MS + 1)).rejects.toBeInstanceOf(NotFoundError);
    const newer = await createResetLink(ctx, user, operator);
    await expect(resetLinkUser(ctx, secret)).rejects.toBeInstanceOf(NotFoundError);
    expect((await resetLinkUser(ctx, newer.path.split('/').at(-1)!)).id).toBe(user.id);
    // Only a hash is stored.
    const rows = await ctx.db.selectFrom('password_reset_links').selectAll().where('user_id', '=', user.id).execute();
    expect(rows.length).toBe(1);
    expect(JSON.stringify(rows)).not.toContain(newer.path.split('/').at(-1)!);
  });

  it('work once, even when two redemptions race; a refused password leaves the link usable', async () => {
    const ctx = server.wharf.ctx;
    const user = await account((await createUser(server)).login);
    const secret = (await createResetLink(ctx, user, operator)).path.split('/').at(-1)!;
    await expect(redeemResetLink(ctx, secret, 'short', 'short', null)).rejects.toBeInstanceOf(ValidationError);
    await expect(redeemResetLink(ctx, secret, 'tide-gauge-42', 'tide-gauge-43', null)).rejects.toBeInstanceOf(ValidationError);
    const results = await Promise.allSettled([
      redeemResetLink(ctx, secret, 'tide-gauge-42', 'tide-gauge-42', null),
      redeemResetLink(ctx, secret, 'other-pass-77', 'other-pass-77', null),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(NotFoundError);
    await expect(resetLinkUser(ctx, secret)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('over HTTP: opening the link spends nothing, choosing a password ends every session, the link then is 404', async () => {
    const user = await withPassword('tide-gauge-42');
    const elsewhere = new WebClient(server.base);
    expect((await passwordSignIn(elsewhere, user.login, 'tide-gauge-42')).status).toBe(303);
    const admin = new WebClient(server.base);
    await admin.signIn('admin', ADMIN_TOKEN);
    const users = await admin.get('/site_admin/users');
    const made = await admin.post(`/site_admin/users/${user.login}/reset_link`, { _csrf: WebClient.csrfOf(users) });
    expect(made.status).toBe(201);
    const url = /<code id="reset-link">([^<]+)<\/code>/.exec(made.text)![1]!;
    expect(url.startsWith(`${server.base}/password_reset/`)).toBe(true);
    const path = url.slice(server.base.length);

    const browser = new WebClient(server.base);
    const form = await browser.get(path);
    expect(form.status).toBe(200);
    expect((await browser.get(path)).status).toBe(200);
    const mismatch = await browser.post(path, { _csrf: WebClient.csrfOf(form), password: 'new-tide-77', password_confirmation: 'new-tide-78' });
    expect(mismatch.status).toBe(422);
    expect(mismatch.text).toContain('Password confirmation doesn’t match the password');
    const done = await browser.post(path, { _csrf: WebClient.csrfOf(form), password: 'new-tide-77', password_confirmation: 'new-tide-77' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/login?password_reset=1');
    expect((await elsewhere.get('/settings/profile')).status).toBe(303);
    const again = await browser.post(path, { _csrf: WebClient.csrfOf(form), password: 'new-tide-88', password_confirmation: 'new-tide-88' });
    expect(again.status).toBe(404);
    expect((await browser.get(path)).status).toBe(404);
    expect((await passwordSignIn(new WebClient(server.base), user.login, 'tide-gauge-42')).status).toBe(401);
    expect((await passwordSignIn(new WebClient(server.base), user.login, 'new-tide-77')).status).toBe(303);
    const audit = await call('GET', `${server.api}/enterprises/wharf/audit-log?phrase=${encodeURIComponent(`user:${user.login}`)}`, { token: ADMIN_TOKEN });
    const actions = (audit.body as Array<{ action: string }>).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.password_reset_link', 'user.change_password', 'user.login']));
  });
});

describe('settings: password', () => {
  it('changes the password with the current one and signs the other browsers out', async () => {
    const user = await withPassword('tide-gauge-42');
    const web = new WebClient(server.base);
    const other = new WebClient(server.base);
    for (const client of [web, other]) expect((await passwordSignIn(client, user.login, 'tide-gauge-42')).status).toBe(303);
    const page = await web.get('/settings/password');
    expect(page.status).toBe(200);
    const wrongOld = await web.post('/settings/password', {
      _csrf: WebClient.csrfOf(page),
      old_password: 'nope-nope-1',
      password: 'new-tide-77',
      password_confirmation: 'new-tide-77',
    });
    expect(wrongOld.status).toBe(422);
    expect(wrongOld.text).toContain('Old password isn’t valid');
    const ok = await web.post('/settings/password', {
      _csrf: WebClient.csrfOf(page),
      old_password: 'tide-gauge-42',
      password: 'new-tide-77',
      password_confirmation: 'new-tide-77',
    });
    expect(ok.status).toBe(200);
    expect((await web.get('/settings/profile')).status).toBe(200);
    expect((await other.get('/settings/profile')).status).toBe(303);
    expect((await passwordSignIn(new WebClient(server.base), user.login, 'new-tide-77')).status).toBe(303);
  });

  it('does not let a narrow token session set a first password (which could do more)', async () => {
    const user = await createUser(server, undefined, ['public_repo']);
    const web = new WebClient(server.base);
    await web.signIn(user.login, user.token);
    const page = await web.get('/settings/password');
    expect(page.text).toContain('Set a password');
    const res = await web.post('/settings/password', { _csrf: WebClient.csrfOf(page), password: 'new-tide-77', password_confirmation: 'new-tide-77' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('ask a site administrator for a password reset link');
  });
});
