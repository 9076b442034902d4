/**
 * `/{owner}/{repo}/settings` over plain HTTP on a real server: who may see it (repository admins
 * only; 404 for everyone else, before any CSRF or form check), and that every form is the API's
 * service underneath: the API sees each change, and the API's refusals are shown beside the form
 * with the status the API answers. Hostile descriptions and names come back as text. A pull
 * mirror's settings work as any repository's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertMirror } from '../../src/db/repos/mirrors-repo.ts';
import { isoSeconds } from '../../src/util/time.ts';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { WebClient, type PageResult } from './web-client.ts';

const HOSTILE = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;

let server: TestServer;
let alice: TestUser;
let maintainer: TestUser;
let reader: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server);
  maintainer = await createUser(server);
  reader = await createUser(server);
  stranger = await createUser(server);
});
afterAll(() => server?.close());

async function signedIn(user: TestUser): Promise<WebClient> {
  const web = new WebClient(server.base);
  await web.signIn(user.login, user.token);
  return web;
}

/** Posts a settings form with the CSRF token of the settings page. */
async function submit(web: WebClient, full: string, path: string, fields: Record<string, string>): Promise<PageResult> {
  const page = await web.get(`/${full}/settings`);
  expect(page.status).toBe(200);
  return web.post(`/${full}/settings${path}`, { _csrf: WebClient.csrfOf(page), ...fields });
}

async function permissionOf(full: string, user: TestUser): Promise<string> {
  const res = await call('GET', `${server.api}/repos/${full}/collaborators/${user.login}/permission`, { token: alice.token });
  expect(res.status).toBe(200);
  return res.body.permission as string;
}

