/**
 * Budgets on git work: archives are capped by the size of what they would hold (a tree that
 * repeats one blob is cheap to push and ruinous to archive), and git processes come from a bounded
 * pool; a request that cannot get a slot in time is answered 503 with `Retry-After` rather than
 * waiting without end or starting yet another process.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandSlots, streamSlots } from '../../src/git/git-slots.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { portOf } from './support/raw-http.ts';

const MiB = 1024 * 1024;
let server: TestServer;
let owner: TestUser;

beforeAll(async () => {
  server = await startServer({
    env: {
      WHARF_MAX_ARCHIVE_SIZE: String(8 * MiB),
      WHARF_GIT_MAX_STREAMS: '1',
      WHARF_GIT_QUEUE_TIMEOUT_MS: '500',
      // The held stream below trickles its body; it must not be cut off by the body watch.
      WHARF_BODY_MIN_RATE: '0',
    },
  });
  owner = await createUser(server);
});
afterAll(async () => server?.close());

describe('source archives', () => {
  it('refuses an archive larger than the configured cap with a clear error, before git runs', async () => {
    const { full } = await createRepo(server, owner);
    const work = await WorkRepo.create();
    // One 1 MiB blob under 64 names: a push of a few KiB, an archive of 64 MiB.
    writeFileSync(path.join(work.dir, 'blob'), Buffer.alloc(MiB, 'a'));
    const blob = await work.git('hash-object', '-w', 'blob');
    const entries = Array.from({ length: 64 }, (_, i) => `100644 blob ${blob}\tcopy-${i}.txt`).join('\n');
    const tree = execFileSync('git', ['mktree'], { cwd: work.dir, input: `${entries}\n`, encoding: 'utf8' }).trim();
    const commit = await work.git('commit-tree', tree, '-m', 'bomb');
    await work.git('update-ref', 'refs/heads/main', commit);
    await work.push(server, full, owner.token, 'main');

    for (const url of [`${server.api}/repos/${full}/tarball/main`, `${server.base}/${full}/archive/refs/heads/main.zip`]) {
      const started = Date.now();
      const res = await fetch(url, { headers: { authorization: `token ${owner.token}` } });
      expect(res.status, url).toBe(413);
      expect(await res.text()).toMatch(/67108864 bytes, more than this server.{1,6}s limit of 8388608 bytes/);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    // A tree within the cap is served.
    await work.git('rm', '-q', '--cached', '-r', '--ignore-unmatch', '.');
    const small = await work.commit('small');
    await work.git('update-ref', 'refs/heads/small', small);
    await work.push(server, full, owner.token, 'refs/heads/small');
    const ok = await fetch(`${server.api}/repos/${full}/tarball/small`, { headers: { authorization: `token ${owner.token}` } });
    expect(ok.status).toBe(200);
    expect((await ok.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});

describe('the git process pool', () => {
  it('answers 503 with Retry-After when no git slot frees in time, and serves again once one does', async () => {
    const { full } = await createRepo(server, owner, { auto_init: true });
    // Holds the only stream slot: a fetch whose request body never finishes.
    const holder = net.connect(portOf(server.base), '127.0.0.1');
    holder.on('error', () => undefined);
    holder.write(`POST /${full}.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 100000\r\n\r\n0032want `);
    await new Promise((r) => setTimeout(r, 500));

    const res = await fetch(`${server.api}/repos/${full}/tarball/main`, { headers: { authorization: `token ${owner.token}` } });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(await res.text()).message).toMatch(/retry later/);

    // The client holding the slot goes away: its git process dies and the slot is free again.
    holder.destroy();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      const again = await fetch(`${server.api}/repos/${full}/tarball/main`, { headers: { authorization: `token ${owner.token}` } });
      status = again.status;
      await again.arrayBuffer();
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});

describe('rate limits on git and archives', () => {
  it('counts anonymous git traffic and web archives against the same budget as the API', async () => {
    const limited = await startServer({ env: { WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_ANONYMOUS: '4', WHARF_RATE_LIMIT_AUTHENTICATED: '1000' } });
    try {
      const user = await createUser(limited);
      const { full } = await createRepo(limited, user, { auto_init: true });
      const refs = () => fetch(`${limited.base}/${full}.git/info/refs?service=git-upload-pack`);
      const archive = () => fetch(`${limited.base}/${full}/archive/refs/heads/main.tar.gz`);
      const statuses = [];
      for (const get of [refs, archive, refs, archive, refs, archive]) {
        const res = await get();
        await res.arrayBuffer();
        statuses.push(res.status);
        if (res.status === 403) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 403, 403]);
      // The API sees the same spent budget.
      expect((await fetch(`${limited.api}/repos/${full}`)).status).toBe(403);
    } finally {
      await limited.close();
    }
  });
});

describe('GraphQL rate limit', () => {
  it('charges each query its cost, as GitHub computes it, and refuses once the budget is spent', async () => {
    const limited = await startServer({ env: { WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_AUTHENTICATED: '8' } });
    try {
      const user = await createUser(limited);
      const { full } = await createRepo(limited, user, { auto_init: true });
      const [o, n] = full.split('/');
      // Three aliases, each 1 fetch of 100 releases plus 100 fetches of their assets: 303 fetches, cost 3.
      const page = (alias: string) => `${alias}: repository(owner: "${o}", name: "${n}") { releases(first: 100) { nodes { releaseAssets(first: 100) { nodes { name } } } } }`;
      const query = `{ ${page('a')} ${page('b')} ${page('c')} rateLimit { cost limit remaining used resetAt } }`;
      const ask = async () =>
        (
          await fetch(`${limited.base}/api/graphql`, {
            method: 'POST',
            headers: { authorization: `token ${user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ query }),
          })
        ).json();
      const first = await ask();
      expect(first.errors).toBeUndefined();
      expect(first.data.rateLimit).toMatchObject({ cost: 3, limit: 8, remaining: 5, used: 3 });
      expect((await ask()).data.rateLimit).toMatchObject({ cost: 3, remaining: 2, used: 6 });
      const spent = await ask();
      expect(spent.data).toBeUndefined();
      expect(spent.errors).toEqual([{ type: 'RATE_LIMITED', message: expect.stringContaining('API rate limit exceeded') }]);
      // A cheap query costs one point, the least any query costs.
      const cheap = await startServer({ env: { WHARF_RATE_LIMIT: 'true' } });
      try {
        const other = await createUser(cheap);
        const res = await fetch(`${cheap.base}/api/graphql`, {
          method: 'POST',
          headers: { authorization: `token ${other.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ viewer { login } rateLimit { cost } }' }),
        });
        expect((await res.json()).data.rateLimit.cost).toBe(1);
      } finally {
        await cheap.close();
      }
    } finally {
      await limited.close();
    }
  });
});

describe('turns in the git pool', () => {
  it('keys GraphQL and git callers by user, anonymous ones by address, so one query waits behind itself', async () => {
    const single = await startServer({ env: { WHARF_GIT_MAX_PROCESSES: '1', WHARF_GIT_QUEUE_TIMEOUT_MS: '60000' } });
    const keys = new Set<string>();
    const acquire = commandSlots.acquire.bind(commandSlots);
    const streamAcquire = streamSlots.acquire.bind(streamSlots);
    commandSlots.acquire = (caller) => (caller && keys.add(caller.key), acquire(caller));
    streamSlots.acquire = (caller) => (caller && keys.add(caller.key), streamAcquire(caller));
    try {
      const heavy = await createUser(single);
      const light = await createUser(single);
      const { full } = await createRepo(single, heavy, { auto_init: true, private: false });
      const [o, n] = full.split('/');
      for (let i = 0; i < 24; i++) {
        const res = await call('POST', `${single.api}/repos/${full}/releases`, { token: heavy.token, body: { tag_name: `v${i}` } });
        expect(res.status).toBe(201);
      }
      const graphql = (user: TestUser, query: string) =>
        fetch(`${single.base}/api/graphql`, {
          method: 'POST',
          headers: { authorization: `token ${user.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        }).then(async (res) => ({ body: await res.json(), at: Date.now() }));
      keys.clear();
      // 24 tag reads at once from one user, with one git process allowed: they queue up.
      const big = graphql(heavy, `{ repository(owner: "${o}", name: "${n}") { releases(first: 24) { nodes { tagCommit { oid } } } } }`);
      for (let i = 0; i < 200 && commandSlots.waiting < 8; i++) await new Promise((r) => setTimeout(r, 10));
      expect(commandSlots.waiting).toBeGreaterThanOrEqual(8);
      // Another user from the same address is served in its own turn, not behind all of them.
      const small = graphql(light, `{ repository(owner: "${o}", name: "${n}") { release(tagName: "v0") { tagCommit { oid } } } }`);
      const [b, s] = await Promise.all([big, small]);
      expect(b.body.errors).toBeUndefined();
      expect(b.body.data.repository.releases.nodes.every((r: { tagCommit: { oid: string } | null }) => r.tagCommit?.oid)).toBe(true);
      expect(s.body.data.repository.release.tagCommit.oid).toMatch(/^[0-9a-f]{40}$/);
      expect(s.at).toBeLessThan(b.at);
      expect(keys).toEqual(new Set([`user:${heavy.id}`, `user:${light.id}`]));

      // Git over HTTP: a token's fetch is its user's; an anonymous archive is its address's.
      keys.clear();
      const refs = await fetch(`${single.base}/${full}.git/info/refs?service=git-upload-pack`, {
        headers: { authorization: `Basic ${Buffer.from(`${heavy.login}:${heavy.token}`).toString('base64')}` },
      });
      expect(refs.status).toBe(200);
      await refs.arrayBuffer();
      const archive = await fetch(`${single.base}/${full}/archive/refs/heads/main.tar.gz`);
      expect(archive.status).toBe(200);
      await archive.arrayBuffer();
      expect(keys).toEqual(new Set([`user:${heavy.id}`, 'ip:127.0.0.1']));
    } finally {
      commandSlots.acquire = acquire;
      streamSlots.acquire = streamAcquire;
      await single.close();
    }
  }, 240_000);
});
