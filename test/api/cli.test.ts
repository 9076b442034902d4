import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitDirFor } from '../../src/context.ts';
import { call } from '../support/http.ts';
import { testDatabaseServer } from '../support/database.ts';
import { ADMIN_TOKEN, releaseStores, startServer, storeEnv, type TestServer } from '../support/server.ts';
import { runWharf } from '../support/wharf-command.ts';
import { WebClient } from '../web/web-client.ts';

let dataDir: string;

/** `wharf ARGS…` on this file's instance. */
async function wharf(...args: string[]) {
  return runWharf(args, { env: await storeEnv(dataDir) });
}

/** `wharf ARGS…` with `input` on its standard input. */
async function wharfWithInput(input: string, ...args: string[]) {
  return runWharf(args, { env: await storeEnv(dataDir), input });
}

/** The last line of stderr: the first names the data directory the command acts on. */
function said(result: { stderr: string }): string {
  return result.stderr.trim().split('\n').at(-1) ?? '';
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-cli-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await releaseStores(dataDir);
});

describe('wharf CLI', { timeout: 240_000 }, () => {
  let server: TestServer | null = null;
  afterAll(() => server?.close());

  it('prints its version', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    const result = await wharf('--version');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${pkg.version}\n`);
  });

  it.skipIf(testDatabaseServer !== null)('refuses to create a new, empty instance unless told to (--init)', async () => {
    const elsewhere = path.join(dataDir, 'not-here');
    const result = await runWharf(['user', 'list'], { env: { WHARF_DATA_DIR: elsewhere } });
    expect(result.code).toBe(2);
    expect(said(result)).toBe(
      `wharf: WHARF_DATA_DIR="${elsewhere}": holds no Wharf instance (no database at ${elsewhere}/wharf.db); set WHARF_DATA_DIR (or WHARF_DATABASE_URL) to what the server uses, or pass --init to create a new instance there`,
    );
    expect(existsSync(elsewhere)).toBe(false);
    const init = await runWharf(['--init', 'user', 'list'], { env: { WHARF_DATA_DIR: elsewhere } });
    expect(init.code).toBe(0);
    expect(init.stderr).toContain(`wharf: data directory ${elsewhere}; database SQLite ${elsewhere}/wharf.db`);
    expect(init.stdout).toBe('LOGIN  ID  ROLE  STATE  CREATED  EMAIL\n');
  });

  it('creates users, organizations and tokens that the server then honours', async () => {
    expect((await wharf('--init', 'user', 'create', 'carol', '--email', 'carol@example.com', '--admin')).code).toBe(0);
    expect((await wharf('user', 'create', 'dave')).code).toBe(0);
    const dup = await wharf('user', 'create', 'CAROL');
    expect(dup.code).toBe(1);
    expect(said(dup)).toBe('wharf: a user or organization named CAROL already exists; choose another login');
    const bad = await wharf('user', 'create', '../x');
    expect(bad.code).toBe(1);
    expect(said(bad)).toMatch(/^wharf: "\.\.\/x" is not a valid user login; use letters, digits and single hyphens/);
    expect((await wharf('org', 'create', 'acme', '--owner', 'carol')).code).toBe(0);
    const token = await wharf('token', 'create', 'dave', '--scopes', 'repo');
    expect(token.code).toBe(0);
    // Only the token is printed on stdout, so scripts can capture it.
    expect(token.stdout).toMatch(/^wharf_[A-Za-z0-9_-]{43}\n$/);
    expect(said(token)).toMatch(/^wharf: token ….{8} for dave, scopes repo, does not expire$/);
    const listed = await wharf('token', 'list', 'dave');
    expect(listed.stdout).toContain(token.stdout.trim().slice(-8));
    expect(listed.stdout).not.toContain(token.stdout.trim());

    server = await startServer({ dataDir });
    const me = await call('GET', `${server.api}/user`, { token: token.stdout.trim() });
    expect(me.status).toBe(200);
    expect(me.body.login).toBe('dave');
    expect(me.headers.get('x-oauth-scopes')).toBe('repo');
    const org = await call('GET', `${server.api}/orgs/acme`, {});
    expect(org.status).toBe(200);

    // The use just made is recorded and listed, with creation and expiry.
    const afterUse = await wharf('token', 'list', 'dave');
    const [header, row] = afterUse.stdout.trim().split('\n');
    expect(header).toMatch(/^TOKEN\s+STATUS\s+CREATED\s+EXPIRES\s+LAST USED\s+SCOPES\s+NOTE$/);
    expect(row).toMatch(new RegExp(`^…${token.stdout.trim().slice(-8)}\\s+active\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\s+never\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\s+repo$`));

    const revoke = await wharf('token', 'revoke', 'dave', '--last-eight', token.stdout.trim().slice(-8));
    expect(revoke.code).toBe(0);
    expect((await call('GET', `${server.api}/user`, { token: token.stdout.trim() })).status).toBe(401);
    const again = await wharf('token', 'revoke', 'dave', '--last-eight', token.stdout.trim().slice(-8));
    expect(again.code).toBe(1);
    expect(said(again)).toBe(`wharf: dave has no active token ending in ${token.stdout.trim().slice(-8)}; \`wharf token list dave\` shows their tokens`);
  });

  it("validates scopes against GitHub's names and takes an expiry", async () => {
    const bogus = await wharf('token', 'create', 'dave', '--scopes', 'repo,bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/unknown scope "bogus"; GitHub's scopes are repo, repo:status/);
    expect(bogus.stdout).toBe('');
    const past = await wharf('token', 'create', 'dave', '--expires', '2001-01-01');
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/that moment has passed/);
    const expiring = await wharf('token', 'create', 'dave', '--scopes', 'repo read:org', '--expires', '7d', '--note', 'ci');
    expect(expiring.code).toBe(0);
    const row = (await wharf('token', 'list', 'dave')).stdout.split('\n').find((l) => l.includes(expiring.stdout.trim().slice(-8)))!;
    const expires = Date.parse(row.split(/\s+/)[3]!);
    expect(Math.abs(expires - (Date.now() + 7 * 86_400_000))).toBeLessThan(120_000);
    expect(row).toMatch(/repo read:org\s+ci$/);
  });

  it('names users that do not exist and says how to list them', async () => {
    const result = await wharf('token', 'list', 'nobody');
    expect(result.code).toBe(1);
    expect(said(result)).toBe('wharf: there is no user nobody; `wharf user list` shows the users');
  });

  it('lists, suspends, unsuspends and deletes users', async () => {
    const list = await wharf('user', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^LOGIN\s+ID\s+ROLE\s+STATE\s+CREATED\s+EMAIL$/);
    expect(list.stdout).toMatch(/\ncarol\s+\d+\s+site admin\s+active\s+\S+\s+carol@example\.com\n/);

    const token = (await wharf('token', 'create', 'dave', '--scopes', 'repo,delete_repo')).stdout.trim();
    expect((await call('POST', `${server!.api}/user/repos`, { token, body: { name: 'tool', auto_init: true } })).status).toBe(201);
    expect((await call('POST', `${server!.api}/repos/dave/tool/releases`, { token, body: { tag_name: 'v1' } })).status).toBe(201);

    expect((await wharf('user', 'suspend', 'dave')).code).toBe(0);
    expect((await wharf('user', 'list')).stdout).toMatch(/\ndave\s+\d+\s+user\s+suspended \d{4}-/);
    expect((await call('GET', `${server!.api}/user`, { token })).status).toBe(401);
    expect((await wharf('user', 'unsuspend', 'dave')).code).toBe(0);
    expect((await call('GET', `${server!.api}/user`, { token })).status).toBe(200);

    const repo = await call('GET', `${server!.api}/repos/dave/tool`, { token });
    const gitDir = gitDirFor({ config: server!.config }, { id: repo.body.id as number });
    expect(existsSync(gitDir)).toBe(true);
    const dryRun = await wharf('user', 'delete', 'dave');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toBe(
      'would delete dave, their tokens, sessions and memberships, and their 1 repository (tool) with all releases, assets and git data; run again with --yes to do it\n',
    );
    expect((await call('GET', `${server!.api}/repos/dave/tool`, { token })).status).toBe(200);
    const deleted = await wharf('user', 'delete', 'dave', '--yes');
    expect(deleted.code).toBe(0);
    expect((await call('GET', `${server!.api}/repos/dave/tool`, { token: ADMIN_TOKEN })).status).toBe(404);
    expect((await call('GET', `${server!.api}/users/dave`, {})).status).toBe(404);
    expect((await call('GET', `${server!.api}/user`, { token })).status).toBe(401);
    expect(existsSync(gitDir)).toBe(false);
  });

  it("refuses to delete a user whose releases live in other accounts' repositories", async () => {
    const carol = (await wharf('token', 'create', 'carol', '--scopes', 'repo,admin:org')).stdout.trim();
    expect((await wharf('user', 'create', 'erin')).code).toBe(0);
    const erin = (await wharf('token', 'create', 'erin', '--scopes', 'repo')).stdout.trim();
    expect((await call('POST', `${server!.api}/orgs/acme/repos`, { token: carol, body: { name: 'shared', auto_init: true } })).status).toBe(201);
    expect((await call('PUT', `${server!.api}/repos/acme/shared/collaborators/erin`, { token: carol, body: { permission: 'push' } })).status).toBeLessThan(300);
    expect((await call('POST', `${server!.api}/repos/acme/shared/releases`, { token: erin, body: { tag_name: 'v1' } })).status).toBe(201);
    const refused = await wharf('user', 'delete', 'erin', '--yes');
    expect(refused.code).toBe(1);
    expect(said(refused)).toBe(
      "wharf: erin published 1 release(s) in other accounts' repositories, which would lose their author; suspend the user instead (wharf user suspend erin)",
    );
    expect((await call('GET', `${server!.api}/users/erin`, {})).status).toBe(200);
  });

  it('creates a user with a password from standard input and prints one-time reset links', async () => {
    const refused = await wharfWithInput('short\n', 'user', 'create', 'frank', '--password-stdin');
    expect(refused.code).toBe(1);
    expect(said(refused)).toBe('wharf: the password on standard input is refused: Password is too short (minimum is 8 characters)');
    expect((await wharf('user', 'list')).stdout).not.toContain('frank');
    const created = await wharfWithInput('harbour-light-9\n', 'user', 'create', 'frank', '--password-stdin');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created user frank \(id \d+\) with a password\n$/);

    const signIn = async (password: string) => {
      const web = new WebClient(server!.base);
      const form = await web.get('/login');
      return (await web.post('/session', { _csrf: WebClient.csrfOf(form), login: 'frank', password, return_to: '/' })).status;
    };
    expect(await signIn('harbour-light-9')).toBe(303);

    const first = await wharf('user', 'reset-link', 'frank');
    expect(first.code).toBe(0);
    // Without WHARF_EXTERNAL_URL only the path is known, and the CLI says so.
    expect(first.stdout).toMatch(/^\/password_reset\/[A-Za-z0-9_-]{43}\n$/);
    expect(first.stderr).toContain('WHARF_EXTERNAL_URL is not set');
    expect(said(first)).toMatch(/^wharf: the link works once, for 24 hours \(until \d{4}-\d\d-\d\dT[\d:]+Z\)$/);
    const second = await wharfWithInput('', 'user', 'reset-link', 'frank');
    expect(second.code).toBe(0);
    const web = new WebClient(server!.base);
    expect((await web.get(first.stdout.trim())).status).toBe(404);
    const form = await web.get(second.stdout.trim());
    expect(form.status).toBe(200);
    const done = await web.post(second.stdout.trim(), { _csrf: WebClient.csrfOf(form), password: 'harbour-light-10', password_confirmation: 'harbour-light-10' });
    expect(done.status).toBe(303);
    expect((await web.get(second.stdout.trim())).status).toBe(404);
    expect(await signIn('harbour-light-9')).toBe(401);
    expect(await signIn('harbour-light-10')).toBe(303);

    const withUrl = await runWharf(['user', 'reset-link', 'frank'], { env: { ...(await storeEnv(dataDir)), WHARF_EXTERNAL_URL: 'https://releases.example.com' } });
    expect(withUrl.stdout).toMatch(/^https:\/\/releases\.example\.com\/password_reset\/[A-Za-z0-9_-]{43}\n$/);
    const nobody = await wharf('user', 'reset-link', 'nobody-at-all');
    expect(nobody.code).toBe(1);
    expect(said(nobody)).toBe('wharf: there is no user nobody-at-all; `wharf user list` shows the users');
  });
});
