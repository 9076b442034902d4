/**
 * A pull mirror's sync under adversity, with real processes: SIGKILLed half-way through (after
 * its first asset) and restarted, it converges with nothing half-visible in between; an upstream
 * that answers 403 with `X-RateLimit-Remaining: 0` is waited out; an upstream that is down makes
 * `wharf mirror sync` exit 1 saying so. And the CLI: add (token from stdin), list, sync, remove.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/dialect.ts';
import { call } from '../support/http.ts';
import { createRepo, createUser, uploadReleaseAsset, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, releaseStores, startServer, storeEnv, type TestServer } from '../support/server.ts';
import { freePort, startServerProcess, type ServerProcess } from '../reliability/support/server-process.ts';
import { runWharf } from '../support/wharf-command.ts';
import { releaseShape } from './release-shape.ts';

let up: TestServer;
let upUser: TestUser;
let upFull: string;

async function uploadAsset(releaseId: number, name: string, bytes: Buffer): Promise<void> {
  await uploadReleaseAsset(up, upUser, upFull, releaseId, name, bytes);
}

async function releasesOf(api: string, full: string, token: string | null): Promise<any[]> {
  const res = await call('GET', `${api}/repos/${full}/releases?per_page=100`, { token });
  expect(res.status).toBe(200);
  return res.body;
}

beforeAll(async () => {
  up = await startServer();
  upUser = await createUser(up);
  upFull = (await createRepo(up, upUser, { auto_init: true })).full;
  for (const tag of ['v1.0.0', 'v1.1.0']) {
    const res = await call('POST', `${up.api}/repos/${upFull}/releases`, { token: upUser.token, body: { tag_name: tag, name: tag, body: `Notes ${tag}` } });
    expect(res.status).toBe(201);
    for (const n of [1, 2, 3]) await uploadAsset(res.body.id, `${tag}-part${n}.bin`, randomBytes(50_000 * n));
  }
}, 60_000);

afterAll(async () => {
  await up?.close();
});

describe('a sync killed half-way', () => {
  let srv: ServerProcess | null = null;
  let dataDir = '';
  afterAll(async () => {
    await srv?.kill9();
    if (dataDir) {
      await releaseStores(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('shows nothing half-done, and the next process converges', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-mirror-kill-'));
    const port = await freePort();
    const env: Record<string, string> = { ...(await storeEnv(dataDir)), WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_MIRROR_POLL_MS: '200' };
    srv = await startServerProcess(dataDir, port, { ...env, WHARF_TEST_CRASH_AT: 'mirror-asset-stored' });
    const auth = { authorization: `token ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const repo = await fetch(`${srv.api}/user/repos`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'mirror' }) });
    expect(repo.status).toBe(201);
    const full = `${((await repo.json()) as { owner: { login: string } }).owner.login}/mirror`;
    const set = await fetch(`${srv.api}/repos/${full}/mirror`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ upstream_url: `${up.base}/${upFull}`, token: upUser.token }),
    });
    expect(set.status).toBe(201);
    // The process kills itself once the first asset is stored.
    await new Promise<void>((resolve) => (srv!.child.exitCode !== null ? resolve() : srv!.child.once('exit', () => resolve())));
    expect(srv.child.signalCode).toBe('SIGKILL');

    // What it left: no release and no asset row (a release is created with its assets in one
    // transaction), only the bytes of the one asset it had stored, held for the blob collector.
    const handle = await openDatabase(env.WHARF_DATABASE_URL ?? `sqlite:${path.join(dataDir, 'wharf.db')}`);
    try {
      expect(await handle.db.selectFrom('releases').select(['tag_name', 'draft']).execute()).toEqual([]);
      expect(await handle.db.selectFrom('assets').select('state').execute()).toEqual([]);
      expect(await handle.db.selectFrom('blob_holds').select('blob_key').execute()).toHaveLength(1);
    } finally {
      await handle.close();
    }

    srv = await startServerProcess(dataDir, port, env);
    const deadline = Date.now() + 60_000;
    let mirror: any;
    for (;;) {
      mirror = await (await fetch(`${srv.api}/repos/${full}/mirror`, { headers: auth })).json();
      if (mirror.last_sync?.status === 'ok' || mirror.last_sync?.status === 'failed') break;
      if (Date.now() > deadline) throw new Error(JSON.stringify(mirror));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(mirror.last_sync.error).toBeNull();
    // Everything from the start: both releases with their six assets.
    expect(mirror.last_sync.summary).toMatchObject({ assetsStored: 6, releasesCreated: 2 });
    expect(releaseShape(await releasesOf(srv.api, full, ADMIN_TOKEN))).toEqual(releaseShape(await releasesOf(up.api, upFull, upUser.token)));
  }, 300_000);
});

/** Passes everything to the upstream, but answers the first releases listing "rate limit spent, resets in 2 s". */
function rateLimitingProxy(target: string): Promise<{ url: string; limited: () => number; close: () => Promise<void> }> {
  let limited = 0;
  const server = http.createServer((req, res) => {
    if (limited === 0 && /\/releases\?/.test(req.url ?? '')) {
      limited++;
      res.writeHead(403, { 'content-type': 'application/json', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1) });
      res.end(JSON.stringify({ message: 'API rate limit exceeded' }));
      return;
    }
    const t = new URL(target);
    const forward = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: { ...req.headers, host: t.host } }, (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.pipe(res);
    });
    req.pipe(forward);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ url: `http://127.0.0.1:${port}`, limited: () => limited, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

