/**
 * The audit log: one entry per security-relevant action, written with the change, readable by
 * site administrators through GHES's audit-log API (OpenAPI-validated) and `wharf audit`, and
 * swept after the retention period.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getUser } from '../../src/services/accounts.ts';
import { cliActor, sweepAuditLog } from '../../src/services/audit.ts';
import { acquireLease } from '../../src/db/repos/leases-repo.ts';
import { release } from '../../src/services/leases.ts';
import { deleteUser, planUserDeletion, setSuspended } from '../../src/services/user-admin.ts';
import { addCollaborator, createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { ADMIN_TOKEN, startServer, storeEnv, type TestServer } from '../support/server.ts';
import { runWharf } from '../support/wharf-command.ts';
import { WebClient } from '../web/web-client.ts';

type Entry = Record<string, unknown> & { action: string; actor: string };

let server: TestServer;
let alice: TestUser;

beforeAll(async () => {
  // Loopback is a trusted proxy here, so a test can come "from" another address.
  server = await startServer({ env: { WHARF_TRUST_PROXY: 'loopback' } });
  alice = await createUser(server, uniqueName('auditee'));
});
afterAll(() => server.close());

async function audit(phrase: string, extra = ''): Promise<Entry[]> {
  const res = await call('GET', `${server.api}/enterprises/wharf/audit-log?phrase=${encodeURIComponent(phrase)}&per_page=100${extra}`, { token: ADMIN_TOKEN });
  expect(res.status).toBe(200);
  return res.body as Entry[];
}

const actions = (entries: Entry[]) => entries.map((e) => e.action);

describe('audit log', () => {
  it('records user and token creation by a site administrator, with who and from where', async () => {
    const entries = await audit(`user:${alice.login}`, '&order=asc');
    expect(actions(entries).slice(0, 2)).toEqual(['user.create', 'oauth_access.create']);
    expect(entries[0]).toMatchObject({ actor: 'admin', actor_ip: '127.0.0.1', user: alice.login, user_id: alice.id });
    expect(typeof entries[0]!['@timestamp']).toBe('number');
    expect(entries[1]!.data).toMatchObject({ scopes: ['repo', 'read:org'], token_last_eight: alice.token.slice(-8) });
    expect(JSON.stringify(entries)).not.toContain(alice.token);
  });

  it('records a token used from a new address, once per address', async () => {
    const from = (ip: string) => call('GET', `${server.api}/user`, { token: alice.token, headers: { 'x-forwarded-for': ip } });
    expect((await from('203.0.113.7')).status).toBe(200);
    expect((await from('203.0.113.7')).status).toBe(200);
    expect((await from('198.51.100.9')).status).toBe(200);
    expect((await from('203.0.113.7')).status).toBe(200);
    const uses = (await audit(`action:oauth_access.use_from_new_address user:${alice.login}`, '&order=asc')).map((e) => e.actor_ip);
    // The token's first use is the first address it is seen from.
    expect(uses).toEqual(['203.0.113.7', '198.51.100.9']);
  });

  it('records token revocation', async () => {
    const issued = await call('POST', `${server.api}/admin/users/${alice.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['repo'] }, skipSchema: true });
    expect(issued.status).toBe(201);
    expect((await call('DELETE', `${server.api}/authorizations/${issued.body.id}`, { token: alice.token })).status).toBe(204);
    const [latest] = await audit(`action:oauth_access.destroy user:${alice.login}`);
    expect(latest).toMatchObject({ actor: alice.login, data: { token_id: issued.body.id } });
  });

  it('records sign-in and failed sign-in on the pages', async () => {
    const web = new WebClient(server.base);
    await web.signIn(alice.login, alice.token);
    const stranger = new WebClient(server.base);
    const form = await stranger.get('/login');
    const failed = await stranger.post('/session', { _csrf: WebClient.csrfOf(form), login: alice.login, token: 'wrong', return_to: '/' });
    expect(failed.status).toBe(401);
    expect((await audit(`action:user.login user:${alice.login}`))[0]).toMatchObject({ actor: alice.login, actor_ip: '127.0.0.1' });
    expect((await audit(`action:user.failed_login actor:${alice.login}`))[0]).toMatchObject({ data: { login: alice.login } });
  });

  it('records organization creation with its first member', async () => {
    const org = uniqueName('auditorg');
    expect((await call('POST', `${server.api}/admin/organizations`, { token: ADMIN_TOKEN, body: { login: org, admin: alice.login } })).status).toBe(201);
    const entries = await audit(`org:${org}`, '&order=asc');
    expect(entries.map((e) => [e.action, e.user ?? null])).toEqual([
      ['org.create', null],
      ['org.add_member', alice.login],
    ]);
    expect(entries[0]!.org_id).toEqual(expect.any(Number));
  });

  it('records repository creation, visibility, renaming, collaborators and deletion', async () => {
    const bob = await createUser(server, uniqueName('collab'));
    const dave = await createUser(server, uniqueName('owner'), ['repo', 'delete_repo']);
    const repo = await createRepo(server, dave);
    const repoApi = `${server.api}/repos/${repo.full}`;
    expect((await call('PATCH', repoApi, { token: dave.token, body: { private: true } })).status).toBe(200);
    expect((await call('PATCH', repoApi, { token: dave.token, body: { description: 'no visibility change' } })).status).toBe(200);
    await addCollaborator(server, dave, repo.name, bob, 'pull');
    await addCollaborator(server, dave, repo.name, bob, 'pull'); // unchanged: no entry
    await addCollaborator(server, dave, repo.name, bob, 'push');
    expect((await call('DELETE', `${repoApi}/collaborators/${bob.login}`, { token: dave.token })).status).toBe(204);
    const renamed = `${repo.name}-renamed`;
    expect((await call('PATCH', repoApi, { token: dave.token, body: { name: renamed } })).status).toBe(200);
    const entries = await audit(`repo:${repo.full}`, '&order=asc');
    expect(actions(entries)).toEqual(['repo.create', 'repo.access', 'repo.add_member', 'repo.update_member', 'repo.remove_member']);
    expect(entries[1]).toMatchObject({ visibility: 'private', previous_visibility: 'public', actor: dave.login });
    expect(entries[3]).toMatchObject({ user: bob.login, data: { permission: 'push', old_permission: 'pull' } });
    const newName = `${dave.login}/${renamed}`;
    expect((await call('DELETE', `${server.api}/repos/${newName}`, { token: dave.token })).status).toBe(204);
    expect(actions(await audit(`repo:${newName}`, '&order=asc'))).toEqual(['repo.rename', 'repo.destroy']);
  });

  it('records release publication and deletion, and asset deletion', async () => {
    const repo = await createRepo(server, alice, { auto_init: true });
    const releases = `${server.api}/repos/${repo.full}/releases`;
    const draft = await call('POST', releases, { token: alice.token, body: { tag_name: 'v1.0.0', draft: true } });
    expect(draft.status).toBe(201);
    expect(await audit(`repo:${repo.full} action:release`)).toEqual([]);
    expect((await call('PATCH', `${releases}/${draft.body.id}`, { token: alice.token, body: { draft: false } })).status).toBe(200);
    const upload = await call('POST', `${server.uploads}/repos/${repo.full}/releases/${draft.body.id}/assets?name=app.bin`, {
      token: alice.token,
      raw: 'bytes',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(upload.status).toBe(201);
    expect((await call('DELETE', `${releases}/assets/${upload.body.id}`, { token: alice.token })).status).toBe(204);
    expect((await call('DELETE', `${releases}/${draft.body.id}`, { token: alice.token })).status).toBe(204);
    const entries = await audit(`repo:${repo.full} action:release`, '&order=asc');
    expect(actions(entries)).toEqual(['release.publish', 'release.destroy']);
    expect(entries[0]).toMatchObject({ actor: alice.login, data: { tag_name: 'v1.0.0', release_id: draft.body.id } });
    const [assetEntry] = await audit(`repo:${repo.full} action:release_asset.destroy`);
    expect(assetEntry).toMatchObject({ actor: alice.login, data: { asset_name: 'app.bin', asset_id: upload.body.id } });
  });

  it('records suspension, promotion and deletion of users, named after the operator for the CLI', async () => {
    const carol = await createUser(server, uniqueName('carol'));
    const ctx = server.wharf.ctx;
    const operator = cliActor();
    await setSuspended(ctx, carol.login, true, operator);
    await setSuspended(ctx, carol.login, true, operator); // already suspended: no entry
    await setSuspended(ctx, carol.login, false, operator);
    const { promoteUser } = await import('../../src/services/accounts.ts');
    await promoteUser(ctx, await getUser(ctx, carol.login), operator);
    await deleteUser(ctx, await planUserDeletion(ctx, carol.login), operator);
    const entries = await audit(`user:${carol.login} actor:${operator.login}`, '&order=asc');
    expect(actions(entries)).toEqual(['user.suspend', 'user.unsuspend', 'user.promote', 'user.destroy']);
    expect(operator.login).toMatch(/^cli:/);

    // `wharf audit` reads the same log.
    const json = await runWharf(['audit', '--user', carol.login, '--json'], { env: await storeEnv(server.dataDir) });
    expect(json.code, json.stderr).toBe(0);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Entry);
    expect(actions(lines)).toEqual(['user.destroy', 'user.promote', 'user.unsuspend', 'user.suspend', 'oauth_access.create', 'user.create']);
    const text = await runWharf(['audit', '--action', 'user', '--limit', '2'], { env: await storeEnv(server.dataDir) });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^TIME\s+ACTION\s+ACTOR\s+ADDRESS\s+ABOUT\s+DATA$/);
    expect(text.stdout.trim().split('\n')).toHaveLength(3);
  }, 60_000);

  it('is for site administrators only, pages with a Link header and refuses unknown qualifiers', async () => {
    expectGitHubError(await call('GET', `${server.api}/enterprises/wharf/audit-log`, { token: alice.token }), 403);
    expectGitHubError(await call('GET', `${server.api}/enterprises/wharf/audit-log`), 401);
    const page = await call('GET', `${server.api}/enterprises/wharf/audit-log?per_page=2`, { token: ADMIN_TOKEN });
    expect(page.body).toHaveLength(2);
    expect(page.headers.get('link')).toMatch(/rel="next"/);
    const asc = await call('GET', `${server.api}/enterprises/wharf/audit-log?per_page=1&order=asc`, { token: ADMIN_TOKEN });
    expect(Number(asc.body[0]._document_id)).toBeLessThan(Number(page.body[0]._document_id));
    expectGitHubError(await call('GET', `${server.api}/enterprises/wharf/audit-log?phrase=country:fr`, { token: ADMIN_TOKEN }), 422);
  });

  it('deletes entries past the retention period, on the node holding the lease', async () => {
    const ctx = server.wharf.ctx;
    const old = Date.now() - (ctx.config.auditRetentionDays + 1) * 86_400_000;
    await ctx.db
      .insertInto('audit_log')
      .values({
        action: 'test.old',
        actor: 'wharf',
        actor_id: null,
        actor_ip: null,
        user_id: null,
        user_login: null,
        org_id: null,
        org: null,
        repository_id: null,
        repo: null,
        data: '{}',
        created_ms: old,
      })
      .execute();
    // Another node holds the sweep's lease: this one leaves the log alone.
    await release(ctx, 'audit-log-sweep');
    expect(await acquireLease(ctx.db, 'audit-log-sweep', 'another-node', Date.now(), Date.now() + 60_000)).toBe(true);
    expect(await sweepAuditLog(ctx, 60_000)).toBeNull();
    expect(await audit('action:test.old')).toHaveLength(1);
    await release(ctx, 'audit-log-sweep', 'another-node');
    expect(await sweepAuditLog(ctx, 60_000)).toBe(1);
    expect(await audit('action:test.old')).toEqual([]);
    expect((await audit(`user:${alice.login}`)).length).toBeGreaterThan(0);
  });
});
