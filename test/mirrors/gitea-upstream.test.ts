/**
 * Pull mirrors of a Gitea/Forgejo upstream, through its own releases API. No Gitea runs here:
 * the upstream is test/mirrors/fake-gitea.ts, answering with the responses Gitea's API
 * documentation shows (recorded in fixtures/gitea-release.json), paged as Gitea pages (`limit`
 * capped at 50, `X-Total-Count`, `Link` on the server's own ROOT_URL). 250 releases, every fifth
 * with assets, over five pages; the dialect detected by `/api/v1/version`; the upstream's publication
 * times kept; upstream changes reconciled; the filters (tags, channels, last N, assets) through
 * the API and the CLI.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, storeEnv, type TestServer } from '../support/server.ts';
import { runWharf } from '../support/wharf-command.ts';
import { FakeGitea, type FakeRelease } from './fake-gitea.ts';
import { allReleases, pastSyncSecond, syncAndWait, waitForSync } from './sync-helpers.ts';

const run = promisify(execFile);
const RELEASES = 250;
const TOKEN = 'gitea_pat_3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';

let gitea: FakeGitea;
let down: TestServer;
let user: TestUser;

/** Gitea writes times in its server's zone: here UTC+01:00, whole seconds. */
function giteaTime(ms: number): string {
  return `${new Date(ms + 3_600_000).toISOString().slice(0, 19)}+01:00`;
}

const utc = (giteaStamp: string) => new Date(Date.parse(giteaStamp)).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What a Wharf reader should see of the fake's published releases. */
function expected(releases: FakeRelease[]) {
  return releases
    .filter((r) => !r.draft)
    .map((r) => ({
      tag: r.tag,
      // Gitea's untitled release ("") is GitHub's null name.
      name: r.name === '' ? null : r.name,
      body: r.body,
      prerelease: r.prerelease,
      published_at: utc(r.publishedAt),
      assets: r.assets
        .map((a) => ({ name: a.name, size: a.bytes.length, digest: `sha256:${createHash('sha256').update(a.bytes).digest('hex')}` }))
        .sort((x, y) => x.name.localeCompare(y.name)),
    }))
    .sort((x, y) => x.tag.localeCompare(y.tag));
}

function seen(releases: any[]) {
  return releases
    .map((r) => ({
      tag: r.tag_name,
      name: r.name,
      body: r.body,
      prerelease: r.prerelease,
      published_at: r.published_at,
      assets: r.assets.map((a: any) => ({ name: a.name, size: a.size, digest: a.digest })).sort((x: any, y: any) => x.name.localeCompare(y.name)),
    }))
    .sort((x, y) => x.tag.localeCompare(y.tag));
}

async function lsRemoteTags(full: string): Promise<string[]> {
  const url = new URL(`${down.base}/${full}.git`);
  url.username = 'x';
  url.password = user.token;
  const { stdout } = await run('git', ['ls-remote', '--tags', url.toString()], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[1]!.slice('refs/tags/'.length))
    .sort();
}

beforeAll(async () => {
  gitea = new FakeGitea();
  await gitea.start(40);
  gitea.token = TOKEN;
  const commits = await gitea.commits();
  const tags: Record<string, string> = {};
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < RELEASES; i++) {
    // Every tenth a release candidate (channel `rc`), a few flagged pre-release on a plain tag (`prerelease`).
    const tag = i % 10 === 9 ? `v0.${i}.0-rc.1` : `v0.${i}.0`;
    tags[tag] = commits[i % commits.length]!;
    gitea.addRelease({
      tag,
      name: i % 20 === 0 ? '' : `Tool ${tag}`,
      body: `Changes in ${tag}.`,
      draft: false,
      prerelease: i % 10 === 9 || i % 25 === 7,
      publishedAt: giteaTime(start + i * 3_600_000),
      // Every fifth with assets: a release with assets is published only once they are stored
      // (three writes instead of one), which is most of the sync's time.
      assets:
        i % 5 === 0
          ? [{ name: `tool-${i}.tar.gz`, bytes: randomBytes(64 + (i % 50)) }, ...(i % 50 === 0 ? [{ name: 'checksums.txt', bytes: Buffer.from(`${i}  tool\n`) }] : [])]
          : [],
    });
  }
  // A draft: Gitea lists drafts to writers; a mirror never takes one.
  gitea.addRelease({ tag: 'v9.9.9', name: 'draft', body: '', draft: true, prerelease: false, publishedAt: giteaTime(start) });
  await gitea.setTags(tags);
  down = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_MIRROR_POLL_MS: '200' } });
  user = await createUser(down);
}, 300_000);

