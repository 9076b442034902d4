/**
 * Regression tests for the security review's findings: each reproduces the attack as the review
 * ran it (kept small) and checks that it now fails, and that the legitimate use still works.
 */
import { existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, testBlobStore, type TestServer } from '../support/server.ts';
import { testDatabaseServer } from '../support/database.ts';
import { WebClient } from '../web/web-client.ts';

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

/** A GET with headers fetch() will not send (`Host`), from the loopback address. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'application/vnd.github+json', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every path under `dir` (itself included) whose mode lets group or others in. */
function readableByOthers(dir: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    if ((statSync(p).mode & 0o077) !== 0) found.push(`${p} 0${(statSync(p).mode & 0o777).toString(8)}`);
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
  return found;
}

describe("finding 9: data is private to Wharf's user", () => {
  it('creates the data directory 0700 and its files 0600 under umask 022, and warns about a readable one', async () => {
    const previous = process.umask(0o022);
    const dataDir = path.join(tmpdir(), uniqueName('wharf-perm-'));
    const own = await startServer({ dataDir });
    try {
      const owner = await createUser(own, uniqueName('perm'));
      const repo = await createRepo(own, owner, { private: true, auto_init: true });
      const work = await WorkRepo.create();
      await work.commit('secret');
      await work.push(own, repo.full, owner.token, 'HEAD:refs/heads/pushed');
      const release = await call('POST', `${own.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1' } });
      const up = await call('POST', `${own.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=secret.bin`, {
        token: owner.token,
        raw: 'private bytes',
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(up.status).toBe(201);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      if (!testDatabaseServer) expect(statSync(path.join(dataDir, 'wharf.db')).mode & 0o777).toBe(0o600);
      const checked = [path.join(dataDir, 'repositories'), ...(testBlobStore === 'fs' ? [path.join(dataDir, 'blobs')] : [])];
      for (const dir of checked) expect(readableByOthers(dir)).toEqual([]);
      expect(existsSync(path.join(dataDir, 'repositories'))).toBe(true);
    } finally {
      process.umask(previous);
      await own.close();
      await rm(dataDir, { recursive: true, force: true });
    }

    // An existing directory others can read is named at start-up (and left as the operator set it).
    const wide = path.join(tmpdir(), uniqueName('wharf-wide-'));
    mkdirSync(wide, { mode: 0o755 });
    let logged = '';
    const sink = new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) });
    const config = loadConfig({ WHARF_DATA_DIR: wide, WHARF_HOST: '127.0.0.1', WHARF_PORT: '0', WHARF_RATE_LIMIT: 'false' });
    const wharf = await buildApp(config, { logger: pino({ level: 'warn' }, sink) });
    await wharf.close();
    await rm(wide, { recursive: true, force: true });
    expect(logged).toContain(`${wide} is readable by other local users (mode 0755)`);
  });
});

describe('finding 11: answers whose URLs follow Host are not shared-cacheable', () => {
  it('marks anonymous answers private and Vary: Host without an external URL; public with one', async () => {
    const owner = await createUser(server, uniqueName('host'));
    const repo = await createRepo(server, owner);
    const poisoned = await rawGet(`${server.api}/repos/${repo.full}`, { host: 'evil.example' });
    expect(poisoned.status).toBe(200);
    expect(poisoned.body).toContain('http://evil.example/');
    expect(poisoned.headers['cache-control']).toBe('private, max-age=60');
    expect(String(poisoned.headers.vary)).toMatch(/\bHost\b/);

    const fixed = await startServer({ env: { WHARF_EXTERNAL_URL: 'https://releases.example.com' } });
    try {
      const fixedOwner = await createUser(fixed, uniqueName('host'));
      const fixedRepo = await createRepo(fixed, fixedOwner);
      const res = await rawGet(`${fixed.api}/repos/${fixedRepo.full}`, { host: 'evil.example' });
      expect(res.body).not.toContain('evil.example');
      expect(res.headers['cache-control']).toBe('public, max-age=60, s-maxage=60');
    } finally {
      await fixed.close();
    }
  });
});

describe('finding 6: only the configured proxies are believed', () => {
  it('parses WHARF_TRUST_PROXY as false, a hop count or addresses, never trust-everyone', () => {
    const trust = (v: string) => loadConfig({ WHARF_TRUST_PROXY: v, WHARF_DATA_DIR: tmpdir() }).trustProxy;
    expect(trust('false')).toBe(false);
    expect(trust('true')).toEqual(['loopback']);
    expect(trust('2')).toBe(2);
    expect(trust('127.0.0.1, 10.0.0.0/8,::1')).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(() => trust('10.0.0.0/33')).toThrow(/WHARF_TRUST_PROXY/);
    expect(() => trust('everyone')).toThrow(/WHARF_TRUST_PROXY/);
  });

  it('takes the address the proxy added, not one the client sent ahead of it', async () => {
    for (const setting of ['true', '127.0.0.1', '1']) {
      const proxied = await startServer({ env: { WHARF_TRUST_PROXY: setting, WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_ANONYMOUS: '3' } });
      try {
        // nginx's `$proxy_add_x_forwarded_for` appends the real peer after whatever the client sent.
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await rawGet(`${proxied.api}/meta`, { 'x-forwarded-for': `10.0.0.${i}, 203.0.113.7` });
          statuses.push(res.status);
        }
        expect([setting, statuses]).toEqual([setting, [200, 200, 200, 403, 403]]);
        // Another real client still has its own allowance.
        expect((await rawGet(`${proxied.api}/meta`, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(200);
        // Host and scheme likewise come from the entry the proxy wrote (the last).
        const urls = await rawGet(`${proxied.api}/`, { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-host': 'evil.example, wharf.example', 'x-forwarded-proto': 'http, https' });
        expect(JSON.parse(urls.body).current_user_url).toBe('https://wharf.example/api/v3/user');
      } finally {
        await proxied.close();
      }
    }
  });
});

describe('also fixed', () => {
  it('strips control characters and bidi overrides from asset labels, on upload and on edit', async () => {
    const owner = await createUser(server, uniqueName('label'));
    const repo = await createRepo(server, owner, { auto_init: true });
    const release = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1' } });
    const up = await call(
      'POST',
      `${server.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=a.txt&label=${encodeURIComponent('fake\u202Etxt.exe\r\nSigned\u0000ok')}`,
      {
        token: owner.token,
        raw: 'x',
        headers: { 'content-type': 'text/plain' },
      },
    );
    expect(up.status).toBe(201);
    expect(up.body.label).toBe('faketxt.exeSignedok');
    const edited = await call('PATCH', `${server.api}/repos/${repo.full}/releases/assets/${up.body.id}`, { token: owner.token, body: { label: 'line\r\nbreak\u2066x\u0007' } });
    expect(edited.body.label).toBe('linebreakx');
  });

  it('refuses tag names git would confuse with a branch or HEAD', async () => {
    const owner = await createUser(server, uniqueName('ambig'));
    const repo = await createRepo(server, owner, { auto_init: true });
    const main = await call('GET', `${server.api}/repos/${repo.full}/git/ref/heads/main`, { token: owner.token });
    const sha = main.body.object.sha as string;
    for (const ref of ['refs/tags/main', 'refs/tags/HEAD', 'refs/heads/HEAD']) {
      expectGitHubError(await call('POST', `${server.api}/repos/${repo.full}/git/refs`, { token: owner.token, body: { ref, sha } }), 422, /ambiguous|reserved/);
    }
    expectGitHubError(await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'main' } }), 422);
    expect((await call('POST', `${server.api}/repos/${repo.full}/git/refs`, { token: owner.token, body: { ref: 'refs/tags/v9', sha } })).status).toBe(201);
    expectGitHubError(await call('POST', `${server.api}/repos/${repo.full}/git/refs`, { token: owner.token, body: { ref: 'refs/heads/v9', sha } }), 422, /ambiguous/);
  });

  it('sends one Set-Cookie per cookie at sign-in and stores no CSRF secret', async () => {
    const user = await createUser(server, uniqueName('cookie'));
    const browser = new WebClient(server.base);
    const form = await browser.get('/login');
    const res = await browser.post('/session', { _csrf: WebClient.csrfOf(form), login: user.login, token: user.token, return_to: '/' });
    expect(res.status).toBe(303);
    const names = res.headers.getSetCookie().map((line) => line.split('=')[0]);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    const page = await browser.get('/new');
    const secret = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? (await browser.get(`/${user.login}`)).text.match(/name="_csrf" value="([^"]+)"/)?.[1];
    expect(secret).toBeTruthy();
    const rows = await server.wharf.ctx.db.selectFrom('sessions').select('csrf_secret').where('user_id', '=', user.id).execute();
    expect(rows.length).toBe(1);
    expect(rows.map((r) => r.csrf_secret)).toEqual(['']);
  });

  it('redacts credentials in logged request URLs and sweeps quarantine directories left by a crash', async () => {
    const dataDir = path.join(tmpdir(), uniqueName('wharf-log-'));
    const objects = path.join(dataDir, 'repositories', '001', '1.git', 'objects');
    const stale = path.join(objects, 'tmp_objdir-incoming-stale');
    const fresh = path.join(objects, 'tmp_objdir-incoming-fresh');
    mkdirSync(stale, { recursive: true });
    mkdirSync(fresh, { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    let logged = '';
    const sink = new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) });
    const config = loadConfig({ WHARF_DATA_DIR: dataDir, WHARF_HOST: '127.0.0.1', WHARF_PORT: '0', WHARF_RATE_LIMIT: 'false' });
    const wharf = await buildApp(config, { logger: pino({ level: 'info' }, sink) });
    try {
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      await wharf.app.inject({ url: '/api/v3/meta?access_token=sekrit-token-value&per_page=1' });
      expect(logged).toContain('access_token=[REDACTED]&per_page=1');
      expect(logged).not.toContain('sekrit-token-value');
    } finally {
      await wharf.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('finding 4: an oversized .github/release.yml is never read into memory', () => {
  it('refuses a 12 MiB configuration file from its size alone', async () => {
    const owner = await createUser(server, uniqueName('bomb'));
    const repo = await createRepo(server, owner);
    const work = await WorkRepo.create();
    mkdirSync(path.join(work.dir, '.github'), { recursive: true });
    writeFileSync(path.join(work.dir, '.github', 'release.yml'), Buffer.alloc(12 * 1024 * 1024));
    await work.git('add', '-A');
    await work.git('commit', '-q', '-m', 'zeros');
    await work.push(server, repo.full, owner.token, 'HEAD:refs/heads/main');
    const before = process.memoryUsage().arrayBuffers;
    const res = await call('POST', `${server.api}/repos/${repo.full}/releases/generate-notes`, { token: owner.token, body: { tag_name: 'v1', target_commitish: 'main' } });
    const grown = process.memoryUsage().arrayBuffers - before;
    expectGitHubError(res, 422);
    expect(res.text).toContain('is larger than 262144 bytes');
    // Reading it whole (as before) held 12 MiB and more of buffers until the next collection.
    expect(grown).toBeLessThan(6 * 1024 * 1024);
  });
});
