/**
 * Shapes of hostile input the fuzzers do not generate, each on every entry point it reaches:
 *
 * - Bodies trickling one byte at a time, far below the minimum rate, on every route that reads a
 *   body (API JSON, generate-notes, webhooks, GraphQL, the sign-in and release forms, git
 *   fetch and push): each is ended with its 408, readable by the client, and leaves nothing behind
 *   (no git process, no `open` asset, no descriptor).
 * - Pathological trees, cheap to push: one blob repeated under many names (an archive far larger
 *   than the push), a file 300 directories deep, 20,000 files, and a `.github/release.yml` of
 *   32 MiB. Archives, generate-notes and the commit and release pages answer within their budgets
 *   (the archive cap, the configuration file's cap) and the server keeps answering.
 *
 * Caps are set low so the whole file runs in seconds.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { WebClient } from '../web/web-client.ts';
import { workingChildGits as childGits, workingProcessesIn } from '../support/processes.ts';
import { openDescriptors } from './support/fuzz-kit.ts';
import { basicAuth } from './support/git-probe.ts';
import { connect, portOf, trickle, type RawResponse } from './support/raw-http.ts';

const MiB = 1024 * 1024;
/** The server of the block running now: bodies cut off fast for trickling, caps set low for trees. */
let server: TestServer;
let owner: TestUser;

