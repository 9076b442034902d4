/**
 * Git and the database converge after a crash at the exact moment between them: a real Wharf
 * process kills itself with SIGKILL right after git has moved a ref and before the database has
 * recorded it (`WHARF_TEST_CRASH_AT`, see src/util/crash-points.ts), and a restarted process on the
 * same data must:
 * - remove the tag of a release whose transaction never committed, so a retried release makes a
 *   fresh one and no event describes the dead attempt;
 * - record a push's changes (a tag deleted, a branch created) with their events exactly once,
 *   attributed to the pusher, and turn the release whose tag went into a draft.
 * On PostgreSQL + S3 (`npm run test:pg`) every process runs on the same database and bucket.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkRepo } from '../support/fixtures.ts';
import { ADMIN_TOKEN, releaseStores, storeEnv } from '../support/server.ts';
import { freePort, startServerProcess, type ServerProcess } from './support/server-process.ts';
import { rowsAround } from './support/rows-around.ts';

const auth = { authorization: `token ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const run = promisify(execFile);

let dataDir: string;
let port: number;
let stores: Record<string, string>;
let srv: ServerProcess | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-refcrash-'));
  port = await freePort();
  stores = await storeEnv(dataDir);
});
afterAll(async () => {
  await srv?.kill9();
  await releaseStores(dataDir);
  await rm(dataDir, { recursive: true, force: true });
});

async function restart(crashAt?: string): Promise<ServerProcess> {
  await srv?.kill9();
  srv = await startServerProcess(dataDir, port, { ...stores, ...(crashAt ? { WHARF_TEST_CRASH_AT: crashAt } : {}) });
  return srv;
}

/** Rows of Wharf's database, read around Wharf (SQLite file or the test's PostgreSQL database). */
function query<T>(text: string, params: unknown[] = []): Promise<T[]> {
  return rowsAround<T>(dataDir, text, params);
}

type EventRow = { type: string; data: string };
async function eventsOf(repoId: number): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const rows = await query<EventRow>('select type, data from events where repository_id = ? order by id', [repoId]);
  return rows.map((r) => ({ type: r.type, data: JSON.parse(r.data) as Record<string, unknown> }));
}

async function gitRefs(repoId: number): Promise<Record<string, string>> {
  const gitDir = path.join(dataDir, 'repositories', String(repoId % 1000).padStart(3, '0'), `${repoId}.git`);
  const { stdout } = await run('git', ['--git-dir', gitDir, 'for-each-ref', '--format=%(refname) %(objectname)']);
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
}

/** A request the process dies during: the connection breaks instead of an answer. */
async function dies(request: Promise<unknown>): Promise<void> {
  await expect(request).rejects.toThrow();
  await new Promise<void>((resolve) => (srv!.child.exitCode !== null || srv!.child.signalCode !== null ? resolve() : srv!.child.once('exit', () => resolve())));
  expect(srv!.child.signalCode).toBe('SIGKILL');
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('git and the database converge after SIGKILL between them', () => {
  it("a release's tag made just before the kill is removed at restart; the retry makes it afresh, with its events once", async () => {
    await restart();
    const created = await fetch(`${srv!.api}/user/repos`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'tagcrash', auto_init: true }) });
    expect(created.status).toBe(201);
    const repoId = ((await created.json()) as { id: number }).id;

    await restart('release-tag-written');
    await dies(fetch(`${srv!.api}/repos/admin/tagcrash/releases`, { method: 'POST', headers: auth, body: JSON.stringify({ tag_name: 'v1.0.0' }) }));
    // The kill came after git: the tag is there, no release row is.
    expect(Object.keys(await gitRefs(repoId))).toContain('refs/tags/v1.0.0');

    await restart();
    expect(Object.keys(await gitRefs(repoId))).not.toContain('refs/tags/v1.0.0');
    const list = await fetch(`${srv!.api}/repos/admin/tagcrash/releases`, { headers: auth });
    expect(await list.json()).toEqual([]);
    expect((await eventsOf(repoId)).filter((e) => JSON.stringify(e.data).includes('v1.0.0'))).toEqual([]);

    const retried = await fetch(`${srv!.api}/repos/admin/tagcrash/releases`, { method: 'POST', headers: auth, body: JSON.stringify({ tag_name: 'v1.0.0' }) });
    expect(retried.status).toBe(201);
    expect(Object.keys(await gitRefs(repoId))).toContain('refs/tags/v1.0.0');
    const events = (await eventsOf(repoId)).filter((e) => JSON.stringify(e.data).includes('v1.0.0'));
    expect(events.map((e) => e.type)).toEqual(['release.created', 'release.published', 'release.released', 'ref.created', 'push']);
    expect(await query('select ref from ref_intents')).toEqual([]);
  }, 180_000);

  it("a push killed after git moved its refs gets its events once, the pusher's, at restart; the release of the deleted tag becomes a draft", async () => {
    if (!srv || srv.child.exitCode !== null || srv.child.signalCode !== null) await restart();
    const created = await fetch(`${srv!.api}/user/repos`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'pushcrash', auto_init: true }) });
    const repoId = ((await created.json()) as { id: number }).id;
    const published = await fetch(`${srv!.api}/repos/admin/pushcrash/releases`, { method: 'POST', headers: auth, body: JSON.stringify({ tag_name: 'v2' }) });
    expect(published.status).toBe(201);
    const release = (await published.json()) as { id: number };
    const adminId = (await (await fetch(`${srv!.api}/user`, { headers: auth })).json()) as { id: number };
    const mainSha = (await gitRefs(repoId))['refs/heads/main']!;
    const before = (await eventsOf(repoId)).length;

    const work = await WorkRepo.create();
    const url = new URL(`${srv!.base}/admin/pushcrash.git`);
    url.username = 'x';
    url.password = ADMIN_TOKEN;
    await work.git('fetch', '-q', url.toString(), 'main');

    await restart('push-refs-moved');
    const pushUrl = new URL(url);
    pushUrl.port = String(port);
    await dies(work.git('-c', 'credential.helper=', 'push', '-q', pushUrl.toString(), ':refs/tags/v2', `${mainSha}:refs/heads/feature`));
    const moved = await gitRefs(repoId);
    expect(moved['refs/tags/v2']).toBeUndefined();
    expect(moved['refs/heads/feature']).toBe(mainSha);

    await restart();
    const draft = await until('the release to become a draft', async () => {
      const res = await fetch(`${srv!.api}/repos/admin/pushcrash/releases/${release.id}`, { headers: auth });
      const body = (await res.json()) as { draft: boolean };
      return body.draft ? body : null;
    });
    expect(draft.draft).toBe(true);
    const events = (await eventsOf(repoId)).slice(before);
    expect(events.map((e) => e.type).sort()).toEqual(['push', 'push', 'ref.created', 'ref.deleted', 'release.unpublished']);
    for (const e of events) expect(e.data.actorId, e.type).toBe(adminId.id);
    expect(events.find((e) => e.type === 'ref.deleted')!.data).toMatchObject({ refType: 'tag', ref: 'v2' });
    expect(events.find((e) => e.type === 'ref.created')!.data).toMatchObject({ refType: 'branch', ref: 'feature', sha: mainSha });

    // Another restart finds nothing more to record.
    await restart();
    await new Promise((r) => setTimeout(r, 500));
    expect((await eventsOf(repoId)).slice(before)).toHaveLength(events.length);
  }, 180_000);
});
