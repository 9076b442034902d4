/**
 * release-it (with its built-in GitHub plugin, host set to Wharf) publishing a release with assets
 * from a real local git repository whose `origin` is Wharf over HTTPS. release-it only speaks https
 * to a GitHub host, checks the token (`GET /user`) and collaborator status, pushes the tag with
 * git, creates a draft, uploads through `upload_url` and publishes it.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import type { TestServer } from '../support/server.ts';
import { startTlsServer, type TestCa, type TlsTestServer } from '../support/tls.ts';

const run = promisify(execFile);
const RELEASE_IT = path.resolve('node_modules/release-it/bin/release-it.js');

let ca: TestCa;
let server: TestServer;
let alice: TestUser;
let full: string;
let work: WorkRepo;
let tls: TlsTestServer;

beforeAll(async () => {
  tls = await startTlsServer();
  ({ ca, server } = tls);
  alice = await createUser(server);
  full = (await createRepo(server, alice)).full;
  work = await WorkRepo.create();
  await writeFile(path.join(work.dir, '.gitignore'), 'dist/\n');
  await work.commit('feat: first feature', { date: '2024-03-01T10:00:00Z' });
  await work.git('tag', '1.0.0');
  await work.commit('fix: a bug', { date: '2024-03-02T10:00:00Z' });
  await work.push(server, full, alice.token, 'refs/heads/main', 'refs/tags/1.0.0');
  const remote = new URL(`${server.base}/${full}.git`);
  remote.username = 'x';
  remote.password = alice.token;
  await work.git('remote', 'add', 'origin', remote.toString());
  await work.git('fetch', '-q', 'origin');
  await work.git('branch', '-q', '--set-upstream-to=origin/main', 'main');
  await mkdir(path.join(work.dir, 'dist'));
  await writeFile(path.join(work.dir, 'dist', 'tool-linux.txt'), 'linux build\n');
  await writeFile(path.join(work.dir, 'dist', 'tool-macos.txt'), 'macos build\n');
  await writeFile(
    path.join(work.dir, '.release-it.json'),
    JSON.stringify({
      git: { commit: false, tag: true, push: true, requireCleanWorkingDir: false, requireCommits: false },
      npm: false,
      github: { release: true, host: new URL(server.base).host, assets: ['dist/*.txt'], releaseName: 'Release ${version}' },
    }),
  );
});
afterAll(() => tls.close());

describe('release-it with its GitHub plugin', () => {
  it('tags, pushes and publishes a release with assets to Wharf', async () => {
    const { stdout } = await run(process.execPath, [RELEASE_IT, '1.1.0', '--ci'], {
      cwd: work.dir,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH,
        HOME: work.dir,
        GITHUB_TOKEN: alice.token,
        NODE_EXTRA_CA_CERTS: ca.caFile,
        GIT_SSL_CAINFO: ca.caFile,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'Release Bot',
        GIT_AUTHOR_EMAIL: 'bot@example.com',
        GIT_COMMITTER_NAME: 'Release Bot',
        GIT_COMMITTER_EMAIL: 'bot@example.com',
        CI: 'true',
      },
    }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`release-it failed: ${err.stdout ?? ''}\n${err.stderr ?? err.message}`);
    });
    expect(stdout).toContain(`${server.base}/${full}/releases/tag/1.1.0`);

    const release = await call('GET', `${server.api}/repos/${full}/releases/tags/1.1.0`, { token: alice.token });
    expect(release.status).toBe(200);
    expect(release.body).toMatchObject({ name: 'Release 1.1.0', draft: false, prerelease: false });
    expect(release.body.body).toContain('fix: a bug');
    expect(release.body.assets.map((a: { name: string }) => a.name).sort()).toEqual(['tool-linux.txt', 'tool-macos.txt']);
    const asset = release.body.assets.find((a: { name: string }) => a.name === 'tool-linux.txt');
    const bytes = await call('GET', asset.browser_download_url, { redirect: 'follow', skipSchema: true });
    expect(bytes.text).toBe('linux build\n');
    const tag = await call('GET', `${server.api}/repos/${full}/git/ref/tags/1.1.0`, { token: alice.token });
    // release-it makes an annotated tag: the ref points at the tag object, which peels to HEAD.
    expect(tag.body.object).toMatchObject({ type: 'tag', sha: await work.git('rev-parse', '1.1.0') });
    expect(await work.git('rev-parse', '1.1.0^{commit}')).toBe(await work.git('rev-parse', 'HEAD'));
  });
});