/** git processes this test process started (the server runs in it). */
async function settled(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!(await check()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return check();
}

describe('bodies trickling below the minimum rate', () => {
  let full: string;
  let releaseId: number;
  beforeAll(async () => {
    server = await startServer({ env: { WHARF_BODY_TIMEOUT_MS: '400', WHARF_BODY_MIN_RATE: '1024', WHARF_IDLE_TIMEOUT_MS: '2000' } });
    owner = await createUser(server, uniqueName('shapes'));
    full = (await createRepo(server, owner, { auto_init: true })).full;
    const release = await call('POST', `${server.api}/repos/${full}/releases`, { token: owner.token, body: { tag_name: 'v1' } });
    releaseId = release.body.id;
  }, 120_000);
  afterAll(async () => server?.close());

  it('are ended with 408 on every route that reads a body, and leave nothing behind', async () => {
    const signIn = await new WebClient(server.base).get('/login');
    const csrf = WebClient.csrfOf(signIn);
    const token = `token ${owner.token}`;
    const json = 'application/json';
    const form = 'application/x-www-form-urlencoded';
    const routes: Array<{ name: string; target: string; headers: Record<string, string>; body: string }> = [
      { name: 'API create release', target: `/api/v3/repos/${full}/releases`, headers: { authorization: token, 'content-type': json }, body: '{"tag_name":"trickled","name":"' },
      { name: 'API generate-notes', target: `/api/v3/repos/${full}/releases/generate-notes`, headers: { authorization: token, 'content-type': json }, body: '{"tag_name":"v2"' },
      { name: 'API webhook', target: `/api/v3/repos/${full}/hooks`, headers: { authorization: token, 'content-type': json }, body: '{"config":{"url":"' },
      { name: 'GraphQL', target: '/api/graphql', headers: { authorization: token, 'content-type': json }, body: '{"query":"{ viewer { login } }' },
      { name: 'sign-in form', target: '/session', headers: { 'content-type': form, cookie: `wharf_signin=${csrf}` }, body: `_csrf=${csrf}&login=` },
      { name: 'release form', target: `/${full}/releases`, headers: { 'content-type': form }, body: 'tag_name=' },
      // An upload's own watch (it renews the upload's lease on progress) ends it the same way,
      // and removes its `open` asset.
      {
        name: 'API upload',
        target: `/api/uploads/repos/${full}/releases/${releaseId}/assets?name=trickled.bin`,
        headers: { authorization: token, 'content-type': 'application/octet-stream' },
        body: '',
      },
      {
        name: 'git fetch',
        target: `/${full}.git/git-upload-pack`,
        headers: { authorization: basicAuth(owner.token), 'content-type': 'application/x-git-upload-pack-request' },
        body: '0032want ',
      },
      {
        name: 'git push',
        target: `/${full}.git/git-receive-pack`,
        headers: { authorization: basicAuth(owner.token), 'content-type': 'application/x-git-receive-pack-request' },
        body: '0094',
      },
    ];
    const descriptorsBefore = openDescriptors();
    const answers = await Promise.all(
      routes.map(async (route): Promise<[string, RawResponse]> => {
        const conn = await connect(portOf(server.base));
        const headers = Object.entries({ host: 'localhost', 'content-length': '100000', ...route.headers })
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
        conn.write(`POST ${route.target} HTTP/1.1\r\n${headers}\r\n${route.body}`);
        // One byte every 100 ms: 10 bytes per second against a minimum of 1024, never idle.
        return [
          route.name,
          await trickle(
            conn,
            Array.from({ length: 600 }, () => 'a'),
            100,
          ),
        ];
      }),
    );
    for (const [name, answer] of answers) {
      expect(answer.status, `${name}: ${answer.body.slice(0, 200)}`).toBe(408);
      // Ended soon after the grace period, not when the 100,000 bytes would have come.
      expect(answer.elapsed, name).toBeLessThan(20_000);
      // GitHub's error shape where the route speaks JSON.
      if (name.startsWith('API') || name === 'GraphQL')
        expect(JSON.parse(answer.body), `${name}: ${answer.body}`).toMatchObject({ message: expect.any(String), documentation_url: expect.any(String) });
    }
    // Nothing is left: no git process, no unfinished upload, no descriptor. Not only the processes
    // Wharf started: `git http-backend` runs `git receive-pack` as its own child, and a
    // `git-http-backend` whose body was cut off copied nothing forever at full CPU, outliving the
    // server, when only the process Wharf started was killed.
    expect(await settled(() => childGits() === 0 && workingProcessesIn(server.dataDir).length === 0, 5_000), JSON.stringify(workingProcessesIn(server.dataDir))).toBe(true);
    const openAssets = () => server.wharf.ctx.db.selectFrom('assets').select('id').where('release_id', '=', releaseId).execute();
    expect(await settled(async () => (await openAssets()).length === 0)).toBe(true);
    expect(await settled(() => openDescriptors() <= descriptorsBefore + 2)).toBe(true);
    // The server answers as before.
    expect((await call('GET', `${server.api}/repos/${full}/releases/${releaseId}`, { token: owner.token })).status).toBe(200);
  }, 120_000);
});

/** Builds commits with `git fast-import`: trees of any shape without writing a file to disk. */
function fastImport(dir: string, stream: Buffer[]): void {
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: Buffer.concat(stream), maxBuffer: 64 * MiB });
}

