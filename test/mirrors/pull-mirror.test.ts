/**
 * Pull mirrors between two Wharf instances on loopback (the upstream speaks GitHub's REST API):
 * git refs, releases over several pages, assets byte for byte with their digests, upstream
 * changes reconciled, a second sync of an unchanged upstream answered by 304s only, the mirror
 * read-only, and the outbound address rules.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, uploadReleaseAsset, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { releaseShape } from './release-shape.ts';
import { allReleases, pastSyncSecond, syncAndWait, waitForSync } from './sync-helpers.ts';

const run = promisify(execFile);
/** Three pages of 20 (WHARF_MIRROR_PAGE_SIZE): the mirror must follow `Link: rel="next"`. */
const RELEASES = 45;

let up: TestServer;
let down: TestServer;
let upUser: TestUser;
let downUser: TestUser;
let upRepo: string;
const assetBytes = new Map<string, Buffer>();

async function uploadAsset(releaseId: number, name: string, bytes: Buffer): Promise<number> {
  const { id } = await uploadReleaseAsset(up, upUser, `${upUser.login}/${upRepo}`, releaseId, name, bytes);
  assetBytes.set(name, bytes);
  return id;
}

async function createUpstreamRelease(tag: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await call('POST', `${up.api}/repos/${upUser.login}/${upRepo}/releases`, {
    token: upUser.token,
    body: { tag_name: tag, name: `Release ${tag}`, body: `Notes of ${tag}`, ...extra },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id as number;
}

async function lsRemote(server: TestServer, full: string, token: string): Promise<string> {
  const url = new URL(`${server.base}/${full}.git`);
  url.username = 'x';
  url.password = token;
  const { stdout } = await run('git', ['ls-remote', url.toString()], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return stdout
    .split('\n')
    .filter((l) => /\trefs\/(heads|tags)\//.test(l))
    .sort()
    .join('\n');
}

beforeAll(async () => {
  // The upstream's answers show download counts at once (its read cache may otherwise answer with
  // counts up to WHARF_READ_CACHE_TTL_MS old, changing a page between two later syncs).
  up = await startServer({ env: { WHARF_READ_CACHE_TTL_MS: '0' } });
  down = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_MIRROR_POLL_MS: '200', WHARF_MIRROR_PAGE_SIZE: '20' } });
  upUser = await createUser(up);
  downUser = await createUser(down);
  upRepo = (await createRepo(up, upUser, { auto_init: true })).name;
  // Releases in parallel batches (each makes its tag through git).
  for (let i = 0; i < RELEASES; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, RELEASES - i) }, (_, j) => createUpstreamRelease(`v1.0.${i + j}`, { prerelease: (i + j) % 7 === 3 })));
  }
  const withAssets = await createUpstreamRelease('v2.0.0', { body: '## Changes\n\n* byte-for-byte `assets`\n' });
  await uploadAsset(withAssets, 'tool-linux-amd64.tar.gz', randomBytes(300_000));
  await uploadAsset(withAssets, 'checksums.txt', Buffer.from('abc  tool\n'));
  const other = await createUpstreamRelease('v1.0.5-extra');
  await uploadAsset(other, 'notes.bin', randomBytes(4096));
}, 120_000);

afterAll(async () => {
  await down?.close();
  await up?.close();
});

