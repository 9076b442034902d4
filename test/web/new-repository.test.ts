/**
 * `/new` on a real server: a repository created from the browser goes through the API's service
 * (its visibility, the organizations the user administers as owners, the API's refusals shown
 * beside the form), with the session's CSRF token; anonymous visitors are sent to sign in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addOrganizationMember, getOrganization } from '../../src/services/site-admin.ts';
import { call } from '../support/http.ts';
import { createUser, uniqueName } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { WebClient } from './web-client.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

describe('/new', () => {
  it('creates a private repository for the user and one for an organization they administer, and refuses others', async () => {
    const alice = await createUser(server);
    const bob = await createUser(server);
    const owned = uniqueName('org');
    const joined = uniqueName('org');
    for (const [org, admin] of [
      [owned, alice.login],
      [joined, bob.login],
    ]) {
      expect((await call('POST', `${server.api}/admin/organizations`, { token: ADMIN_TOKEN, body: { login: org, admin } })).status).toBe(201);
    }
    const ctx = server.wharf.ctx;
    await addOrganizationMember(ctx, await getOrganization(ctx, joined), alice.login, 'member', { id: null, login: 'test', ip: null });

    const anon = await new WebClient(server.base).get('/new', { accept: 'text/html' });
    expect(anon.status).toBe(303);
    expect(anon.headers.get('location')).toBe('/login?return_to=%2Fnew');

    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const form = await web.get('/new');
    expect(form.status).toBe(200);
    expect(form.text).toContain(`<option value="${alice.login}" selected>`);
    expect(form.text).toContain(`<option value="${owned}">`);
    expect(form.text).not.toContain(`<option value="${joined}">`);
    const csrf = WebClient.csrfOf(form);

    expect((await web.post('/new', { owner: alice.login, name: 'no-csrf' })).status).toBe(403);
    const made = await web.post('/new', { _csrf: csrf, owner: alice.login, name: 'tool', description: '<b>A tool</b>', visibility: 'private' });
    expect(made.status).toBe(303);
    expect(made.headers.get('location')).toBe(`/${alice.login}/tool`);
    const api = await call('GET', `${server.api}/repos/${alice.login}/tool`, { token: alice.token });
    expect(api.body).toMatchObject({ private: true, visibility: 'private', description: '<b>A tool</b>' });
    expect((await call('GET', `${server.api}/repos/${alice.login}/tool`, {})).status).toBe(404);

    const again = await web.post('/new', { _csrf: csrf, owner: alice.login, name: 'tool', description: '<script>x</script>' });
    expect(again.status).toBe(422);
    expect(again.text).toContain('name already exists on this account');
    expect(again.text).not.toContain('<script>x');

    const forOrg = await web.post('/new', { _csrf: csrf, owner: owned, name: 'shared', visibility: 'public' });
    expect(forOrg.status).toBe(303);
    expect((await call('GET', `${server.api}/repos/${owned}/shared`, {})).body).toMatchObject({ private: false, owner: { login: owned } });
    const member = await web.post('/new', { _csrf: csrf, owner: joined, name: 'nope' });
    expect(member.status).toBe(403);
    const stranger = await web.post('/new', { _csrf: csrf, owner: bob.login, name: 'nope' });
    expect(stranger.status).toBe(404);
    expect((await call('GET', `${server.api}/repos/${bob.login}/nope`, { token: ADMIN_TOKEN })).status).toBe(404);
  });
});
