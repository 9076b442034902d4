/**
 * hub 2.14 (Debian's package) inside a clone whose `origin` is Wharf over HTTPS. hub finds
 * releases only by listing them (drafts included), sends whole release objects as create bodies
 * and insists on exact status codes (201 create/upload, 200 edit, 204 delete).
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import type { TestServer } from '../support/server.ts';
import { startTlsServer, type TestCa, type TlsTestServer } from '../support/tls.ts';
import { needs, TOOLS } from '../support/tools.ts';

const run = promisify(execFile);

let ca: TestCa;
let server: TestServer;
let alice: TestUser;
let full: string;
let work: WorkRepo;
let tls: TlsTestServer;

async function hub(...args: string[]): Promise<string> {
  const { stdout } = await run('hub', args, {
    cwd: work.dir,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      HOME: work.dir,
      GITHUB_HOST: new URL(server.base).host,
      GITHUB_TOKEN: alice.token,
      GITHUB_USER: alice.login,
      SSL_CERT_FILE: ca.caFile,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_TERMINAL_PROMPT: '0',
    },
  }).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`hub ${args.join(' ')} failed: ${err.stderr || err.message}`);
  });
  return stdout;
}

beforeAll(async () => {
  tls = await startTlsServer();
  ({ ca, server } = tls);
  alice = await createUser(server);
  full = (await createRepo(server, alice)).full;
  work = await WorkRepo.create();
  await work.commit('initial');
  await work.push(server, full, alice.token, 'refs/heads/main');
  await work.git('remote', 'add', 'origin', `${server.base}/${full}.git`);
  await writeFile(path.join(work.dir, 'a.zip'), 'zip bytes');
});
afterAll(() => tls.close());

describe.skipIf(!needs(TOOLS.hub))('hub', () => {
  it('creates (draft and published), shows, downloads, edits and deletes releases', async () => {
    const url = await hub('release', 'create', '-m', 'Title', '-m', 'Body text', '-a', 'a.zip#Archive', 'v1.0.0');
    expect(url.trim()).toBe(`${server.base}/${full}/releases/tag/v1.0.0`);
    await hub('release', 'create', '-d', '-m', 'Draft', 'v2.0.0');

    const show = await hub('release', 'show', '--format=%T|%t|%b|%as', 'v1.0.0');
    expect(show).toContain('v1.0.0|Title|Body text|');
    const draft = await hub('release', 'show', '--format=%T %S', 'v2.0.0');
    expect(draft.trim()).toBe('v2.0.0 draft');
    expect((await hub('release', '-d')).trim().split('\n').sort()).toEqual(['v1.0.0', 'v2.0.0']);

    // hub downloads into the working directory and refuses to overwrite: remove the local copy first.
    await rm(path.join(work.dir, 'a.zip'));
    await hub('release', 'download', 'v1.0.0');
    expect(await readFile(path.join(work.dir, 'a.zip'), 'utf8')).toBe('zip bytes');

    await hub('release', 'edit', '--draft=false', '-m', 'Published draft', 'v2.0.0');
    const published = await call('GET', `${server.api}/repos/${full}/releases/tags/v2.0.0`, { token: alice.token });
    expect(published.body).toMatchObject({ name: 'Published draft', draft: false });

    await hub('release', 'delete', 'v2.0.0');
    expect((await call('GET', `${server.api}/repos/${full}/releases/tags/v2.0.0`, { token: alice.token })).status).toBe(404);
  });
});
