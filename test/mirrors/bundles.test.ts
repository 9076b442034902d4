/**
 * Offline bundles between two Wharf instances with no network path between them: A exports to a
 * file, B imports it (docs/mirrors.md). B trusts A's key only once told to (`wharf keys trust`);
 * a bundle with one flipped byte in an asset, the manifest or the signature, or cut short, is
 * refused with the reason and leaves nothing behind (no repository, rows, refs or blobs); an
 * import applies every digest and the release attestation A signed, changes nothing the second
 * time, and an incremental bundle (`--since`) applies on top of the first. And the CLI's exit codes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReleaseBundle } from '../../src/attestations/verify-bundle.ts';
import { gitDirFor } from '../../src/context.ts';
import { exportBundle } from '../../src/services/bundle-export.ts';
import { detachBundleOrigin, importBundle } from '../../src/services/bundle-import.ts';
import { snapshotRefs } from '../../src/services/refs.ts';
import { trustRoot } from '../../src/services/trusted-roots.ts';
import { call } from '../support/http.ts';
import { createRepo, createUser, uploadReleaseAsset, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, storeEnv, type TestServer } from '../support/server.ts';
import { runWharf } from '../support/wharf-command.ts';
import { releaseShape } from './release-shape.ts';

let a: TestServer;
let b: TestServer;
let aUser: TestUser;
let bUser: TestUser;
let full: string;
let work: WorkRepo;
let dir: string;
let trustedRoot: string;

/** `wharf ARGS…` on `server`'s instance, with `extra` in its environment. */
async function wharfWith(extra: Record<string, string>, server: TestServer, ...args: string[]) {
  return runWharf(args, { env: { ...(await storeEnv(server.dataDir)), ...extra } });
}

function wharf(server: TestServer, ...args: string[]) {
  return wharfWith({}, server, ...args);
}

async function uploadAsset(releaseId: number, name: string, bytes: Buffer, label?: string): Promise<void> {
  await uploadReleaseAsset(a, aUser, full, releaseId, name, bytes, { label, contentType: 'application/x-test' });
}

async function releasesOf(server: TestServer, repo: string, token: string): Promise<any[]> {
  const res = await call('GET', `${server.api}/repos/${repo}/releases?per_page=100`, { token });
  expect(res.status).toBe(200);
  return res.body;
}

async function refsOf(server: TestServer): Promise<Map<string, string>> {
  const [owner, name] = full.split('/');
  const repo = await server.wharf.ctx.db
    .selectFrom('repositories')
    .innerJoin('accounts', 'accounts.id', 'repositories.owner_id')
    .selectAll('repositories')
    .where('accounts.login', '=', owner!)
    .where('repositories.name', '=', name!)
    .executeTakeFirstOrThrow();
  return snapshotRefs(gitDirFor(server.wharf.ctx, repo));
}

