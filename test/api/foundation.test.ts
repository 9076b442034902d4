import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { assertMatchesOpenApi } from '../support/openapi.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server, uniqueName('alice'));
  bob = await createUser(server, uniqueName('bob'));
});
afterAll(() => server.close());

describe('API root and users', () => {
  it('answers the root with X-OAuth-Scopes for gh auth', async () => {
    const res = await call('GET', `${server.api}/`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-oauth-scopes')).toBe('repo, read:org');
    expect(res.body.current_user_url).toBe(`${server.api}/user`);
    const bare = await call('GET', server.api, {});
    expect(bare.status).toBe(200);
  });

  it('returns the authenticated user and public users in GitHub shapes', async () => {
    const me = await call('GET', `${server.api}/user`, { token: alice.token });
    expect(me.status).toBe(200);
    expect(me.body.login).toBe(alice.login);
    expect(me.body.site_admin).toBe(false);
    const other = await call('GET', `${server.api}/users/${alice.login.toUpperCase()}`, {});
    expect(other.status).toBe(200);
    expect(other.body.login).toBe(alice.login);
    expect(other.body.html_url).toBe(`${server.base}/${alice.login}`);
    expectGitHubError(await call('GET', `${server.api}/users/nobody-here-x`, {}), 404, 'Not Found');
  });

  it('rejects missing and bad credentials with 401', async () => {
    expectGitHubError(await call('GET', `${server.api}/user`, {}), 401, 'Requires authentication');
    const bad = await call('GET', `${server.api}/user`, { token: 'wharf_nope' });
    expectGitHubError(bad, 401, 'Bad credentials');
    const basic = await call('GET', `${server.api}/user`, { headers: { authorization: `Basic ${Buffer.from(`x:${alice.token}`).toString('base64')}` } });
    expect(basic.status).toBe(200);
    const bearer = await call('GET', `${server.api}/user`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(bearer.body.login).toBe(alice.login);
  });

  it('lets only site admins create users, tokens and organizations', async () => {
    expectGitHubError(await call('POST', `${server.api}/admin/users`, { token: alice.token, body: { login: 'mallory' } }), 403);
    const dup = await call('POST', `${server.api}/admin/users`, { token: ADMIN_TOKEN, body: { login: alice.login.toUpperCase() } });
    expect(expectGitHubError(dup, 422, 'Validation Failed').errors[0]).toMatchObject({ field: 'login', code: 'already_exists' });
    for (const login of ['', '-x', 'a--b', 'x'.repeat(40), '../x']) {
      expectGitHubError(await call('POST', `${server.api}/admin/users`, { token: ADMIN_TOKEN, body: { login } }), 422);
    }
    expectGitHubError(await call('POST', `${server.api}/admin/users`, { token: ADMIN_TOKEN, body: { login: 42 } }), 422, /^Invalid request/);
    const tok = await call('POST', `${server.api}/admin/users/${bob.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['public_repo'] } });
    expect(tok.status).toBe(201);
    expect(tok.body.token).toMatch(/^wharf_/);
    expect(tok.body.scopes).toEqual(['public_repo']);
    const org = await call('POST', `${server.api}/admin/organizations`, { token: ADMIN_TOKEN, body: { login: uniqueName('org'), admin: alice.login } });
    expect(org.status).toBe(201);
    const orgRepo = await call('POST', `${server.api}/orgs/${org.body.login}/repos`, { token: alice.token, body: { name: 'tools' } });
    expect(orgRepo.status).toBe(201);
    expect(orgRepo.body.full_name).toBe(`${org.body.login}/tools`);
    expectGitHubError(await call('POST', `${server.api}/orgs/${org.body.login}/repos`, { token: bob.token, body: { name: 'x' } }), 404);
  });

  it('stores tokens only as hashes', async () => {
    const rows = await server.wharf.ctx.db.selectFrom('tokens').selectAll().execute();
    for (const row of rows) {
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(alice.token);
    }
  });

  it("records a token's last use, at most once a minute", async () => {
    // The test moves last_used_at in the database behind the server's back, which a remembered
    // principal would not see (its lifetime bounds the lag): this server looks callers up afresh.
    const server = await startServer({ env: { WHARF_PRINCIPAL_CACHE_TTL_MS: '0' } });
    onTestFinished(() => server.close());
    const db = server.wharf.ctx.db;
    const carol = await createUser(server, uniqueName('carol'));
    const lastUsed = async () => (await db.selectFrom('tokens').select('last_used_at').where('user_id', '=', carol.id).executeTakeFirstOrThrow()).last_used_at;
    expect(await lastUsed()).toBeNull();
    const before = Date.now() - 1000;
    expect((await call('GET', `${server.api}/user`, { token: carol.token })).status).toBe(200);
    const first = await lastUsed();
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(first!)).toBeGreaterThanOrEqual(before - (before % 1000));
    // Used again within the minute: no write per request.
    const recent = new Date(Date.now() - 30_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await db.updateTable('tokens').set({ last_used_at: recent }).where('user_id', '=', carol.id).execute();
    expect((await call('GET', `${server.api}/user`, { token: carol.token })).status).toBe(200);
    expect(await lastUsed()).toBe(recent);
    // Once the recorded use is over a minute old, the next request records it again.
    await db.updateTable('tokens').set({ last_used_at: '2020-01-01T00:00:00Z' }).where('user_id', '=', carol.id).execute();
    expect((await call('GET', `${server.api}/user`, { token: carol.token })).status).toBe(200);
    expect(Date.parse((await lastUsed())!)).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe('repositories', () => {
  it('creates, reads (case-insensitively), updates and deletes a repository', async () => {
    const { name } = await createRepo(server, alice, { description: 'tools', auto_init: true });
    const got = await call('GET', `${server.api}/repos/${alice.login.toUpperCase()}/${name.toUpperCase()}`, { token: alice.token });
    expect(got.status).toBe(200);
    expect(got.body.name).toBe(name);
    expect(got.body.default_branch).toBe('main');
    expect(got.body.permissions).toEqual({ admin: true, maintain: true, push: true, triage: true, pull: true });
    expect(got.body.clone_url).toBe(`${server.base}/${alice.login}/${name}.git`);
    const patched = await call('PATCH', `${server.api}/repos/${alice.login}/${name}`, { token: alice.token, body: { description: 'new', private: true } });
    expect(patched.status).toBe(200);
    expect(patched.body.private).toBe(true);
    expectGitHubError(await call('GET', `${server.api}/repos/${alice.login}/${name}`, {}), 404, 'Not Found');
    expectGitHubError(await call('PATCH', `${server.api}/repos/${alice.login}/${name}`, { token: bob.token, body: { description: 'x' } }), 404);
    expectGitHubError(await call('DELETE', `${server.api}/repos/${alice.login}/${name}`, { token: alice.token }), 403, /delete_repo/);
    const deleter = await call('POST', `${server.api}/admin/users/${alice.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['repo', 'delete_repo'] } });
    const del = await call('DELETE', `${server.api}/repos/${alice.login}/${name}`, { token: deleter.body.token });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectGitHubError(await call('GET', `${server.api}/repos/${alice.login}/${name}`, { token: alice.token }), 404);
  });

  it('rejects invalid names, duplicates, wrong types and bad JSON without leaving anything behind', async () => {
    for (const bad of ['../x', '', 'a b', 'x'.repeat(101), '.', '..', 'foo.git']) {
      const res = await call('POST', `${server.api}/user/repos`, { token: alice.token, body: { name: bad } });
      expectGitHubError(res, 422, 'Validation Failed');
    }
    const { name } = await createRepo(server, alice);
    const dup = await call('POST', `${server.api}/user/repos`, { token: alice.token, body: { name: name.toUpperCase() } });
    expect(expectGitHubError(dup, 422).errors[0]).toMatchObject({ resource: 'Repository', field: 'name' });
    expectGitHubError(await call('POST', `${server.api}/user/repos`, { token: alice.token, body: { name: 'ok', private: 'yes' } }), 422);
    expectGitHubError(
      await call('POST', `${server.api}/user/repos`, { token: alice.token, raw: '{"name":', headers: { 'content-type': 'application/json' } }),
      400,
      'Problems parsing JSON',
    );
    expectGitHubError(
      await call('POST', `${server.api}/user/repos`, { token: alice.token, raw: '[1]', headers: { 'content-type': 'application/json' } }),
      400,
      'Body should be a JSON object',
    );
    expectGitHubError(await call('POST', `${server.api}/user/repos`, { body: { name: 'anon' } }), 401);
    const list = await call('GET', `${server.api}/users/${alice.login}/repos?per_page=100`, {});
    expect(list.body.map((r: { name: string }) => r.name)).not.toContain('ok');
  });

  it('hides private repositories from everyone without access, and shows them to collaborators', async () => {
    const { name } = await createRepo(server, alice, { private: true, auto_init: true });
    expectGitHubError(await call('GET', `${server.api}/repos/${alice.login}/${name}`, { token: bob.token }), 404);
    expectGitHubError(await call('GET', `${server.api}/repos/${alice.login}/${name}/tags`, {}), 404);
    const listAnon = await call('GET', `${server.api}/users/${alice.login}/repos`, {});
    expect(listAnon.body.map((r: { name: string }) => r.name)).not.toContain(name);
    await addCollaborator(server, alice, name, bob, 'pull');
    const seen = await call('GET', `${server.api}/repos/${alice.login}/${name}`, { token: bob.token });
    expect(seen.status).toBe(200);
    expect(seen.body.permissions.push).toBe(false);
    // Checking collaborators needs push access (GitHub's description); bob only reads.
    expect((await call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators/${bob.login}`, { token: bob.token })).status).toBe(404);
    expect((await call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators/${bob.login}`, { token: alice.token })).status).toBe(204);
    expect((await call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators/nobody`, { token: alice.token })).status).toBe(404);
    const mine = await call('GET', `${server.api}/user/repos`, { token: bob.token });
    expect(mine.body.map((r: { name: string }) => r.name)).toContain(name);
    // A token without the repo scope cannot see private repositories.
    const narrow = await call('POST', `${server.api}/admin/users/${bob.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['public_repo'] } });
    expectGitHubError(await call('GET', `${server.api}/repos/${alice.login}/${name}`, { token: narrow.body.token }), 404);
  });

  it('checks collaborators only for callers with push access, and lets a collaborator leave', async () => {
    const { name } = await createRepo(server, alice, { auto_init: true });
    const reader = await createUser(server, uniqueName('reader'));
    const writer = await createUser(server, uniqueName('writer'));
    await addCollaborator(server, alice, name, reader, 'pull');
    await addCollaborator(server, alice, name, writer, 'maintain');
    const check = (login: string, token?: string) => call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators/${login}`, { token });
    // A public repository: anonymous callers are asked to authenticate, readers learn nothing.
    expectGitHubError(await check(reader.login), 401);
    expectGitHubError(await check(reader.login, reader.token), 404);
    expectGitHubError(await check(alice.login, bob.token), 404);
    expect((await check(reader.login, writer.token)).status).toBe(204);
    expect((await check(alice.login, writer.token)).status).toBe(204);
    expectGitHubError(await check(bob.login, writer.token), 404);
    // The listing needs push access too.
    expectGitHubError(
      await call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators`, { token: reader.token }),
      403,
      'Must have push access to view repository collaborators.',
    );
    // A user's permission: maintain counts as write in the legacy field.
    const perm = await call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators/${writer.login}/permission`, { token: reader.token });
    expect(perm.status).toBe(200);
    expect([perm.body.permission, perm.body.role_name]).toEqual(['write', 'maintain']);
    const readerPerm = await call('GET', `${server.api}/repos/${alice.login}/${name}/collaborators/${reader.login}/permission`, { token: reader.token });
    expect([readerPerm.body.permission, readerPerm.body.role_name]).toEqual(['read', 'read']);
    // A collaborator may remove themselves, not others; an administrator anyone.
    expectGitHubError(await call('DELETE', `${server.api}/repos/${alice.login}/${name}/collaborators/${writer.login}`, { token: reader.token }), 403);
    expect((await call('DELETE', `${server.api}/repos/${alice.login}/${name}/collaborators/${reader.login}`, { token: reader.token })).status).toBe(204);
    expectGitHubError(await check(reader.login, writer.token), 404);
    expect((await call('DELETE', `${server.api}/repos/${alice.login}/${name}/collaborators/${writer.login}`, { token: alice.token })).status).toBe(204);
  });

  it('paginates with a GitHub Link header', async () => {
    const owner = await createUser(server, uniqueName('pager'));
    for (let i = 0; i < 5; i++) await createRepo(server, owner, { name: `r${i}` });
    const page2 = await call('GET', `${server.api}/users/${owner.login}/repos?per_page=2&page=2`, {});
    expect(page2.body.map((r: { name: string }) => r.name)).toEqual(['r2', 'r3']);
    const base = `${server.api}/users/${owner.login}/repos?per_page=2`;
    expect(page2.headers.get('link')).toBe(`<${base}&page=1>; rel="prev", <${base}&page=3>; rel="next", <${base}&page=3>; rel="last", <${base}&page=1>; rel="first"`);
    const all = await call('GET', `${server.api}/users/${owner.login}/repos?per_page=1000`, {});
    expect(all.body).toHaveLength(5);
    expect(all.headers.get('link')).toBeNull();
    const junk = await call('GET', `${server.api}/users/${owner.login}/repos?per_page=abc&page=-4`, {});
    expect(junk.status).toBe(200);
    expect(junk.body).toHaveLength(5);
  });

  it('answers ETag and 304, and checks X-GitHub-Api-Version', async () => {
    const first = await call('GET', `${server.api}/users/${alice.login}`, {});
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const again = await call('GET', `${server.api}/users/${alice.login}`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect((await call('GET', `${server.api}/user`, { token: alice.token, headers: { 'x-github-api-version': '2022-11-28' } })).status).toBe(200);
    expectGitHubError(await call('GET', `${server.api}/user`, { token: alice.token, headers: { 'x-github-api-version': 'v3' } }), 400, /not a supported version/);
  });

  it('returns GitHub 404s for unknown routes and trailing slashes', async () => {
    expectGitHubError(await call('GET', `${server.api}/nope`, {}), 404, 'Not Found');
    expectGitHubError(await call('GET', `${server.api}/users/${alice.login}/`, {}), 404, 'Not Found');
    expect((await call('GET', `${server.base}/api/v3//users/${alice.login}`, {})).status).toBe(200);
  });
});