describe('wharf mirror (CLI)', () => {
  let down: TestServer;
  let downUser: TestUser;
  let env: Record<string, string>;
  const cli = (args: string[], input?: string) => runWharf(args, { env, input });

  beforeAll(async () => {
    // No scheduler on this node: only the CLI syncs.
    down = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false', WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' } });
    downUser = await createUser(down);
    env = { ...(await storeEnv(down.dataDir)), WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_MIRROR_MAX_RATE_LIMIT_WAIT_MS: '10000' };
  }, 30_000);
  afterAll(async () => {
    await down?.close();
  });

  it('adds a mirror with a token from stdin, waits out a spent rate limit, lists, and removes it', async () => {
    const proxy = await rateLimitingProxy(up.base);
    try {
      const { full } = await createRepo(down, downUser);
      const added = await cli(['mirror', 'add', `${proxy.url}/${upFull}`, full, '--token-stdin', '--schedule', '30m'], `${upUser.token}\n`);
      expect(added.stderr).not.toContain('Error');
      expect(added.code).toBe(0);
      expect(added.stdout).toContain(`into ${full}, every 30m (with a token)`);
      const started = Date.now();
      const synced = await cli(['mirror', 'sync', full]);
      expect(synced.code, synced.stderr).toBe(0);
      expect(proxy.limited()).toBe(1);
      expect(Date.now() - started).toBeGreaterThan(1000);
      expect(synced.stdout).toMatch(/releases 2 created .* assets 6 stored/);
      expect(releaseShape(await releasesOf(down.api, full, downUser.token))).toEqual(releaseShape(await releasesOf(up.api, upFull, upUser.token)));
      const row = await down.wharf.ctx.db.selectFrom('mirrors').select(['last_summary']).executeTakeFirstOrThrow();
      expect(JSON.parse(row.last_summary!).rateLimitWaits).toBe(1);
      const listed = await cli(['mirror', 'list']);
      expect(listed.stdout).toContain(full);
      expect(listed.stdout).toContain('ok');

      // The upstream goes down: the sync fails, says why, and exits 1.
      await proxy.close();
      const failed = await cli(['mirror', 'sync', full]);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/sync of .* failed: .*(ECONNREFUSED|unable to access)/);

      const removed = await cli(['mirror', 'remove', full]);
      expect(removed.code).toBe(0);
      expect((await cli(['mirror', 'sync', full])).code).toBe(1);
    } finally {
      await proxy.close().catch(() => undefined);
    }
  }, 300_000);
});