describe('pull mirror of another Wharf', () => {
  let full: string;

  it('mirrors refs, every release (over pages) and the assets byte for byte', async () => {
    full = (await createRepo(down, downUser)).full;
    const set = await call('PUT', `${down.api}/repos/${full}/mirror`, {
      token: downUser.token,
      skipSchema: true,
      body: { upstream_url: `${up.base}/${upUser.login}/${upRepo}`, token: upUser.token, schedule: '1h' },
    });
    expect(set.status, set.text).toBe(201);
    expect(set.body).toMatchObject({ upstream_url: `${up.base}/${upUser.login}/${upRepo}`, has_token: true, schedule: '1h', prune: true });
    expect(JSON.stringify(set.body)).not.toContain(upUser.token);
    const mirror = await waitForSync(down, full, downUser.token, null);
    expect(mirror.last_sync.error).toBeNull();
    expect(mirror.last_sync.status).toBe('ok');
    expect(mirror.last_sync.summary).toMatchObject({ releasesCreated: RELEASES + 2, assetsStored: 3 });

    const theirs = await allReleases(up, `${upUser.login}/${upRepo}`, upUser.token);
    const ours = await allReleases(down, full, downUser.token);
    expect(ours).toHaveLength(RELEASES + 2);
    expect(releaseShape(ours)).toEqual(releaseShape(theirs));
    // Published when the upstream published them, not when the sync did.
    const publishedAt = (releases: any[]) => Object.fromEntries(releases.map((r) => [r.tag_name, r.published_at]));
    expect(publishedAt(ours)).toEqual(publishedAt(theirs));
    // Bytes: each asset downloads to the upstream's bytes, and its digest says so.
    for (const release of ours.filter((r) => r.assets.length)) {
      for (const asset of release.assets) {
        const res = await fetch(asset.browser_download_url, { headers: { authorization: `token ${downUser.token}` } });
        const bytes = Buffer.from(await res.arrayBuffer());
        expect(bytes.equals(assetBytes.get(asset.name)!), asset.name).toBe(true);
        expect(asset.digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      }
    }
    expect(await lsRemote(down, full, downUser.token)).toBe(await lsRemote(up, `${upUser.login}/${upRepo}`, upUser.token));
    const latestUp = await call('GET', `${up.api}/repos/${upUser.login}/${upRepo}/releases/latest`, { token: upUser.token });
    const latestDown = await call('GET', `${down.api}/repos/${full}/releases/latest`, { token: downUser.token });
    expect(latestDown.body.tag_name).toBe(latestUp.body.tag_name);

    // The mirrored changes recorded the normal domain events.
    const published = await down.wharf.ctx.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('type', '=', 'release.published')
      .executeTakeFirstOrThrow();
    expect(Number(published.n)).toBe(RELEASES + 2);
    // A release arriving whole with its assets: `created`, each `uploaded`, `published`, `released`,
    // every release event carrying the release's assets as they are stored.
    const v2 = ours.find((r) => r.tag_name === 'v2.0.0')!;
    const v2Events = (await down.wharf.ctx.db.selectFrom('events').select(['type', 'data']).orderBy('id').execute())
      .map((e) => ({ type: e.type, data: JSON.parse(e.data) }))
      .filter((e) => e.data.release?.id === v2.id);
    expect(v2Events.map((e) => e.type)).toEqual(['release.created', 'release_asset.uploaded', 'release_asset.uploaded', 'release.published', 'release.released']);
    const storedAssets = await down.wharf.ctx.db.selectFrom('assets').selectAll().where('release_id', '=', v2.id).orderBy('id').execute();
    expect(storedAssets.map((a) => a.name).sort()).toEqual(['checksums.txt', 'tool-linux-amd64.tar.gz']);
    // (As stored when recorded: the downloads above have counted since.)
    const asRecorded = JSON.parse(JSON.stringify(storedAssets.map((a) => ({ ...a, download_count: 0 }))));
    for (const e of v2Events.filter((e) => e.type.startsWith('release.'))) expect(e.data.assets).toEqual(asRecorded);
    expect(v2Events.filter((e) => e.type === 'release_asset.uploaded').map((e) => e.data.asset.id)).toEqual(storedAssets.map((a) => a.id));
    // The token is stored sealed, never in clear.
    const row = await down.wharf.ctx.db.selectFrom('mirrors').select('token_sealed').executeTakeFirstOrThrow();
    expect(row.token_sealed).toMatch(/^v1:/);
    expect(row.token_sealed).not.toContain(upUser.token);
  }, 300_000);

  it('syncs an unchanged upstream with conditional requests only (all answered 304)', async () => {
    // The first sync's downloads moved the upstream's download counts (a changed page, as on
    // GitHub); the sync after the one that saw that finds nothing changed at all.
    expect((await syncAndWait(down, full, downUser.token)).last_sync.summary.assetsStored).toBe(0);
    const mirror = await syncAndWait(down, full, downUser.token);
    expect(mirror.last_sync.status).toBe('ok');
    const s = mirror.last_sync.summary;
    expect(s.requests).toBeGreaterThan(1);
    expect(s.notModified).toBe(s.requests);
    expect(s).toMatchObject({ refsChanged: 0, releasesCreated: 0, releasesUpdated: 0, releasesDeleted: 0, assetsStored: 0, assetsDeleted: 0 });
  }, 300_000);

  it('reconciles upstream changes: edited notes, deleted asset, new release, deleted release', async () => {
    const upFull = `${upUser.login}/${upRepo}`;
    const v2 = (await call('GET', `${up.api}/repos/${upFull}/releases/tags/v2.0.0`, { token: upUser.token })).body;
    expect((await call('PATCH', `${up.api}/repos/${upFull}/releases/${v2.id}`, { token: upUser.token, body: { body: 'Edited notes', prerelease: true } })).status).toBe(200);
    const checksums = v2.assets.find((a: any) => a.name === 'checksums.txt');
    expect((await call('DELETE', `${up.api}/repos/${upFull}/releases/assets/${checksums.id}`, { token: upUser.token })).status).toBe(204);
    const v3 = await createUpstreamRelease('v3.0.0');
    await uploadAsset(v3, 'v3.zip', randomBytes(20_000));
    const gone = (await call('GET', `${up.api}/repos/${upFull}/releases/tags/v1.0.1`, { token: upUser.token })).body;
    expect((await call('DELETE', `${up.api}/repos/${upFull}/releases/${gone.id}`, { token: upUser.token })).status).toBe(204);

    const mirror = await syncAndWait(down, full, downUser.token);
    expect(mirror.last_sync.error).toBeNull();
    expect(mirror.last_sync.summary).toMatchObject({ releasesCreated: 1, releasesUpdated: 1, releasesDeleted: 1, assetsStored: 1, assetsDeleted: 1 });
    expect(releaseShape(await allReleases(down, full, downUser.token))).toEqual(releaseShape(await allReleases(up, upFull, upUser.token)));
    const latestDown = await call('GET', `${down.api}/repos/${full}/releases/latest`, { token: downUser.token });
    expect(latestDown.body.tag_name).toBe('v3.0.0');
  }, 300_000);

  it('is read-only to everyone but its sync, and says why', async () => {
    const res = await call('POST', `${down.api}/repos/${full}/releases`, { token: downUser.token, body: { tag_name: 'v9.9.9' } });
    expectGitHubError(res, 403, /pull mirror of/);
    const ref = await call('POST', `${down.api}/repos/${full}/git/refs`, { token: downUser.token, body: { ref: 'refs/heads/x', sha: '0'.repeat(40) } });
    expect([403, 422]).toContain(ref.status);
    const release = (await call('GET', `${down.api}/repos/${full}/releases/latest`, { token: downUser.token })).body;
    expectGitHubError(await call('DELETE', `${down.api}/repos/${full}/releases/${release.id}`, { token: downUser.token }), 403, /read-only/);
  });

  it('refuses a repository with releases, bad settings, and non-administrators', async () => {
    const plain = await createRepo(down, downUser, { auto_init: true });
    expect((await call('POST', `${down.api}/repos/${plain.full}/releases`, { token: downUser.token, body: { tag_name: 'v1' } })).status).toBe(201);
    const refused = await call('PUT', `${down.api}/repos/${plain.full}/mirror`, { token: downUser.token, body: { upstream_url: `${up.base}/a/b` } });
    expectGitHubError(refused, 422, /cannot become a mirror/);
    const bad = await call('PUT', `${down.api}/repos/${plain.full}/mirror`, { token: downUser.token, body: { upstream_url: 'ftp://x/a/b', schedule: '5s' } });
    expectGitHubError(bad, 422);
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['schedule', 'upstream_url']);
    const stranger = await createUser(down);
    expect((await call('GET', `${down.api}/repos/${full}/mirror`, { token: stranger.token })).status).toBe(403);
    expect((await call('GET', `${down.api}/repos/${plain.full}/mirror`, { token: downUser.token })).status).toBe(404);
  });

  it('stops mirroring on DELETE and keeps what it has', async () => {
    const before = await allReleases(down, full, downUser.token);
    expect((await call('DELETE', `${down.api}/repos/${full}/mirror`, { token: downUser.token })).status).toBe(204);
    expect((await call('GET', `${down.api}/repos/${full}/mirror`, { token: downUser.token })).status).toBe(404);
    expect(await allReleases(down, full, downUser.token)).toHaveLength(before.length);
    // An ordinary repository again: writable.
    expect((await call('POST', `${down.api}/repos/${full}/releases`, { token: downUser.token, body: { tag_name: 'local-1', draft: true } })).status).toBe(201);
  });
});