/** Where each member's bytes start in a tar file, and how many there are. */
function tarMembers(tar: Buffer): Map<string, { offset: number; size: number }> {
  const members = new Map<string, { offset: number; size: number }>();
  let at = 0;
  while (at + 512 <= tar.length && tar[at] !== 0) {
    const name = tar
      .subarray(at, at + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim(),
      8,
    );
    members.set(name, { offset: at + 512, size });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

async function tampered(source: string, name: string, mutate: (bytes: Buffer) => Buffer): Promise<string> {
  const out = path.join(dir, name);
  await writeFile(out, mutate(await readFile(source)));
  return out;
}

/** What B holds: repositories, releases, assets, holds and blobs (after a sweep of unreferenced bytes). */
async function holdings(server: TestServer) {
  const db = server.wharf.ctx.db;
  const count = async (table: 'repositories' | 'releases' | 'assets' | 'blob_holds' | 'bundle_origins') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const blobs: string[] = [];
  for await (const blob of server.wharf.ctx.blobs.list()) blobs.push(blob.key);
  return {
    repositories: await count('repositories'),
    releases: await count('releases'),
    assets: await count('assets'),
    holds: await count('blob_holds'),
    origins: await count('bundle_origins'),
    blobs: blobs.sort(),
  };
}

const bytesOne = randomBytes(40_000);
const bytesTwo = randomBytes(30_000);

beforeAll(async () => {
  a = await startServer();
  // B's own background work stays off: its CLI imports write the same SQLite database.
  b = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false' } });
  dir = await mkdtemp(path.join(tmpdir(), 'wharf-bundles-'));
  aUser = await createUser(a);
  bUser = await createUser(b, aUser.login);
  full = (await createRepo(a, aUser)).full;
  work = await WorkRepo.create();
  await work.commit('first');
  await work.git('tag', 'v1.0.0');
  await work.commit('second');
  await work.git('tag', '-a', 'v1.1.0', '-m', 'annotated');
  await work.push(a, full, aUser.token, '--all');
  await work.push(a, full, aUser.token, '--tags');
  // v1.0.0 immutable with two assets (one of them twice, under another name: stored once), v1.1.0 plain.
  expect((await call('PUT', `${a.api}/repos/${full}/immutable-releases`, { token: aUser.token })).status).toBe(204);
  const one = await call('POST', `${a.api}/repos/${full}/releases`, { token: aUser.token, body: { tag_name: 'v1.0.0', name: 'One', body: 'first *notes*', draft: true } });
  await uploadAsset(one.body.id, 'tool-linux.tar.gz', bytesOne, 'Linux build');
  await uploadAsset(one.body.id, 'tool-copy.tar.gz', bytesOne);
  await uploadAsset(one.body.id, 'tool.zip', bytesTwo);
  expect((await call('PATCH', `${a.api}/repos/${full}/releases/${one.body.id}`, { token: aUser.token, body: { draft: false } })).status).toBe(200);
  expect((await call('DELETE', `${a.api}/repos/${full}/immutable-releases`, { token: aUser.token })).status).toBe(204);
  const two = await call('POST', `${a.api}/repos/${full}/releases`, { token: aUser.token, body: { tag_name: 'v1.1.0', name: 'Two', body: 'second', prerelease: true } });
  expect(two.status).toBe(201);
  await uploadAsset(two.body.id, 'notes.txt', Buffer.from('plain notes\n'));
  const root = await fetch(`${a.base}/.well-known/wharf/trusted-root.json`);
  trustedRoot = path.join(dir, 'a-trusted-root.json');
  await writeFile(trustedRoot, await root.text());
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('offline bundles', () => {
  let bundleFile: string;

  it('exports a repository to one signed file', async () => {
    bundleFile = path.join(dir, 'full.wharf-bundle');
    const out = await wharf(a, 'bundle', 'export', full, '-o', bundleFile);
    expect(out.stderr).not.toMatch(/\[#/); // no progress bar off a terminal
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/2 releases, 4 assets \(3 distinct\)/);
    const members = [...tarMembers(await readFile(bundleFile)).keys()];
    expect(members.slice(0, 4)).toEqual(['manifest.json', 'manifest.sigstore.json', 'releases.json', 'refs.bundle']);
    expect(members.filter((m) => m.startsWith('blobs/sha256/'))).toHaveLength(3);
  }, 60_000);

  it('refuses a bundle signed by a key the instance does not trust, importing nothing', async () => {
    const before = await holdings(b);
    const out = await wharf(b, 'bundle', 'import', bundleFile);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/bundle refused: the bundle is signed by key [0-9a-f]{64}, which this instance does not trust; add .*wharf keys trust/);
    expect(await holdings(b)).toEqual(before);
  }, 60_000);

  it('trusts another instance by its trusted root and lists its keys', async () => {
    const bad = path.join(dir, 'not-a-root.json');
    await writeFile(bad, '{"mediaType":"x"}');
    await expect(trustRoot(b.wharf.ctx, bad, await readFile(bad, 'utf8'))).rejects.toThrow(/no signing keys/);
    const out = await wharf(b, 'keys', 'trust', trustedRoot);
    expect(out.code).toBe(0);
    const keyId = JSON.parse(await readFile(trustedRoot, 'utf8')).wharfSigningKeys[0].keyId as string;
    expect(out.stdout).toContain(keyId);
    const list = await wharf(b, 'keys', 'list');
    expect(list.stdout).toMatch(new RegExp(`${keyId}\\s+trusted for bundles`));
    expect(list.stdout).toMatch(/signing\s/);
  }, 180_000);

  it('refuses a flipped byte in an asset, the manifest or the signature, and a truncated file, leaving nothing behind', async () => {
    const source = await readFile(bundleFile);
    const members = tarMembers(source);
    const asset = [...members].find(([n]) => n.startsWith('blobs/'))![1];
    const manifest = members.get('manifest.json')!;
    const signature = members.get('manifest.sigstore.json')!;
    const sigText = source.subarray(signature.offset, signature.offset + signature.size).toString('utf8');
    // A byte inside the base64 signature value itself, not the JSON around it.
    const sigValueAt = signature.offset + sigText.indexOf('"sig":"') + '"sig":"'.length + 10;
    const flip = (at: number) => (bytes: Buffer) => {
      const copy = Buffer.from(bytes);
      copy[at] = copy[at]! === 0x41 ? 0x42 : 0x41;
      return copy;
    };
    const cases: Array<[string, (b: Buffer) => Buffer, RegExp]> = [
      [
        'asset.bundle',
        flip(asset.offset + 1000),
        /blobs\/sha256\/[0-9a-f]{64} has sha256 [0-9a-f]{64}, not the [0-9a-f]{64} the manifest states: the bundle was changed after it was signed/,
      ],
      ['manifest.bundle', flip(manifest.offset + Math.floor(manifest.size / 2)), /the manifest is not the one its signature covers|signature does not verify/],
      ['signature.bundle', flip(sigValueAt), /the manifest's signature does not verify/],
      ['truncated.bundle', (bytes) => bytes.subarray(0, asset.offset + 5000), /truncated/],
    ];
    const before = await holdings(b);
    expect(before.repositories).toBe(0);
    // The command line once (its exit code and message), the service itself for the others.
    const [first, ...others] = cases;
    const out = await wharf(b, 'bundle', 'import', await tampered(bundleFile, first![0], first![1]));
    expect(out.code, out.stderr).toBe(1);
    expect(out.stderr).toMatch(/wharf: bundle refused: /);
    expect(out.stderr).toMatch(first![2]);
    expect(await holdings(b)).toEqual(before);
    for (const [name, mutate, reason] of others) {
      const file = await tampered(bundleFile, name, mutate);
      await expect(importBundle(b.wharf.ctx, { file, into: null, as: null }), name).rejects.toThrow(reason);
      expect(await holdings(b), name).toEqual(before);
    }
  }, 120_000);

  it('imports into the other instance with every digest and the attestation verified, read-only there', async () => {
    const out = await wharf(b, 'bundle', 'import', bundleFile);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(
      new RegExp(`imported ${full} into ${full} \\(new repository\\): \\d+ refs changed, releases 2 created / 0 updated, assets 4 stored / 0 deleted, 1 attestations kept`),
    );
    const ours = await releasesOf(a, full, aUser.token);
    const theirs = await releasesOf(b, full, bUser.token);
    expect(releaseShape(theirs)).toEqual(releaseShape(ours));
    // The bytes B serves are A's.
    const linux = theirs.find((r) => r.tag_name === 'v1.0.0').assets.find((x: any) => x.name === 'tool-linux.tar.gz');
    const download = await fetch(linux.browser_download_url.replace(/^https?:\/\/[^/]+/, b.base));
    expect(Buffer.from(await download.arrayBuffer()).equals(bytesOne)).toBe(true);
    // Refs: the same branches and tags, annotated tag included.
    expect(await refsOf(b)).toEqual(await refsOf(a));
    expect((await refsOf(b)).get('refs/tags/v1.1.0')).toBe(await work.git('rev-parse', 'v1.1.0'));
    // A's release attestation is kept in B and verifies there against A's trusted root.
    const digest = linux.digest as string;
    const att = await call('GET', `${b.api}/repos/${full}/attestations/${digest}`, { token: bUser.token, skipSchema: true });
    expect(att.status).toBe(200);
    expect(att.body.attestations).toHaveLength(1);
    const verified = verifyReleaseBundle(JSON.stringify(att.body.attestations[0].bundle), await readFile(trustedRoot), {
      repository: full,
      tag: 'v1.0.0',
      sha256: digest.slice(7),
    });
    // Two assets share these bytes; the attestation names both.
    expect(['tool-copy.tar.gz', 'tool-linux.tar.gz']).toContain(verified.name);
    // Read-only: releases follow the origin.
    const edit = await call('PATCH', `${b.api}/repos/${full}/releases/${theirs[0].id}`, { token: bUser.token, body: { name: 'changed' } });
    expect(edit.status).toBe(403);
    expect(edit.body.message).toMatch(/imported from offline bundles of .*read-only here/);
  }, 120_000);

  it('changes nothing when the same bundle is imported again', async () => {
    const db = b.wharf.ctx.db;
    const events = async () =>
      Number(
        (
          await db
            .selectFrom('events')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = { events: await events(), holdings: await holdings(b), releases: releaseShape(await releasesOf(b, full, bUser.token)) };
    const out = await wharf(b, 'bundle', 'import', bundleFile);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/nothing to change \(already imported\)/);
    expect({ events: await events(), holdings: await holdings(b), releases: releaseShape(await releasesOf(b, full, bUser.token)) }).toEqual(before);
  }, 60_000);

  it('applies each release in one transaction with the dates of the origin: killed in one, it leaves no part of it, and the next import completes', async () => {
    const into = `${bUser.login}/interrupted`;
    const killed = await wharfWith({ WHARF_TEST_CRASH_AT: 'bundle-release-applying' }, b, 'bundle', 'import', bundleFile, '--into', into);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // Killed inside the first release's transaction: the repository and its refs are there, no release and no asset.
    const db = b.wharf.ctx.db;
    const repo = await db.selectFrom('repositories').select('id').where('name', '=', 'interrupted').executeTakeFirstOrThrow();
    expect(await db.selectFrom('releases').select('id').where('repository_id', '=', repo.id).execute()).toEqual([]);
    expect(await db.selectFrom('assets').select('id').where('repository_id', '=', repo.id).execute()).toEqual([]);

    const out = await wharf(b, 'bundle', 'import', bundleFile, '--into', into);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/releases 2 created \/ 0 updated, assets 4 stored \/ 0 deleted, 1 attestations kept/);
    const ours = await releasesOf(a, full, aUser.token);
    const theirs = await releasesOf(b, into, bUser.token);
    expect(releaseShape(theirs)).toEqual(releaseShape(ours));
    // Created and published when the origin created and published them, not when imported.
    const dates = (releases: any[]) =>
      releases.map((r) => ({ tag: r.tag_name, created_at: r.created_at, published_at: r.published_at })).sort((x, y) => x.tag.localeCompare(y.tag));
    expect(dates(theirs)).toEqual(dates(ours));
  }, 120_000);

  it('applies an incremental bundle on top of the earlier one, and refuses it where that is missing', async () => {
    await work.commit('third');
    await work.git('tag', 'v1.2.0');
    await work.push(a, full, aUser.token, '--all');
    await work.push(a, full, aUser.token, '--tags');
    const three = await call('POST', `${a.api}/repos/${full}/releases`, { token: aUser.token, body: { tag_name: 'v1.2.0', name: 'Three', body: 'third' } });
    await uploadAsset(three.body.id, 'tool.zip', bytesTwo); // bytes B has already
    await uploadAsset(three.body.id, 'extra.bin', randomBytes(5000));
    const incremental = path.join(dir, 'since.wharf-bundle');
    const exported = await exportBundle(a.wharf.ctx, { repository: full, since: 'v1.1.0', tags: null, output: incremental });
    expect(exported).toMatchObject({ releases: 1, assets: 2, blobs: 2, refs: 2 }); // main and v1.2.0

    await expect(importBundle(b.wharf.ctx, { file: incremental, into: `${bUser.login}/elsewhere`, as: null })).rejects.toThrow(
      /incremental bundle \(after v1\.1\.0\) and .*elsewhere does not exist: import the earlier bundle first/,
    );

    const out = await wharf(b, 'bundle', 'import', incremental);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/releases 1 created \/ 0 updated, assets 2 stored/);
    expect(releaseShape(await releasesOf(b, full, bUser.token))).toEqual(releaseShape(await releasesOf(a, full, aUser.token)));
    const latest = await call('GET', `${b.api}/repos/${full}/releases/latest`, { token: bUser.token });
    expect(latest.body.tag_name).toBe('v1.2.0');
  }, 120_000);

  it('detaching from the origin makes the repository writable again, and it then takes no more bundles', async () => {
    expect(await detachBundleOrigin(b.wharf.ctx, full)).toBe(full);
    const release = (await releasesOf(b, full, bUser.token))[0];
    const edit = await call('PATCH', `${b.api}/repos/${full}/releases/${release.id}`, { token: bUser.token, body: { name: 'edited here' } });
    expect(edit.status).toBe(200);
    await expect(importBundle(b.wharf.ctx, { file: bundleFile, into: null, as: null })).rejects.toThrow(/has releases of its own/);
  }, 60_000);

  it('says what is wrong with the arguments (exit 1 for a refusal, 2 for usage)', async () => {
    const missing = await wharf(b, 'bundle', 'import', path.join(dir, 'no-such-file'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/bundle refused: there is no file/);
    await expect(exportBundle(a.wharf.ctx, { repository: `${aUser.login}/nothing`, output: path.join(dir, 'x'), since: null, tags: null })).rejects.toThrow(
      /there is no repository/,
    );
    await expect(exportBundle(a.wharf.ctx, { repository: full, output: path.join(dir, 'x'), since: 'v9', tags: null })).rejects.toThrow(/has no published release v9/);
    const usage = await wharf(a, 'bundle', 'export', full);
    expect(usage.code).toBe(2);
  }, 60_000);
});
