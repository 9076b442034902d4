/**
 * Self-service and site-administration pages on a real server over plain HTTP (they are
 * server-rendered forms; no script is involved): a user making a token on the tokens page and
 * using it with the API, revoking it (the API then answers 401), never getting more scopes than
 * the token they signed in with; profile and "sign out everywhere"; a site administrator creating
 * a user with a first token, suspending them (their token and session stop at once), managing an
 * organization's members and seeing every repository. Who may see what (404 before any CSRF
 * check), CSRF refusals, audit entries and escaping of what users typed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { WebClient, type PageResult } from './web-client.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

async function signedIn(login: string, token: string): Promise<WebClient> {
  const web = new WebClient(server.base);
  await web.signIn(login, token);
  return web;
}

const admin = () => signedIn('admin', ADMIN_TOKEN);

/** The token shown once on a page after creating it. */
function shownToken(page: PageResult): string {
  const m = /<code id="new-token">(wharf_[A-Za-z0-9_-]+)<\/code>/.exec(page.text);
  if (!m) throw new Error(`no new token on the page (${page.status})`);
  return m[1]!;
}

async function audit(phrase: string): Promise<Array<Record<string, unknown>>> {
  const res = await call('GET', `${server.api}/enterprises/wharf/audit-log?phrase=${encodeURIComponent(phrase)}&per_page=100`, { token: ADMIN_TOKEN });
  expect(res.status).toBe(200);
  return res.body as Array<Record<string, unknown>>;
}

describe('sign-in page', () => {
  it('offers a password or a token, and says how to get a first password and where to make tokens', async () => {
    const page = await new WebClient(server.base).get('/login');
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="password"');
    expect(page.text).toContain('name="token"');
    expect(page.text).toContain('No password yet?');
    expect(page.text).toContain('wharf user reset-link');
    expect(page.text).toContain('href="/settings/tokens"');
  });
});