afterAll(async () => {
  await down?.close();
  await gitea?.close();
});

describe('pull mirror of a Gitea upstream', () => {
  let full: string;

  it('detects Gitea and mirrors 250 releases over five pages, assets byte for byte, keeping the upstream publication times', async () => {
    full = (await createRepo(down, user)).full;
    const set = await call('PUT', `${down.api}/repos/${full}/mirror`, { token: user.token, skipSchema: true, body: { upstream_url: gitea.url, token: TOKEN } });
    expect(set.status, set.text).toBe(201);
    expect(set.body.kind).toBe('auto');
    // 250 releases, 50 published only once their assets are stored: minutes on a loaded machine.
    const mirror = await waitForSync(down, full, user.token, null, null, 400_000);
    expect(mirror.last_sync.error).toBeNull();
    expect(mirror.kind).toBe('gitea');
    const assetCount = gitea.releases.filter((r) => !r.draft).reduce((n, r) => n + r.assets.length, 0);
    expect(mirror.last_sync.summary).toMatchObject({ releasesCreated: RELEASES, assetsStored: assetCount });

    const ours = await allReleases(down, full, user.token);
    expect(ours).toHaveLength(RELEASES);
    expect(seen(ours)).toEqual(expected(gitea.releases));
    // Bytes of a few assets, by download.
    for (const release of ours.filter((r) => r.assets.length).filter((_r, i) => i % 12 === 0)) {
      const asset = release.assets[0];
      const res = await fetch(asset.browser_download_url, { headers: { authorization: `token ${user.token}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      const theirs = gitea.releases.find((r) => r.tag === release.tag_name)!.assets.find((a) => a.name === asset.name)!;
      expect(bytes.equals(theirs.bytes), asset.name).toBe(true);
    }
    expect(await lsRemoteTags(full)).toEqual(
      gitea.releases
        .filter((r) => !r.draft)
        .map((r) => r.tag)
        .sort(),
    );
    // Gitea's latest: the newest release that is not a pre-release.
    const latest = await call('GET', `${down.api}/repos/${full}/releases/latest`, { token: user.token });
    expect(latest.body.tag_name).toBe('v0.248.0');

    // Asked as Gitea is asked: its version once, each page by number on the address it is reached
    // by (its Link names its ROOT_URL), every API request and download with the token.
    const api = gitea.requests.filter((r) => !r.url.includes('.git/'));
    expect(api.filter((r) => r.url === '/api/v1/version')).toHaveLength(1);
    const pages = api.filter((r) => r.url.startsWith(`/api/v1/repos/acme/tool/releases?`)).map((r) => new URL(r.url, gitea.base).searchParams.get('page'));
    expect(pages).toEqual(['1', '2', '3', '4', '5']);
    expect(api.filter((r) => r.url.includes('/releases/download/'))).toHaveLength(assetCount);
    expect(api.filter((r) => r.url !== '/api/v1/version').every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  }, 450_000);

  it('reconciles upstream changes: edited notes, a deleted asset, a new and a deleted release', async () => {
    const edited = gitea.releases.find((r) => r.tag === 'v0.101.0')!;
    edited.body = 'Edited on Gitea.';
    const withChecksums = gitea.releases.find((r) => r.tag === 'v0.100.0')!;
    withChecksums.assets = withChecksums.assets.filter((a) => a.name !== 'checksums.txt');
    gitea.releases.splice(
      gitea.releases.findIndex((r) => r.tag === 'v0.3.0'),
      1,
    );
    const commits = await gitea.commits();
    await gitea.setTags({ 'v1.0.0': commits.at(-1)! });
    gitea.addRelease({
      tag: 'v1.0.0',
      name: 'One',
      body: 'Stable at last.',
      draft: false,
      prerelease: false,
      publishedAt: giteaTime(Date.UTC(2025, 5, 1, 12, 0, 0)),
      assets: [{ name: 'tool.zip', bytes: randomBytes(300) }],
    });
    const before = gitea.requests.length;
    const mirror = await syncAndWait(down, full, user.token);
    expect(mirror.last_sync.error).toBeNull();
    expect(mirror.last_sync.summary).toMatchObject({ releasesCreated: 1, releasesUpdated: 1, releasesDeleted: 1, assetsStored: 1, assetsDeleted: 1 });
    expect(seen(await allReleases(down, full, user.token))).toEqual(expected(gitea.releases));
    expect((await call('GET', `${down.api}/repos/${full}/releases/latest`, { token: user.token })).body.tag_name).toBe('v1.0.0');
    // The dialect is known now: not asked again.
    expect(gitea.requests.slice(before).filter((r) => r.url === '/api/v1/version')).toHaveLength(0);

    // Unchanged: nothing stored, nothing changed.
    const again = await syncAndWait(down, full, user.token);
    expect(again.last_sync.summary).toMatchObject({ refsChanged: 0, releasesCreated: 0, releasesUpdated: 0, releasesDeleted: 0, assetsStored: 0, assetsDeleted: 0 });
  }, 300_000);
});

describe('filters', () => {
  /** The fake's releases a mirror with these filters keeps: tag glob and channel, then the newest N. */
  const kept = (tagPrefix: string, stableOnly: boolean, last: number) =>
    [...gitea.releases]
      .reverse()
      .filter((r) => !r.draft && r.tag.startsWith(tagPrefix) && (!stableOnly || !r.prerelease))
      .slice(0, last)
      .map((r) => r.tag)
      .sort();

  it('keeps only the tags, channels, newest releases and assets asked for, said explicitly as Gitea', async () => {
    const { full } = await createRepo(down, user);
    const bad = await call('PUT', `${down.api}/repos/${full}/mirror`, { token: user.token, body: { upstream_url: gitea.url, kind: 'gitlab', channels: 'Stable!' } });
    expectGitHubError(bad, 422);
    expect(bad.body.errors.map((e: any) => e.field).sort()).toEqual(['channels', 'kind']);

    const set = await call('PUT', `${down.api}/repos/${full}/mirror`, {
      token: user.token,
      skipSchema: true,
      body: { upstream_url: gitea.url, kind: 'gitea', token: TOKEN, tags: 'v0.15*', channels: 'stable', last: 8, assets: '*.tar.gz' },
    });
    expect(set.status, set.text).toBe(201);
    expect(set.body).toMatchObject({ kind: 'gitea', tags: 'v0.15*', channels: 'stable', last: 8, assets: '*.tar.gz' });
    const mirror = await waitForSync(down, full, user.token, null);
    expect(mirror.last_sync.error).toBeNull();
    const ours = await allReleases(down, full, user.token);
    expect(ours.map((r) => r.tag_name).sort()).toEqual(kept('v0.15', true, 8));
    expect(ours.every((r) => !r.prerelease && r.assets.every((a: any) => a.name.endsWith('.tar.gz')))).toBe(true);
    // v0.150.0 has a checksums.txt upstream, which the asset filter left out.
    expect(gitea.releases.find((g) => g.tag === 'v0.150.0')!.assets).toHaveLength(2);
    expect(ours.find((r) => r.tag_name === 'v0.150.0').assets.map((a: any) => a.name)).toEqual(['tool-150.tar.gz']);

    // Pre-releases included: the channels of release candidates and flagged pre-releases.
    await pastSyncSecond(mirror.last_sync);
    const wider = await call('PUT', `${down.api}/repos/${full}/mirror`, {
      token: user.token,
      skipSchema: true,
      body: { upstream_url: gitea.url, kind: 'gitea', tags: 'v0.15*', channels: 'stable, rc,prerelease', last: 6 },
    });
    expect(wider.body).toMatchObject({ channels: 'stable,rc,prerelease', has_token: true });
    const synced = await waitForSync(down, full, user.token, mirror.last_sync.finished_at, mirror.last_sync.started_at);
    expect(synced.last_sync.error).toBeNull();
    const wide = await allReleases(down, full, user.token);
    expect(wide.map((r) => r.tag_name).sort()).toEqual(kept('v0.15', false, 6));
    expect(
      wide
        .filter((r) => r.prerelease)
        .map((r) => r.tag_name)
        .sort(),
    ).toEqual(['v0.157.0', 'v0.159.0-rc.1']);
  }, 300_000);

  it('takes --kind and --channels on the CLI', async () => {
    // No scheduler on this node: only the CLI syncs (it writes the same database).
    const node = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false', WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' } });
    try {
      const owner = await createUser(node);
      const { full } = await createRepo(node, owner);
      const env = { ...(await storeEnv(node.dataDir)), WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' };
      const cli = (args: string[], input?: string) => runWharf(args, { env, input });
      const added = await cli(['mirror', 'add', gitea.url, full, '--kind', 'gitea', '--token-stdin', '--channels', 'stable', '--tags', 'v0.2*', '--last', '3'], `${TOKEN}\n`);
      expect(added.code, added.stderr).toBe(0);
      const synced = await cli(['mirror', 'sync', full]);
      expect(synced.code, synced.stderr).toBe(0);
      expect(synced.stdout).toMatch(/releases 3 created/);
      expect((await allReleases(node, full, owner.token)).map((r) => r.tag_name).sort()).toEqual(kept('v0.2', true, 3));
    } finally {
      await node.close();
    }
  }, 300_000);
});

describe('a Gitea asset replaced by another of the same name and size', () => {
  // Its own small upstream: the 250 releases above are not synced again for this.
  let small: FakeGitea;
  beforeAll(async () => {
    small = new FakeGitea();
    await small.start(3);
    const commits = await small.commits();
    await small.setTags({ 'v1.0.0': commits[0]!, 'v1.1.0': commits[2]! });
    const at = Date.UTC(2024, 5, 1);
    small.addRelease({
      tag: 'v1.0.0',
      name: 'One',
      body: '',
      draft: false,
      prerelease: false,
      publishedAt: giteaTime(at),
      assets: [{ name: 'tool.bin', bytes: randomBytes(512) }],
    });
    small.addRelease({
      tag: 'v1.1.0',
      name: 'One one',
      body: '',
      draft: false,
      prerelease: false,
      publishedAt: giteaTime(at + 3_600_000),
      assets: [{ name: 'tool.bin', bytes: randomBytes(512) }],
    });
  }, 60_000);
  afterAll(async () => {
    await small?.close();
  });

  it('is downloaded again: its new id and uuid say it is another file, though name and size are the same', async () => {
    const { full } = await createRepo(down, user);
    const set = await call('PUT', `${down.api}/repos/${full}/mirror`, { token: user.token, skipSchema: true, body: { upstream_url: small.url, kind: 'gitea' } });
    expect(set.status, set.text).toBe(201);
    const first = await waitForSync(down, full, user.token, null);
    expect(first.last_sync.error).toBeNull();
    expect(first.last_sync.summary).toMatchObject({ releasesCreated: 2, assetsStored: 2 });
    const before = await allReleases(down, full, user.token);

    const original = small.releases.find((r) => r.tag === 'v1.1.0')!.assets[0]!;
    const replacement = small.replaceAsset('v1.1.0', 'tool.bin', randomBytes(original.bytes.length));
    expect(replacement.bytes.length).toBe(original.bytes.length);
    const downloadsBefore = small.requests.filter((r) => r.url.includes('/releases/download/')).length;
    const synced = await syncAndWait(down, full, user.token);
    expect(synced.last_sync.error).toBeNull();
    expect(synced.last_sync.summary).toMatchObject({ assetsStored: 1, assetsDeleted: 0, releasesCreated: 0 });
    // Only the replaced file was downloaded.
    const downloads = small.requests.filter((r) => r.url.includes('/releases/download/')).slice(downloadsBefore);
    expect(downloads.map((r) => r.url)).toEqual(['/acme/tool/releases/download/v1.1.0/tool.bin']);

    const after = await allReleases(down, full, user.token);
    const asset = after.find((r) => r.tag_name === 'v1.1.0').assets[0];
    expect(asset.size).toBe(512);
    expect(asset.digest).toBe(`sha256:${createHash('sha256').update(replacement.bytes).digest('hex')}`);
    const res = await fetch(asset.browser_download_url, { headers: { authorization: `token ${user.token}` } });
    expect(Buffer.from(await res.arrayBuffer()).equals(replacement.bytes)).toBe(true);
    // The other release's asset is untouched.
    expect(after.find((r) => r.tag_name === 'v1.0.0').assets).toEqual(before.find((r: any) => r.tag_name === 'v1.0.0').assets);

    // Unchanged since: nothing downloaded.
    const again = await syncAndWait(down, full, user.token);
    expect(again.last_sync.summary).toMatchObject({ assetsStored: 0, assetsDeleted: 0 });
  }, 120_000);
});
