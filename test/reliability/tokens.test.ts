/**
 * Tokens: stored only as hashes, compared in constant time, scopes enforced, revocable (over the
 * API, at once, on every route including git), optionally expiring.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/services/audit.ts';
import { hashToken, issueToken } from '../../src/services/tokens.ts';
import { rememberedReadsAnswered } from '../../src/http/remembered-reads.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { testDatabaseServer } from '../support/database.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { gitInfoRefs } from './support/git-probe.ts';
import { reachableStrings } from '../support/reachable-strings.ts';

let server: TestServer;
let owner: TestUser;
let pub: { name: string; full: string };
let priv: { name: string; full: string };

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('tokowner'));
  pub = await createRepo(server, owner, { auto_init: true });
  priv = await createRepo(server, owner, { auto_init: true, private: true });
});
afterAll(() => server.close());

async function tokenFor(user: TestUser, scopes: string[], extra: Record<string, unknown> = {}): Promise<{ token: string; id: number; expires_at: string | null }> {
  const res = await call('POST', `${server.api}/admin/users/${user.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes, ...extra } });
  expect(res.status).toBe(201);
  return res.body;
}

/** Every request kind a token can be used for, with the status a live token with `repo` gets. */
async function probeAll(token: string): Promise<number[]> {
  return [
    (await call('GET', `${server.api}/user`, { token })).status,
    (await call('GET', `${server.api}/repos/${priv.full}`, { token })).status,
    (await call('GET', `${server.api}/repos/${priv.full}/releases`, { token })).status,
    (await call('POST', `${server.api}/user/repos`, { token, body: { name: uniqueName('r') } })).status,
    await gitInfoRefs(server.base, priv.full, 'git-upload-pack', token),
    await gitInfoRefs(server.base, priv.full, 'git-receive-pack', token),
  ];
}

/**
 * All that the database holds: on SQLite the bytes of its files (main file and WAL, after a read
 * that forces the WAL open); on PostgreSQL, whose files belong to the server, every row of every
 * table as text.
 */