function data(bytes: Buffer | string): Buffer[] {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return [Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n')];
}

function commit(branch: string, message: string, files: Array<[string, string]>): Buffer[] {
  return [
    Buffer.from(`commit refs/heads/${branch}\ncommitter Shape <shape@example.com> 1700000000 +0000\n`),
    ...data(message),
    Buffer.from(files.map(([mark, path]) => `M 100644 ${mark} ${path}\n`).join('') + '\n'),
  ];
}

describe('pathological trees', () => {
  let repo: string;
  beforeAll(async () => {
    // Body deadlines as shipped: the push of these trees is slow to pack on a loaded machine.
    server = await startServer({ env: { WHARF_MAX_ARCHIVE_SIZE: String(8 * MiB), WHARF_MAX_ARCHIVE_FILES: '10000' } });
    owner = await createUser(server, uniqueName('trees'));
    repo = (await createRepo(server, owner)).full;
    const work = await WorkRepo.create();
    const deepPath = `${Array.from({ length: 300 }, () => 'd').join('/')}/deep.txt`;
    fastImport(work.dir, [
      Buffer.from('blob\nmark :1\n'),
      ...data(Buffer.alloc(MiB, 'a')),
      Buffer.from('blob\nmark :2\n'),
      ...data('small\n'),
      Buffer.from('blob\nmark :3\n'),
      ...data(Buffer.alloc(32 * MiB)),
      // One 1 MiB blob under 64 names: a push of a few KiB, an archive of 64 MiB.
      ...commit(
        'repeated',
        'repeated',
        Array.from({ length: 64 }, (_, i): [string, string] => [':1', `copy-${i}.bin`]),
      ),
      ...commit('deep', 'deep', [[':2', deepPath]]),
      ...commit(
        'wide',
        'wide',
        Array.from({ length: 20_000 }, (_, i): [string, string] => [':2', `w/${i % 100}/f${i}.txt`]),
      ),
      ...commit('config', 'config', [
        [':2', 'README.md'],
        [':3', '.github/release.yml'],
      ]),
    ]);
    await work.push(server, repo, owner.token, 'refs/heads/repeated', 'refs/heads/deep', 'refs/heads/wide', 'refs/heads/config');
  }, 180_000);
  afterAll(async () => server?.close());

  const get = async (url: string) => {
    const started = Date.now();
    const res = await fetch(url, { headers: { authorization: `token ${owner.token}` } });
    const bytes = (await res.arrayBuffer()).byteLength;
    return { status: res.status, bytes, ms: Date.now() - started, text: '' };
  };

  it('archives of a repeated blob or of too many files are refused before git starts; a deep tree is served', async () => {
    // 20,000 one-line files: a zip of them cost git 15 s of CPU (a compressor set up per file).
    for (const branch of ['repeated', 'wide']) {
      for (const url of [
        `${server.api}/repos/${repo}/tarball/${branch}`,
        `${server.api}/repos/${repo}/zipball/${branch}`,
        `${server.base}/${repo}/archive/refs/heads/${branch}.zip`,
      ]) {
        const res = await fetch(url, { headers: { authorization: `token ${owner.token}` } });
        expect(res.status, url).toBe(413);
        expect(await res.text(), url).toMatch(branch === 'wide' ? /20000 files, more than this server.{1,6}s limit of 10000 files/ : /67108864 bytes, more than/);
      }
    }
    const tar = await get(`${server.api}/repos/${repo}/tarball/deep`);
    expect(tar.status).toBe(200);
    expect(tar.bytes).toBeGreaterThan(100);
    expect((await get(`${server.base}/${repo}/archive/refs/heads/deep.zip`)).status).toBe(200);
    expect(await settled(() => childGits() === 0)).toBe(true);
  }, 120_000);

  it('generate-notes, commit and release pages answer on every shape; a 32 MiB release.yml is refused from its size', async () => {
    for (const branch of ['repeated', 'deep', 'wide']) {
      const notes = await call('POST', `${server.api}/repos/${repo}/releases/generate-notes`, {
        token: owner.token,
        body: { tag_name: `notes-${branch}`, target_commitish: branch },
      });
      expect(notes.status, branch).toBe(200);
      const commitJson = await call('GET', `${server.api}/repos/${repo}/commits/${branch}`, { token: owner.token });
      expect(commitJson.status, branch).toBe(200);
      const created = await call('POST', `${server.api}/repos/${repo}/releases`, { token: owner.token, body: { tag_name: `r-${branch}`, target_commitish: branch } });
      expect(created.status, branch).toBe(201);
    }
    const page = await fetch(`${server.base}/${repo}/releases`, { headers: { accept: 'text/html', authorization: `token ${owner.token}` } });
    expect(page.status).toBe(200);
    const before = process.memoryUsage().arrayBuffers;
    const notes = await call('POST', `${server.api}/repos/${repo}/releases/generate-notes`, { token: owner.token, body: { tag_name: 'v-config', target_commitish: 'config' } });
    expectGitHubError(notes, 422);
    expect(notes.text).toContain('is larger than 262144 bytes');
    // Read whole, the file alone would have held 32 MiB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * MiB);
    expect(await settled(() => childGits() === 0)).toBe(true);
  }, 120_000);
});