describe('repository settings over HTTP', () => {
  it('are 404 to everyone but repository admins, on the page and every form, before any CSRF check', async () => {
    const pub = await createRepo(server, alice, { description: 'untouched' });
    const priv = await createRepo(server, alice, { private: true });
    for (const r of [pub, priv]) {
      await addCollaborator(server, alice, r.name, maintainer, 'maintain');
      await addCollaborator(server, alice, r.name, reader, 'pull');
    }
    const admin = await signedIn(alice);
    // The admin sees the Settings tab; nobody else does.
    expect((await admin.get(`/${pub.full}`)).text).toContain(`href="/${pub.full}/settings"`);
    const visitors = [await signedIn(maintainer), await signedIn(reader), await signedIn(stranger), new WebClient(server.base)];
    for (const web of visitors.slice(0, 3)) expect((await web.get(`/${pub.full}`)).text).not.toContain(`/${pub.full}/settings`);

    for (const r of [pub, priv]) {
      const s = `/${r.full}/settings`;
      for (const web of visitors) {
        const page = await web.get(s, { accept: 'text/html' });
        expect(page.status, `GET ${s}`).toBe(404);
        expect(page.text).not.toContain('data-login=');
        const csrf: Record<string, string> = web.cookies.size ? { _csrf: WebClient.csrfOf(await web.get('/')) } : {};
        for (const [path, fields] of [
          [s, { description: 'defaced' }],
          [`${s}/visibility`, { visibility: 'public', confirm: r.full }],
          [`${s}/immutable_releases`, { enabled: '1' }],
          [`${s}/collaborators`, { login: stranger.login, permission: 'admin' }],
          [`${s}/collaborators/${reader.login}`, { permission: 'admin' }],
          [`${s}/collaborators/${reader.login}/delete`, {}],
        ] as const) {
          expect((await web.post(path, { ...csrf, ...fields })).status, `POST ${path}`).toBe(404);
        }
      }
      // Nothing changed.
      const api = await call('GET', `${server.api}/repos/${r.full}`, { token: alice.token });
      expect(api.body.description).toBe(r === pub ? 'untouched' : null);
      expect(api.body.private).toBe(r === priv);
      expect(await permissionOf(r.full, reader)).toBe('read');
      expect((await call('GET', `${server.api}/repos/${r.full}/collaborators/${stranger.login}`, { token: alice.token })).status).toBe(404);
    }
    // The admin without the CSRF token: refused.
    expect((await admin.post(`/${pub.full}/settings/collaborators/${reader.login}/delete`, {})).status).toBe(403);
    expect(await permissionOf(pub.full, reader)).toBe('read');
  });

  it('changes the description, immutable releases and collaborators through the API services, with their refusals beside the forms', async () => {
    const r = await createRepo(server, alice);
    const admin = await signedIn(alice);
    const page = await admin.get(`/${r.full}/settings`);
    expect(page.text).toContain(`aria-label="Settings"`);
    expect(page.text).toContain(`href="/${r.full}/settings/hooks"`);
    expect(page.text).toContain(`href="/${r.full}/settings/mirror"`);

    const saved = await submit(admin, r.full, '', { description: HOSTILE });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/${r.full}/settings?done=general`);
    expect((await call('GET', `${server.api}/repos/${r.full}`, { token: alice.token })).body.description).toBe(HOSTILE);
    const shown = await admin.get(`/${r.full}/settings?done=general`);
    expect(shown.text).toContain('Settings saved.');
    expect(shown.text).not.toContain('<script>window.__xss');
    expect(shown.text).toContain('value="&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');
    expect((await submit(admin, r.full, '', { description: '' })).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}`, { token: alice.token })).body.description).toBeNull();

    expect((await submit(admin, r.full, '/immutable_releases', { enabled: '1' })).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}/immutable-releases`, { token: alice.token, skipSchema: true })).body).toEqual({
      enabled: true,
      enforced_by_owner: false,
    });
    expect((await admin.get(`/${r.full}/settings`)).text).toMatch(/name="enabled" value="1" checked>/);
    expect((await submit(admin, r.full, '/immutable_releases', {})).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}/immutable-releases`, { token: alice.token, skipSchema: true })).status).toBe(404);

    // Collaborators: the API's refusals, then an addition, a change and a removal.
    const unknown = await submit(admin, r.full, '/collaborators', { login: 'nobody-here-at-all', permission: 'push' });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('There is no user named nobody-here-at-all.');
    expect(unknown.text).toContain('value="nobody-here-at-all"');
    const badRole = await submit(admin, r.full, '/collaborators', { login: reader.login, permission: 'owner' });
    expect(badRole.status).toBe(422);
    expect(badRole.text).toContain('permission invalid');
    const owner = await submit(admin, r.full, '/collaborators', { login: alice.login, permission: 'admin' });
    expect(owner.status).toBe(422);
    expect(owner.text).toContain('Repository owner cannot be a collaborator');
    expect((await call('GET', `${server.api}/repos/${r.full}/collaborators/${reader.login}`, { token: alice.token })).status).toBe(404);

    // A hostile display name is text on the page.
    const readerWeb = await signedIn(reader);
    const profile = await readerWeb.get('/settings/profile');
    const named = await readerWeb.post('/settings/profile', { _csrf: WebClient.csrfOf(profile), name: HOSTILE, email: `${reader.login}@example.com` });
    expect(named.status).toBeLessThan(400);
    const added = await submit(admin, r.full, '/collaborators', { login: reader.login.toUpperCase(), permission: 'triage' });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe(`/${r.full}/settings?done=added`);
    expect(await permissionOf(r.full, reader)).toBe('read'); // GitHub's permission field: triage reads as read
    const role = await call('GET', `${server.api}/repos/${r.full}/collaborators/${reader.login}/permission`, { token: alice.token });
    expect(role.body.role_name).toBe('triage');
    const listed = await admin.get(`/${r.full}/settings?done=added`);
    expect(listed.text).toContain('Collaborator added.');
    expect(listed.text).toContain(`data-login="${reader.login}"`);
    expect(listed.text).toContain('<option value="triage" selected>');
    expect(listed.text).not.toContain('<img src=x');
    expect(listed.text).toContain('&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;');

    expect((await submit(admin, r.full, `/collaborators/${reader.login}`, { permission: 'maintain' })).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}/collaborators/${reader.login}/permission`, { token: alice.token })).body.role_name).toBe('maintain');
    const removed = await submit(admin, r.full, `/collaborators/${reader.login}/delete`, {});
    expect(removed.headers.get('location')).toBe(`/${r.full}/settings?done=removed`);
    expect((await call('GET', `${server.api}/repos/${r.full}/collaborators/${reader.login}`, { token: alice.token })).status).toBe(404);

    // Each change is in the audit log as the API's would be.
    const audit = await call('GET', `${server.api}/enterprises/wharf/audit-log?phrase=${encodeURIComponent(`repo:${r.full}`)}&per_page=100`, { token: ADMIN_TOKEN });
    expect(audit.status).toBe(200);
    const entries = audit.body as Array<{ action: string; actor: string }>;
    expect(entries.filter((e) => e.action.endsWith('_member')).map((e) => [e.action, e.actor])).toEqual(
      expect.arrayContaining([
        ['repo.add_member', alice.login],
        ['repo.update_member', alice.login],
        ['repo.remove_member', alice.login],
      ]),
    );
  });

  it('changes the visibility only when the repository is named, and private means 404 at once', async () => {
    const r = await createRepo(server, alice);
    const admin = await signedIn(alice);
    const unconfirmed = await submit(admin, r.full, '/visibility', { visibility: 'private', confirm: 'wrong' });
    expect(unconfirmed.status).toBe(422);
    expect(unconfirmed.text).toContain(`Type ${r.full} to confirm the change.`);
    expect((await call('GET', `${server.api}/repos/${r.full}`, {})).status).toBe(200);

    expect((await submit(admin, r.full, '/visibility', { visibility: 'private', confirm: r.full })).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}`, {})).status).toBe(404);
    expect((await new WebClient(server.base).get(`/${r.full}`, { accept: 'text/html' })).status).toBe(404);
    const page = await admin.get(`/${r.full}/settings?done=visibility`);
    expect(page.text).toContain('Visibility changed.');
    expect(page.text).toContain('This repository is <strong>private</strong>');
    expect(page.text).toContain('Make public');

    const bad = await submit(admin, r.full, '/visibility', { visibility: 'secret', confirm: r.full });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('visibility invalid');
    expect((await submit(admin, r.full, '/visibility', { visibility: 'public', confirm: r.full })).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}`, {})).body.visibility).toBe('public');
  });

  it('work on a pull mirror, whose releases stay read-only', async () => {
    const r = await createRepo(server, alice);
    const now = isoSeconds();
    await insertMirror(server.wharf.ctx.db, {
      repository_id: r.json.id as number,
      upstream_url: 'https://upstream.invalid/o/r',
      kind: 'github',
      token_sealed: null,
      schedule_ms: 3_600_000,
      tag_glob: null,
      last_n: null,
      asset_glob: null,
      prune: 0,
      created_by: alice.id,
      created_at: now,
      updated_at: now,
      // Never due while the test runs: the upstream does not exist.
      next_sync_ms: Date.now() + 86_400_000,
      last_started_at: null,
      last_finished_at: null,
      last_status: null,
      last_error: null,
      last_summary: null,
    });
    const write = await call('POST', `${server.api}/repos/${r.full}/releases`, { token: alice.token, body: { tag_name: 'v1' } });
    expect(write.status).toBe(403);
    const admin = await signedIn(alice);
    expect((await admin.get(`/${r.full}/settings`)).status).toBe(200);
    expect((await submit(admin, r.full, '', { description: 'A mirror' })).status).toBe(303);
    expect((await submit(admin, r.full, '/collaborators', { login: reader.login, permission: 'pull' })).status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${r.full}`, { token: alice.token })).body.description).toBe('A mirror');
    expect(await permissionOf(r.full, reader)).toBe('read');
  });
});