describe('filters', () => {
  it('mirrors only the tags, the newest releases and the assets the filters name', async () => {
    const { full } = await createRepo(down, downUser);
    const set = await call('PUT', `${down.api}/repos/${full}/mirror`, {
      token: downUser.token,
      skipSchema: true,
      body: { upstream_url: `${up.base}/${upUser.login}/${upRepo}`, token: upUser.token, tags: 'v[12].*', assets: '*.tar.gz', last: 2 },
    });
    expect(set.status, set.text).toBe(201);
    expect(set.body).toMatchObject({ tags: 'v[12].*', assets: '*.tar.gz', last: 2 });
    const mirror = await waitForSync(down, full, downUser.token, null);
    expect(mirror.last_sync.error).toBeNull();
    // `[` is literal (these globs know `*` and `?` only): no tag matches, nothing is mirrored.
    expect(await allReleases(down, full, downUser.token)).toHaveLength(0);

    await pastSyncSecond(mirror.last_sync);
    const again = await call('PUT', `${down.api}/repos/${full}/mirror`, {
      token: downUser.token,
      skipSchema: true,
      body: { upstream_url: `${up.base}/${upUser.login}/${upRepo}`, token: upUser.token, tags: 'v2.*', assets: '*.tar.gz', last: 1 },
    });
    expect(again.status).toBe(200);
    const synced = await waitForSync(down, full, downUser.token, mirror.last_sync.finished_at, mirror.last_sync.started_at);
    expect(synced.last_sync.error).toBeNull();
    const ours = await allReleases(down, full, downUser.token);
    expect(ours.map((r) => r.tag_name)).toEqual(['v2.0.0']);
    expect(ours[0].assets.map((a: any) => a.name)).toEqual(['tool-linux-amd64.tar.gz']);
    const tags = await lsRemote(down, full, downUser.token);
    expect(tags).toContain('refs/tags/v2.0.0');
    expect(tags).not.toContain('refs/tags/v1.0.0');
  }, 300_000);
});

describe('outbound address rules', () => {
  it('refuses a loopback upstream unless WHARF_OUTBOUND_ALLOWED_HOSTS allows it, and says so', async () => {
    const strict = await startServer({ env: { WHARF_MIRROR_POLL_MS: '200' } });
    try {
      const user = await createUser(strict);
      const { full } = await createRepo(strict, user);
      const set = await call('PUT', `${strict.api}/repos/${full}/mirror`, { token: user.token, skipSchema: true, body: { upstream_url: `${up.base}/${upUser.login}/${upRepo}` } });
      expect(set.status).toBe(201);
      const mirror = await waitForSync(strict, full, user.token, null);
      expect(mirror.last_sync.status).toBe('failed');
      expect(mirror.last_sync.error).toMatch(/internal address not allowed by WHARF_OUTBOUND_ALLOWED_HOSTS/);
      expect(await allReleases(strict, full, user.token)).toHaveLength(0);
    } finally {
      await strict.close();
    }
  }, 30_000);
});
