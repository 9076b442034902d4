import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { releaseStores, startServer, storeEnv, type TestServer } from '../support/server.ts';

const exec = promisify(execFile);
// The sources, through tsx (bin/wharf.js runs the compiled copy, which may be stale here).
const bin = path.resolve('src/cli/run.ts');

let dataDir: string;

async function wharf(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', bin, ...args], { env: { ...process.env, ...(await storeEnv(dataDir)) } });
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-cli-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await releaseStores(dataDir);
});

describe('wharf CLI', () => {
  let server: TestServer | null = null;
  afterAll(() => server?.close());

  it('creates users, organizations and tokens that the server then honours', async () => {
    expect((await wharf('user', 'create', 'carol', '--email', 'carol@example.com', '--admin')).code).toBe(0);
    expect((await wharf('user', 'create', 'dave')).code).toBe(0);
    const dup = await wharf('user', 'create', 'CAROL');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already_exists/);
    const bad = await wharf('user', 'create', '../x');
    expect(bad.code).toBe(1);
    expect((await wharf('org', 'create', 'acme', '--owner', 'carol')).code).toBe(0);
    const token = await wharf('token', 'create', 'dave', '--scopes', 'repo');
    expect(token.code).toBe(0);
    // Only the token is printed, so scripts can capture it.
    expect(token.stdout).toMatch(/^wharf_[A-Za-z0-9_-]{43}\n$/);
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

    const revoke = await wharf('token', 'revoke', 'dave', '--last-eight', token.stdout.trim().slice(-8));
    expect(revoke.code).toBe(0);
    expect((await call('GET', `${server.api}/user`, { token: token.stdout.trim() })).status).toBe(401);
  });
});