describe('tokens page', () => {
  it('sends anonymous visitors to sign in and refuses posts without a session or CSRF token', async () => {
    const anon = new WebClient(server.base);
    for (const path of ['/settings/tokens', '/settings/profile', '/settings']) {
      const res = await anon.get(path, { accept: 'text/html' });
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe(`/login?return_to=${encodeURIComponent(path)}`);
    }
    expect((await anon.post('/settings/tokens', { note: 'x', scope_repo: '1' })).status).toBe(401);
    const user = await createUser(server);
    const web = await signedIn(user.login, user.token);
    const refused = await web.post('/settings/tokens', { note: 'no csrf', scope_repo: '1' });
    expect(refused.status).toBe(403);
    const crossSite = await web.post('/settings/tokens', { _csrf: WebClient.csrfOf(await web.get('/settings/tokens')), note: 'x' }, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const list = await web.get('/settings/tokens');
    expect(list.text).not.toContain('no csrf');
  });

  it('creates a token shown once, which works with the API, lists its last use, and revokes it (then 401)', async () => {
    const user = await createUser(server, uniqueName('tok'), ['repo', 'read:org']);
    const web = await signedIn(user.login, user.token);
    const form = await web.get('/settings/tokens');
    expect(form.status).toBe(200);
    // The session's token is listed, marked, and its value is nowhere on the page.
    expect(form.text).toContain('This session');
    expect(form.text).not.toContain(user.token);
    // Scopes the session's token lacks cannot be chosen.
    expect(form.text).toMatch(/name="scope_site_admin" value="1" disabled/);
    expect(form.text).not.toMatch(/name="scope_repo" value="1"[^>]*disabled/);

    const created = await web.post('/settings/tokens', { _csrf: WebClient.csrfOf(form), note: 'release bot', expires_in_days: '7', scope_repo: '1' });
    expect(created.status).toBe(201);
    const token = shownToken(created);
    expect(created.text).toContain("You won't be able to see it again");

    const me = await call('GET', `${server.api}/user`, { token });
    expect(me.status).toBe(200);
    expect(me.body.login).toBe(user.login);
    expect(me.headers.get('x-oauth-scopes')).toBe('repo');

    // Shown once: the list afterwards names it by its last eight characters, with its use.
    const list = await web.get('/settings/tokens');
    expect(list.text).not.toContain(token);
    expect(list.text).toContain(`…${token.slice(-8)}`);
    expect(list.text).toContain('release bot');
    const row = list.text.slice(list.text.indexOf('release bot'));
    expect(row.slice(0, row.indexOf('</li>'))).toContain('Last used');
    expect(row.slice(0, row.indexOf('</li>'))).toMatch(/Expires <time datetime="[^"]+"/);

    const id = /id="token-(\d+)"[\s\S]*?release bot/.exec(list.text.slice(list.text.lastIndexOf('id="token-', list.text.indexOf('release bot'))))?.[1];
    expect(id).toBeDefined();
    const revoked = await web.post(`/settings/tokens/${id}/delete`, { _csrf: WebClient.csrfOf(list) });
    expect(revoked.status).toBe(303);
    expect((await call('GET', `${server.api}/user`, { token })).status).toBe(401);
    // The session, signed in with another token, goes on.
    expect((await web.get('/settings/tokens')).status).toBe(200);

    const entries = await audit(`user:${user.login}`);
    const mine = entries.filter((e) => e.actor === user.login).map((e) => e.action);
    expect(mine).toEqual(expect.arrayContaining(['oauth_access.create', 'oauth_access.destroy']));
  });

  it('never issues scopes the session lacks, and keeps what was typed on refusal', async () => {
    const user = await createUser(server, uniqueName('narrow'), ['public_repo']);
    const web = await signedIn(user.login, user.token);
    const form = await web.get('/settings/tokens');
    for (const scope of ['repo', 'site_admin', 'admin:org']) {
      const res = await web.post('/settings/tokens', { _csrf: WebClient.csrfOf(form), note: 'wider <b>', expires_in_days: '30', [`scope_${scope}`]: '1' });
      expect(res.status, scope).toBe(422);
      expect(res.text).toContain('lacks');
      expect(res.text).toContain('value="wider &lt;b&gt;"');
      expect(res.text).not.toContain('id="new-token"');
    }
    const unknown = await web.post('/settings/tokens', { _csrf: WebClient.csrfOf(form), note: 'x', scope_bogus: '1' });
    expect(unknown.status).toBe(422);
    const noNote = await web.post('/settings/tokens', { _csrf: WebClient.csrfOf(form), note: '  ', scope_public_repo: '1' });
    expect(noNote.status).toBe(422);
    const fine = await web.post('/settings/tokens', { _csrf: WebClient.csrfOf(form), note: 'narrow', expires_in_days: '0', scope_public_repo: '1' });
    expect(fine.status).toBe(201);
    const me = await call('GET', `${server.api}/user`, { token: shownToken(fine) });
    expect(me.headers.get('x-oauth-scopes')).toBe('public_repo');
    // Only the narrow tokens exist.
    const listed = (await web.get('/settings/tokens')).text;
    expect(listed).toContain('Never expires');
    expect(listed.match(/class="token-row"/g)).toHaveLength(2);
  });

  it("answers 404 for another user's token and signs out when the session's own token is revoked", async () => {
    const alice = await createUser(server);
    const bob = await createUser(server);
    const bobWeb = await signedIn(bob.login, bob.token);
    const bobList = await bobWeb.get('/settings/tokens');
    const bobTokenId = /id="token-(\d+)"/.exec(bobList.text)![1]!;
    const aliceWeb = await signedIn(alice.login, alice.token);
    const aliceList = await aliceWeb.get('/settings/tokens');
    expect((await aliceWeb.post(`/settings/tokens/${bobTokenId}/delete`, { _csrf: WebClient.csrfOf(aliceList) })).status).toBe(404);
    expect((await call('GET', `${server.api}/user`, { token: bob.token })).status).toBe(200);

    const own = await bobWeb.post(`/settings/tokens/${bobTokenId}/delete`, { _csrf: WebClient.csrfOf(bobList) });
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toBe('/login');
    expect((await call('GET', `${server.api}/user`, { token: bob.token })).status).toBe(401);
    expect((await bobWeb.get('/settings/tokens')).status).toBe(303);
  });
});

describe('profile page', () => {
  it('updates name and e-mail (escaped, audited), refuses a malformed address, and signs out everywhere', async () => {
    const user = await createUser(server);
    const web = await signedIn(user.login, user.token);
    const other = await signedIn(user.login, user.token);
    const form = await web.get('/settings/profile');
    expect(form.status).toBe(200);
    expect(form.text).toContain(`value="${user.login}@example.com"`);

    const bad = await web.post('/settings/profile', { _csrf: WebClient.csrfOf(form), name: 'x', email: 'not an address' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('is not an e-mail address');

    const name = '<script>alert(1)</script> Ada';
    const ok = await web.post('/settings/profile', { _csrf: WebClient.csrfOf(form), name, email: 'ada@example.org' });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain('<script>alert(1)');
    expect(ok.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Ada');
    const api = await call('GET', `${server.api}/users/${user.login}`, { token: user.token });
    expect(api.body).toMatchObject({ name, email: 'ada@example.org' });
    expect((await audit(`action:user.update_profile user:${user.login}`)).length).toBe(1);

    const out = await web.post('/settings/sessions/delete', { _csrf: WebClient.csrfOf(ok) });
    expect(out.status).toBe(303);
    // Both browsers are signed out; the token itself still works.
    for (const client of [web, other]) expect((await client.get('/settings/profile')).status).toBe(303);
    expect((await call('GET', `${server.api}/user`, { token: user.token })).status).toBe(200);
    expect((await audit(`action:user.logout_everywhere user:${user.login}`))[0]).toMatchObject({ actor: user.login });
  });
});

describe('site administration pages', () => {
  it('are 404 to signed-in users who are not acting as site administrators, before any CSRF check', async () => {
    const user = await createUser(server);
    // A site administrator signed in with a token without `site_admin` acts as an ordinary user.
    const everyday = await call('POST', `${server.api}/admin/users/admin/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['repo'] } });
    expect(everyday.status).toBe(201);
    const visitors = [await signedIn(user.login, user.token), await signedIn('admin', everyday.body.token as string)];
    const anon = new WebClient(server.base);
    const pages = ['/site_admin', '/site_admin/users', '/site_admin/organizations', '/site_admin/repositories', '/site_admin/organizations/nope'];
    for (const web of visitors) {
      for (const path of pages) expect((await web.get(path, { accept: 'text/html' })).status, path).toBe(404);
      const csrf = WebClient.csrfOf(await web.get('/settings/profile'));
      for (const path of ['/site_admin/users', `/site_admin/users/${user.login}/suspend`, `/site_admin/users/${user.login}/delete`, '/site_admin/organizations']) {
        expect((await web.post(path, { login: 'x' })).status, path).toBe(404);
        expect((await web.post(path, { _csrf: csrf, login: 'x', confirm: user.login })).status, path).toBe(404);
      }
    }
    for (const path of pages) expect((await anon.get(path, { accept: 'text/html' })).status, path).toBe(303);
    // Nothing changed.
    expect((await call('GET', `${server.api}/user`, { token: user.token })).status).toBe(200);
    const web = await signedIn(user.login, user.token);
    expect((await web.get('/settings/profile')).text).not.toContain('/site_admin');
  });

  it('creates a user with a first token, suspends them (token and session stop at once) and unsuspends them', async () => {
    const web = await admin();
    const page = await web.get('/site_admin/users');
    expect(page.status).toBe(200);
    expect((await web.get('/settings/profile')).text).toContain('href="/site_admin/users"');
    // Without the CSRF token: refused, nothing created.
    const login = uniqueName('newbie');
    expect((await web.post('/site_admin/users', { login, token: '1', scopes: 'repo' })).status).toBe(403);
    expect((await call('GET', `${server.api}/users/${login}`, { token: ADMIN_TOKEN })).status).toBe(404);

    const created = await web.post('/site_admin/users', {
      _csrf: WebClient.csrfOf(page),
      login,
      email: `${login}@example.com`,
      name: '<img src=x onerror=alert(1)>',
      token: '1',
      scopes: 'repo, read:org',
    });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain('<img src=x');
    const token = shownToken(created);
    const me = await call('GET', `${server.api}/user`, { token });
    expect(me.status).toBe(200);
    expect(me.body.login).toBe(login);
    expect(me.headers.get('x-oauth-scopes')).toBe('repo, read:org');

    const taken = await web.post('/site_admin/users', { _csrf: WebClient.csrfOf(page), login, token: '1', scopes: 'repo' });
    expect(taken.status).toBe(422);
    expect(taken.text).toContain('already exists');
    const invalid = await web.post('/site_admin/users', { _csrf: WebClient.csrfOf(page), login: '-bad-', scopes: 'repo' });
    expect(invalid.status).toBe(422);
    const badScope = await web.post('/site_admin/users', { _csrf: WebClient.csrfOf(page), login: uniqueName('s'), token: '1', scopes: 'repo everything' });
    expect(badScope.status).toBe(422);
    expect(badScope.text).toContain('Unknown scope everything');

    const theirs = await signedIn(login, token);
    expect((await theirs.get('/settings/profile')).status).toBe(200);
    const suspended = await web.post(`/site_admin/users/${login}/suspend`, { _csrf: WebClient.csrfOf(page) });
    expect(suspended.status).toBe(303);
    expect((await call('GET', `${server.api}/user`, { token })).status).toBe(401);
    expect((await theirs.get('/settings/profile')).status).toBe(303);
    expect((await web.get('/site_admin/users')).text).toMatch(new RegExp(`id="user-${login}"[\\s\\S]*?Suspended`));
    expect((await web.post(`/site_admin/users/${login}/unsuspend`, { _csrf: WebClient.csrfOf(page) })).status).toBe(303);
    expect((await call('GET', `${server.api}/user`, { token })).status).toBe(200);

    // Another token for them (a lost token replaced).
    const again = await web.post(`/site_admin/users/${login}/tokens`, { _csrf: WebClient.csrfOf(page), scopes: 'repo' });
    expect(again.status).toBe(201);
    expect((await call('GET', `${server.api}/user`, { token: shownToken(again) })).body.login).toBe(login);

    const actions = (await audit(`user:${login}`)).filter((e) => e.actor === 'admin').map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.create', 'oauth_access.create', 'user.suspend', 'user.unsuspend']));
    // The administrator cannot suspend themselves from the page.
    expect((await web.post('/site_admin/users/admin/suspend', { _csrf: WebClient.csrfOf(page) })).status).toBe(422);
  });

  it('deletes a user only when confirmed, with their repositories', async () => {
    const web = await admin();
    const page = await web.get('/site_admin/users');
    const user = await createUser(server);
    const repo = await createRepo(server, user);
    expect((await web.post(`/site_admin/users/${user.login}/delete`, { _csrf: WebClient.csrfOf(page), confirm: 'someone-else' })).status).toBe(422);
    expect((await call('GET', `${server.api}/repos/${repo.full}`, { token: ADMIN_TOKEN })).status).toBe(200);
    const deleted = await web.post(`/site_admin/users/${user.login}/delete`, { _csrf: WebClient.csrfOf(page), confirm: user.login });
    expect(deleted.status).toBe(200);
    expect(deleted.text).toContain(`Deleted ${user.login} and 1 repository`);
    expect((await call('GET', `${server.api}/users/${user.login}`, { token: ADMIN_TOKEN })).status).toBe(404);
    expect((await call('GET', `${server.api}/repos/${repo.full}`, { token: ADMIN_TOKEN })).status).toBe(404);
    expect((await audit(`action:user.destroy user:${user.login}`))[0]).toMatchObject({ actor: 'admin' });
  });

  it('creates an organization, adds a member and makes them an owner who can create repositories there, and lists every repository', async () => {
    const web = await admin();
    const page = await web.get('/site_admin/organizations');
    expect(page.status).toBe(200);
    const owner: TestUser = await createUser(server);
    const member: TestUser = await createUser(server, uniqueName('member'), ['repo', 'read:org']);
    const org = uniqueName('org');
    const nobody = await web.post('/site_admin/organizations', { _csrf: WebClient.csrfOf(page), login: org, admin: 'no-such-user-here' });
    expect(nobody.status).toBe(422);
    expect(nobody.text).toContain('is not a user');
    const created = await web.post('/site_admin/organizations', { _csrf: WebClient.csrfOf(page), login: org, admin: owner.login, name: 'The Org' });
    expect(created.status).toBe(303);
    expect(created.headers.get('location')).toBe(`/site_admin/organizations/${org}`);
    const orgPage = await web.get(`/site_admin/organizations/${org}`);
    expect(orgPage.text).toContain(owner.login);
    expect(orgPage.text).toContain('Owner');

    // Not a member yet: the organization's repositories are none of their business.
    expect((await call('POST', `${server.api}/orgs/${org}/repos`, { token: member.token, body: { name: 'tool' } })).status).toBe(404);
    const unknown = await web.post(`/site_admin/organizations/${org}/members`, { _csrf: WebClient.csrfOf(orgPage), login: 'no-such-user-here', role: 'member' });
    expect(unknown.status).toBe(422);
    const added = await web.post(`/site_admin/organizations/${org}/members`, { _csrf: WebClient.csrfOf(orgPage), login: member.login, role: 'member' });
    expect(added.status).toBe(303);
    expect((await web.get(`/site_admin/organizations/${org}`)).text).toContain(member.login);
    expect((await audit(`action:org.add_member user:${member.login}`))[0]).toMatchObject({ actor: 'admin', org });
    // A member may not create repositories there; an owner may.
    expect((await call('POST', `${server.api}/orgs/${org}/repos`, { token: member.token, body: { name: 'tool' } })).status).toBe(403);
    const promoted = await web.post(`/site_admin/organizations/${org}/members`, { _csrf: WebClient.csrfOf(orgPage), login: member.login, role: 'admin' });
    expect(promoted.status).toBe(303);
    expect((await audit(`action:org.update_member user:${member.login}`))[0]).toMatchObject({ actor: 'admin', org });
    const repo = await call('POST', `${server.api}/orgs/${org}/repos`, { token: member.token, body: { name: 'tool', private: true } });
    expect(repo.status).toBe(201);

    const listed = await web.get('/site_admin/repositories');
    expect(listed.status).toBe(200);
    expect(listed.text).toContain(`href="/${org}/tool"`);
    expect(listed.text).toMatch(new RegExp(`${org}/tool</strong></a> <span class="badge">Private</span>`));
    expect((await web.get('/site_admin/organizations')).text).toContain(`href="/site_admin/organizations/${org}"`);
  });
});