describe('git over smart HTTP', () => {
  it('clones public repositories anonymously and pushes only with push access', async () => {
    const { name, full } = await createRepo(server, alice);
    const work = await WorkRepo.create();
    const sha = await work.commit('first', { date: '2024-01-02T03:04:05Z' });
    await work.push(server, full, alice.token, 'main');
    await work.git('tag', 'v1.0.0');
    await work.push(server, full, alice.token, 'v1.0.0');
    await expect(work.push(server, full, bob.token, 'main:other')).rejects.toThrow();
    await expect(work.push(server, full, 'wharf_bad', 'main:other')).rejects.toThrow();

    const clone = await WorkRepo.create();
    await clone.git('fetch', '-q', `${server.base}/${full}.git`, 'refs/tags/v1.0.0:refs/tags/v1.0.0');
    expect(await clone.git('rev-parse', 'v1.0.0^{commit}')).toBe(sha);

    const tags = await call('GET', `${server.api}/repos/${full}/tags`, {});
    expect(tags.body).toEqual([expect.objectContaining({ name: 'v1.0.0', commit: expect.objectContaining({ sha }) })]);
    const branches = await call('GET', `${server.api}/repos/${full}/branches`, {});
    expect(branches.body[0]).toMatchObject({ name: 'main', commit: { sha } });
    const ref = await call('GET', `${server.api}/repos/${full}/git/ref/tags/v1.0.0`, {});
    expect(ref.body).toMatchObject({ ref: 'refs/tags/v1.0.0', object: { sha, type: 'commit' } });
    const matching = await call('GET', `${server.api}/repos/${full}/git/matching-refs/tags/v1`, {});
    expect(matching.body).toHaveLength(1);
    const commit = await call('GET', `${server.api}/repos/${full}/commits/v1.0.0`, {});
    expect(commit.body).toMatchObject({ sha, commit: { message: 'first', author: { date: '2024-01-02T03:04:05Z' } } });
    expectGitHubError(await call('GET', `${server.api}/repos/${full}/git/ref/tags/nope`, {}), 404);
    const repo = await call('GET', `${server.api}/repos/${full}`, {});
    expect(repo.body.name).toBe(name);
    expect(repo.body.pushed_at).not.toBeNull();
  });

  it('adopts the first pushed branch as default on an empty repository', async () => {
    const { full } = await createRepo(server, alice);
    const work = await WorkRepo.create();
    await work.git('checkout', '-q', '-b', 'trunk');
    await work.commit('one');
    await work.push(server, full, alice.token, 'trunk');
    const repo = await call('GET', `${server.api}/repos/${full}`, {});
    expect(repo.body.default_branch).toBe('trunk');
  });

  it('does not reveal private repositories over git', async () => {
    const { full } = await createRepo(server, alice, { private: true, auto_init: true });
    const anon = await fetch(`${server.base}/${full}.git/info/refs?service=git-upload-pack`);
    expect(anon.status).toBe(401);
    const missing = await fetch(`${server.base}/${alice.login}/does-not-exist.git/info/refs?service=git-upload-pack`);
    expect(missing.status).toBe(401);
    const auth = (t: string) => ({ authorization: `Basic ${Buffer.from(`x:${t}`).toString('base64')}` });
    expect((await fetch(`${server.base}/${full}.git/info/refs?service=git-upload-pack`, { headers: auth(bob.token) })).status).toBe(404);
    expect((await fetch(`${server.base}/${full}.git/info/refs?service=git-upload-pack`, { headers: auth(alice.token) })).status).toBe(200);
  });

  it('creates and deletes tags through the refs API', async () => {
    const { full } = await createRepo(server, alice, { auto_init: true });
    const head = await call('GET', `${server.api}/repos/${full}/branches`, {});
    const sha = head.body[0].commit.sha;
    const created = await call('POST', `${server.api}/repos/${full}/git/refs`, { token: alice.token, body: { ref: 'refs/tags/release/1.0', sha } });
    expect(created.status).toBe(201);
    expectGitHubError(await call('POST', `${server.api}/repos/${full}/git/refs`, { token: alice.token, body: { ref: 'refs/tags/release/1.0', sha } }), 422);
    expectGitHubError(await call('POST', `${server.api}/repos/${full}/git/refs`, { token: bob.token, body: { ref: 'refs/tags/x', sha } }), 403);
    const del = await call('DELETE', `${server.api}/repos/${full}/git/refs/tags/release/1.0`, { token: alice.token });
    expect(del.status).toBe(204);
    expectGitHubError(await call('DELETE', `${server.api}/repos/${full}/git/refs/tags/release/1.0`, { token: alice.token }), 422);
  });

  it('serves source archives with GitHub names', async () => {
    const { full, name } = await createRepo(server, alice, { auto_init: true });
    const res = await fetch(`${server.api}/repos/${full}/tarball/main`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename=${alice.login}-${name}-[0-9a-f]{7}\\.tar\\.gz$`));
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(20);
    const zip = await fetch(`${server.api}/repos/${full}/zipball/main`);
    expect(
      Buffer.from(await zip.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe('PK');
  });
});

describe('with Octokit', () => {
  it('drives users and repositories with an unmodified client', async () => {
    const octokit = new Octokit({ auth: alice.token, baseUrl: server.api });
    const me = await octokit.rest.users.getAuthenticated();
    assertMatchesOpenApi('GET', '/user', 200, me.data);
    expect(me.data.login).toBe(alice.login);
    const created = await octokit.rest.repos.createForAuthenticatedUser({ name: uniqueName('octo'), auto_init: true });
    assertMatchesOpenApi('POST', '/user/repos', 201, created.data);
    const got = await octokit.rest.repos.get({ owner: alice.login, repo: created.data.name });
    assertMatchesOpenApi('GET', `/repos/${alice.login}/${created.data.name}`, 200, got.data);
    const tags = await octokit.paginate(octokit.rest.repos.listForUser, { username: alice.login, per_page: 2 });
    expect(tags.length).toBeGreaterThan(2);
    await expect(octokit.rest.repos.get({ owner: alice.login, repo: 'missing-repo' })).rejects.toMatchObject({ status: 404 });
  });
});