async function everythingStored(): Promise<string> {
  const db = server.wharf.ctx.db;
  if (testDatabaseServer) {
    const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db);
    expect(tables.rows.length).toBeGreaterThan(3);
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(name)} t`.execute(db);
      parts.push(...rows.rows.map((r) => r.row));
    }
    return parts.join('\n');
  }
  await db.selectFrom('tokens').selectAll().execute();
  const files = readdirSync(server.dataDir).filter((f) => f.startsWith('wharf.db'));
  expect(files.length).toBeGreaterThan(0);
  return files.map((f) => readFileSync(path.join(server.dataDir, f)).toString('latin1')).join('');
}

describe('token storage', () => {
  it('never writes a token to the database, only its sha256', async () => {
    const user = await createUser(server, uniqueName('hash'));
    const extra = await tokenFor(user, ['repo']);
    const stored = await everythingStored();
    expect(stored.length).toBeGreaterThan(0);
    for (const secret of [user.token, extra.token, ADMIN_TOKEN]) {
      expect(stored.includes(secret)).toBe(false);
      expect(stored.includes(secret.slice(0, 20))).toBe(false);
    }
    const rows = await server.wharf.ctx.db.selectFrom('tokens').selectAll().where('user_id', '=', user.id).execute();
    expect(rows.length).toBe(2);
    for (const row of rows) {
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
      // The scan did see the tokens table: the hashes are there.
      expect(stored.includes(row.token_hash)).toBe(true);
    }
  });

  it('takes as long to reject a near miss as a wild guess (no early-exit comparison)', async () => {
    // Near misses differ from the real token in the last character only; a byte-by-byte compare
    // of the raw token would reject them measurably later than a guess that differs at once.
    const real = owner.token;
    const near = (i: number) => real.slice(0, -1) + (real.endsWith(String(i % 10)) ? 'x' : String(i % 10));
    const wild = (i: number) => `zz${i}${'q'.repeat(real.length - 3 - String(i).length)}`;
    const time = async (token: string) => {
      const start = process.hrtime.bigint();
      const res = await call('GET', `${server.api}/user`, { token });
      expect(res.status).toBe(401);
      return Number(process.hrtime.bigint() - start);
    };
    // Compared in pairs asked back to back, so that the machine's load (other test files, other
    // processes) weighs on both members of a pair alike; the median pair decides.
    const ratios: number[] = [];
    for (let i = 0; i < 150; i++) {
      const nearTime = await time(near(i));
      const wildTime = await time(wild(i));
      ratios.push(nearTime / wildTime);
    }
    const ratio = ratios.sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!;
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);
  });
});

describe('tokens in process memory', () => {
  it('keeps no token after its request: principals, remembered answers and rate counts know it by hash or id only', async () => {
    const user = await createUser(server, uniqueName('mem'));
    const repo = await createRepo(server, user, { auto_init: true });
    expect((await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: user.token, body: { tag_name: 'v1.0.0' } })).status).toBe(201);
    const ctx = server.wharf.ctx;
    const before = rememberedReadsAnswered(ctx);
    const basic = `Basic ${Buffer.from(`x-access-token:${user.token}`).toString('base64')}`;
    for (const authorization of [`token ${user.token}`, `Bearer ${user.token}`, basic]) {
      for (const p of [`/repos/${repo.full}/releases/latest`, `/repos/${repo.full}/releases/latest`, `/repos/${repo.full}/releases`, '/user']) {
        const res = await call('GET', server.api + p, { headers: { authorization }, skipSchema: true });
        expect(res.status).toBe(200);
      }
    }
    // The requests did take the remembered (fast) path, where the principal is found without the database.
    expect(rememberedReadsAnswered(ctx)).toBeGreaterThan(before);
    const strings = reachableStrings({ principals: ctx.principals, readCache: ctx.readCache, rateCounts: ctx.rateCounts });
    // The walk reaches the remembered principal, filed under the token's hash...
    expect(strings).toContain(hashToken(user.token));
    // ...and no string in these structures holds the token, or enough of it to matter.
    expect(strings.filter((s) => s.includes(user.token.slice(0, 16)))).toEqual([]);
  });
});

describe('scopes', () => {
  it('repo: private and public; public_repo: public only; no scope: read public only', async () => {
    const collab = await createUser(server, uniqueName('scoped'));
    await addCollaborator(server, owner, pub.name, collab, 'admin');
    await addCollaborator(server, owner, priv.name, collab, 'admin');
    const full = await tokenFor(collab, ['repo']);
    const publicOnly = await tokenFor(collab, ['public_repo']);
    const none = await tokenFor(collab, []);

    expect((await call('GET', `${server.api}/repos/${priv.full}/releases`, { token: full.token })).status).toBe(200);
    expectGitHubError(await call('GET', `${server.api}/repos/${priv.full}/releases`, { token: publicOnly.token }), 404, 'Not Found');
    expectGitHubError(await call('GET', `${server.api}/repos/${priv.full}`, { token: none.token }), 404, 'Not Found');
    expect(await gitInfoRefs(server.base, priv.full, 'git-upload-pack', publicOnly.token)).toBe(404);

    const tag = uniqueName('v');
    expect((await call('POST', `${server.api}/repos/${pub.full}/releases`, { token: publicOnly.token, body: { tag_name: tag } })).status).toBe(201);
    expect(await gitInfoRefs(server.base, pub.full, 'git-receive-pack', publicOnly.token)).toBe(200);

    // Without a repository scope, even an admin collaborator only reads the public repository.
    expect((await call('GET', `${server.api}/repos/${pub.full}/releases`, { token: none.token })).status).toBe(200);
    expectGitHubError(await call('POST', `${server.api}/repos/${pub.full}/releases`, { token: none.token, body: { tag_name: uniqueName('v') } }), 422);
    expectGitHubError(await call('PATCH', `${server.api}/repos/${pub.full}`, { token: none.token, body: { description: 'x' } }), 403);
    expect(await gitInfoRefs(server.base, pub.full, 'git-receive-pack', none.token)).toBe(403);
    expect(await gitInfoRefs(server.base, pub.full, 'git-upload-pack', none.token)).toBe(200);
  });

  it('reports the scopes a token has', async () => {
    const user = await createUser(server, uniqueName('sc'), ['public_repo', 'read:org']);
    const res = await call('GET', `${server.api}/`, { token: user.token });
    expect(res.headers.get('x-oauth-scopes')).toBe('public_repo, read:org');
  });
});

describe('revocation', () => {
  it('DELETE /authorizations/{id} revokes the token at once on every route, git included', async () => {
    const user = await createUser(server, uniqueName('rev'));
    await addCollaborator(server, owner, priv.name, user, 'push');
    const tok = await tokenFor(user, ['repo']);
    expect(await probeAll(tok.token)).toEqual([200, 200, 200, 201, 200, 200]);

    // Someone else cannot revoke it (and cannot learn that it exists).
    const other = await createUser(server, uniqueName('other'));
    expectGitHubError(await call('DELETE', `${server.api}/authorizations/${tok.id}`, { token: other.token }), 404, 'Not Found');
    expectGitHubError(await call('DELETE', `${server.api}/authorizations/${tok.id}`, {}), 401);

    const revoked = await call('DELETE', `${server.api}/authorizations/${tok.id}`, { token: user.token });
    expect(revoked.status).toBe(204);
    expect(await probeAll(tok.token)).toEqual([401, 401, 401, 401, 401, 401]);
    // A second revocation finds nothing; the user's other token still works.
    expectGitHubError(await call('DELETE', `${server.api}/authorizations/${tok.id}`, { token: user.token }), 404);
    expect((await call('GET', `${server.api}/user`, { token: user.token })).status).toBe(200);
    expectGitHubError(await call('DELETE', `${server.api}/authorizations/not-a-number`, { token: user.token }), 404);
  });

  it('a revoked token cannot finish a git push it could start', async () => {
    const user = await createUser(server, uniqueName('gitrev'));
    await addCollaborator(server, owner, priv.name, user, 'push');
    const tok = await tokenFor(user, ['repo']);
    const work = await WorkRepo.create();
    await work.commit('first');
    await work.push(server, priv.full, tok.token, 'HEAD:refs/heads/before-revoke');
    expect((await call('DELETE', `${server.api}/authorizations/${tok.id}`, { token: ADMIN_TOKEN })).status).toBe(204);
    await work.commit('second');
    await expect(work.push(server, priv.full, tok.token, 'HEAD:refs/heads/after-revoke')).rejects.toThrow();
    const branches = await call('GET', `${server.api}/repos/${priv.full}/git/matching-refs/heads/after-revoke`, { token: owner.token });
    expect(branches.status).toBe(200);
    expect(branches.body).toEqual([]);
  });

  it('DELETE /admin/users/{username}/authorizations revokes impersonation tokens (site admins only)', async () => {
    const user = await createUser(server, uniqueName('imp'));
    const second = await tokenFor(user, ['repo']);
    expectGitHubError(await call('DELETE', `${server.api}/admin/users/${user.login}/authorizations`, { token: user.token }), 403);
    expect((await call('DELETE', `${server.api}/admin/users/${user.login}/authorizations`, { token: ADMIN_TOKEN })).status).toBe(204);
    for (const token of [user.token, second.token]) expectGitHubError(await call('GET', `${server.api}/user`, { token }), 401, 'Bad credentials');
    expectGitHubError(await call('DELETE', `${server.api}/admin/users/nobody-${Date.now()}/authorizations`, { token: ADMIN_TOKEN }), 404);
  });
});

describe('expiry', () => {
  it('an expired token is rejected everywhere; an expiring one says when', async () => {
    const user = await createUser(server, uniqueName('exp'));
    await addCollaborator(server, owner, priv.name, user, 'push');
    const soon = await tokenFor(user, ['repo'], { expires_at: new Date(Date.now() + 86_400_000).toISOString() });
    expect(soon.expires_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const res = await call('GET', `${server.api}/user`, { token: soon.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('github-authentication-token-expiration')).toBe(`${soon.expires_at!.slice(0, 10)} ${soon.expires_at!.slice(11, 19)} UTC`);

    expectGitHubError(await call('POST', `${server.api}/admin/users/${user.login}/authorizations`, { token: ADMIN_TOKEN, body: { expires_at: '2001-01-01T00:00:00Z' } }), 422);
    expectGitHubError(await call('POST', `${server.api}/admin/users/${user.login}/authorizations`, { token: ADMIN_TOKEN, body: { expires_at: 'tomorrow' } }), 422);

    // Tokens that expired (issued directly, as the CLI's --expires-in-days would have long ago).
    const expired = await issueToken(server.wharf.ctx.db, user, ['repo'], { expiresAt: new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), actor: SYSTEM_ACTOR });
    expect(await probeAll(expired.token)).toEqual([401, 401, 401, 401, 401, 401]);
    // One that expires in two seconds works, then stops working without anyone touching it.
    const briefEnd = new Date(Date.now() + 2500).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const brief = await issueToken(server.wharf.ctx.db, user, ['repo'], { expiresAt: briefEnd, actor: SYSTEM_ACTOR });
    expect((await call('GET', `${server.api}/user`, { token: brief.token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, Date.parse(briefEnd) - Date.now() + 100));
    expectGitHubError(await call('GET', `${server.api}/user`, { token: brief.token }), 401, 'Bad credentials');
    expect(await gitInfoRefs(server.base, priv.full, 'git-upload-pack', brief.token)).toBe(401);
  });
});
