/**
 * Regression tests for the security review's findings: each reproduces the attack as the review
 * ran it (kept small) and checks that it now fails, and that the legitimate use still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

async function tokenFor(login: string, scopes: string[]): Promise<{ token: string; id: number }> {
  const res = await call('POST', `${server.api}/admin/users/${login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes } });
  expect(res.status).toBe(201);
  return res.body;
}

describe('finding 1: site administration needs the site_admin scope', () => {
  it("refuses an administrator's scopeless, public_repo or repo token on every admin route", async () => {
    const admin = server.config.adminLogin;
    const victim = await createUser(server, uniqueName('victim'));
    for (const scopes of [[], ['public_repo'], ['repo', 'read:org']]) {
      const { token } = await tokenFor(admin, scopes);
      const attempts = [
        await call('POST', `${server.api}/admin/users`, { token, body: { login: uniqueName('made') } }),
        await call('POST', `${server.api}/admin/users/${victim.login}/authorizations`, { token, body: { scopes: ['repo'] } }),
        await call('DELETE', `${server.api}/admin/users/${victim.login}/authorizations`, { token }),
        await call('POST', `${server.api}/admin/organizations`, { token, body: { login: uniqueName('org'), admin } }),
      ];
      for (const res of attempts) {
        expectGitHubError(res, 403, /site_admin/);
        expect(res.headers.get('x-accepted-oauth-scopes')).toBe('site_admin');
      }
    }
    // The victim's token was not revoked by the refused DELETE, and the real admin token works.
    expect((await call('GET', `${server.api}/user`, { token: victim.token })).status).toBe(200);
    expect((await call('POST', `${server.api}/admin/users`, { token: ADMIN_TOKEN, body: { login: uniqueName('made') } })).status).toBe(201);
  });

  it("gives an administrator's token without site_admin no reach into others' private repositories", async () => {
    const owner = await createUser(server, uniqueName('owner'));
    const priv = await createRepo(server, owner, { private: true });
    const { token } = await tokenFor(server.config.adminLogin, ['repo']);
    expectGitHubError(await call('GET', `${server.api}/repos/${priv.full}`, { token }), 404);
    expect((await call('GET', `${server.api}/repos/${priv.full}`, { token: ADMIN_TOKEN })).status).toBe(200);
  });
});

describe('finding 10: scopes are enforced on writes', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createUser(server, uniqueName('scoped'));
  });

  it('a scopeless or public_repo token cannot create a private repository', async () => {
    for (const scopes of [[], ['public_repo']]) {
      const { token } = await tokenFor(user.login, scopes);
      const name = uniqueName('sneaky');
      expectGitHubError(await call('POST', `${server.api}/user/repos`, { token, body: { name, private: true } }), 403);
      expectGitHubError(await call('GET', `${server.api}/repos/${user.login}/${name}`, { token: user.token }), 404);
    }
    const { token: none } = await tokenFor(user.login, []);
    expectGitHubError(await call('POST', `${server.api}/user/repos`, { token: none, body: { name: uniqueName('pub') } }), 403);
    const { token: pub } = await tokenFor(user.login, ['public_repo']);
    const made = await call('POST', `${server.api}/user/repos`, { token: pub, body: { name: uniqueName('pub') } });
    expect(made.status).toBe(201);
    // …and cannot then make it private, out of its own reach.
    expectGitHubError(await call('PATCH', `${server.api}/repos/${made.body.full_name}`, { token: pub, body: { private: true } }), 403);
    expect((await call('GET', `${server.api}/repos/${made.body.full_name}`, { token: pub })).body.private).toBe(false);
  });

  it('a weaker token cannot revoke a sibling repo token; a token may revoke itself', async () => {
    const strong = await tokenFor(user.login, ['repo']);
    for (const scopes of [[], ['public_repo']]) {
      const weak = await tokenFor(user.login, scopes);
      expectGitHubError(await call('DELETE', `${server.api}/authorizations/${strong.id}`, { token: weak.token }), 403);
      expect((await call('GET', `${server.api}/repos/${user.login}/nothing`, { token: strong.token })).status).toBe(404);
      expect((await call('DELETE', `${server.api}/authorizations/${weak.id}`, { token: weak.token })).status).toBe(204);
      expectGitHubError(await call('GET', `${server.api}/user`, { token: weak.token }), 401);
    }
    expect((await call('GET', `${server.api}/user`, { token: strong.token })).status).toBe(200);
  });

  it('deleting a repository needs delete_repo, site administrators included', async () => {
    const { token } = await tokenFor(server.config.adminLogin, ['repo', 'site_admin']);
    const repo = await createRepo(server, user);
    expectGitHubError(await call('DELETE', `${server.api}/repos/${repo.full}`, { token }), 403, /delete_repo/);
    expect((await call('GET', `${server.api}/repos/${repo.full}`, { token: user.token })).status).toBe(200);
  });
});

describe('finding 12: e-mail addresses and suspension stay private', () => {
  it('shows an address only to its owner and site administrators, suspended_at only to the latter', async () => {
    const login = uniqueName('mail');
    const subject = await createUser(server, login, ['repo', 'read:org'], `${login}@secret.example`);
    const stranger = await createUser(server, uniqueName('stranger'));
    const url = `${server.api}/users/${login}`;
    expect((await call('GET', url)).body.email).toBeNull();
    expect((await call('GET', url, { token: stranger.token })).body.email).toBeNull();
    expect((await call('GET', url, { token: subject.token })).body.email).toBe(`${login}@secret.example`);
    expect((await call('GET', `${server.api}/user`, { token: subject.token })).body.email).toBe(`${login}@secret.example`);
    expect((await call('GET', url, { token: ADMIN_TOKEN })).body.email).toBe(`${login}@secret.example`);

    const query = { query: `{ user(login: "${login}") { email } }` };
    const asStranger = await call('POST', `${server.base}/api/graphql`, { token: stranger.token, body: query, skipSchema: true });
    expect(asStranger.body).toEqual({ data: { user: { email: '' } } });
    const asSelf = await call('POST', `${server.base}/api/graphql`, { token: subject.token, body: query, skipSchema: true });
    expect(asSelf.body.data.user.email).toBe(`${login}@secret.example`);

    const suspended = uniqueName('susp');
    expect((await call('POST', `${server.api}/admin/users`, { token: ADMIN_TOKEN, body: { login: suspended, suspended: true } })).status).toBe(201);
    const anon = await call('GET', `${server.api}/users/${suspended}`);
    expect(anon.status).toBe(200);
    expect(anon.body).not.toHaveProperty('suspended_at');
    expect((await call('GET', `${server.api}/users/${suspended}`, { token: stranger.token })).body).not.toHaveProperty('suspended_at');
    // (GHES's schema has `suspended_at` on `private-user` only, so this answer is not checked against it.)
    expect(typeof (await call('GET', `${server.api}/users/${suspended}`, { token: ADMIN_TOKEN, skipSchema: true })).body.suspended_at).toBe('string');
  });
});

describe('finding 7: archive names cannot be chosen by the URL', () => {
  it('refuses revision syntax in archive refs and encodes the file name as RFC 6266 asks', async () => {
    const owner = await createUser(server, uniqueName('arch'));
    const repo = await createRepo(server, owner);
    const work = await WorkRepo.create();
    await work.commit('setup.bat');
    const quoted = 'a";filename=setup.bat';
    await work.git('tag', 'v1.0.0');
    await work.git('tag', quoted);
    await work.push(server, repo.full, owner.token, 'HEAD:refs/heads/main', '--tags');

    // The review's reflected file download: `^{/regex}` searched commit messages and its text
    // became the file name. Every form of git's revision syntax is now a plain 404.
    for (const ref of ['main^{/setup}', 'v1.0.0^{commit}', 'main~0', 'main^', 'HEAD:file.txt', 'main@{0}', '@', 'v1.0.0..main']) {
      const web = await fetch(`${server.base}/${repo.full}/archive/${encodeURIComponent(ref)}.zip`);
      expect([ref, web.status]).toEqual([ref, 404]);
      expect(web.headers.get('content-disposition')).toBeNull();
      const api = await call('GET', `${server.api}/repos/${repo.full}/zipball/${encodeURIComponent(ref)}`, { skipSchema: true });
      expect([ref, api.status]).toEqual([ref, 404]);
    }

    // A tag name git allows but a header must not carry raw: quoted, escaped, exact in filename*.
    const res = await fetch(`${server.base}/${repo.full}/archive/refs/tags/${encodeURIComponent(quoted)}.zip`);
    expect(res.status).toBe(200);
    const disposition = res.headers.get('content-disposition')!;
    expect(disposition).toBe(`attachment; filename="${repo.name}-a_;filename=setup.bat.zip"; filename*=UTF-8''${repo.name}-a%22%3Bfilename%3Dsetup.bat.zip`);
    expect(disposition.match(/filename\*=/g)).toHaveLength(1);
    // Plain refs keep GitHub's names: short names resolve as a tag, then a branch; commit ids work.
    const byTag = await fetch(`${server.base}/${repo.full}/archive/v1.0.0.tar.gz`);
    expect(byTag.headers.get('content-disposition')).toBe(`attachment; filename=${repo.name}-1.0.0.tar.gz`);
    const sha = await work.git('rev-parse', 'HEAD');
    expect((await fetch(`${server.base}/${repo.full}/archive/${sha.slice(0, 10)}.zip`)).status).toBe(200);
    expect((await call('GET', `${server.api}/repos/${repo.full}/tarball/main`, { skipSchema: true })).status).toBe(200);
  });
});
