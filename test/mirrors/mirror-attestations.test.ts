/**
 * Upstream attestations of a pull mirror, between Wharf instances on loopback (docs/mirrors.md):
 * the upstream's release attestation of an immutable release is listed by the mirror byte for
 * byte and verifies offline against the upstream's trusted root (sigstore-js and `wharf verify`);
 * one added upstream later appears after the next sync, one removed there goes; attestations
 * whose subjects are not the mirrored bytes (a wrong digest, a wrong commit) are refused and the
 * sync says so; and an offline bundle of the mirror carries them to a third instance, which
 * verifies them against the upstream's root before it keeps them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, privateKeyFromPem } from '../../src/attestations/key-material.ts';
import type { InTotoStatement } from '../../src/attestations/release-statement.ts';
import { signStatement } from '../../src/attestations/sign-bundle.ts';
import { verifyReleaseBundle } from '../../src/attestations/verify-bundle.ts';
import { exportBundle } from '../../src/services/bundle-export.ts';
import { importBundle } from '../../src/services/bundle-import.ts';
import { trustRoot } from '../../src/services/trusted-roots.ts';
import { call } from '../support/http.ts';
import { createRepo, createUser, uploadReleaseAsset, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { assertDotcomResponse } from '../support/webhook-schemas.ts';
import { runWharf } from '../support/wharf-command.ts';
import { syncAndWait, waitForSync } from './sync-helpers.ts';

const RELEASE_PREDICATE = 'https://in-toto.io/attestation/release/v0.1';

let up: TestServer;
let down: TestServer;
let third: TestServer;
let upUser: TestUser;
let downUser: TestUser;
let thirdUser: TestUser;
let upFull: string;
let mirrorFull: string;
let dir: string;
let upRoot: string;
const toolBytes = randomBytes(50_000);
const sumsBytes = Buffer.from('abc  tool\n');
const v2Bytes = randomBytes(10_000);

async function uploadAsset(releaseId: number, name: string, bytes: Buffer): Promise<string> {
  return (await uploadReleaseAsset(up, upUser, upFull, releaseId, name, bytes)).digest;
}

/** Draft, assets, publish: an immutable release, attested by the upstream. */
async function publishImmutable(tag: string, assets: Record<string, Buffer>): Promise<{ id: number; digests: Record<string, string> }> {
  const draft = await call('POST', `${up.api}/repos/${upFull}/releases`, { token: upUser.token, body: { tag_name: tag, name: tag, draft: true } });
  expect(draft.status, draft.text).toBe(201);
  const digests: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(assets)) digests[name] = await uploadAsset(draft.body.id, name, bytes);
  const published = await call('PATCH', `${up.api}/repos/${upFull}/releases/${draft.body.id}`, { token: upUser.token, body: { draft: false } });
  expect(published.body.immutable).toBe(true);
  return { id: draft.body.id, digests };
}

/** An instance's attestations of `digest` in `full`, checked against api.github.com's description. */
async function attestationsOf(server: TestServer, full: string, digest: string, token: string): Promise<any[]> {
  const res = await call('GET', `${server.api}/repos/${full}/attestations/${digest}`, { token, skipSchema: true });
  expect(res.status, res.text).toBe(200);
  assertDotcomResponse('GET', '/repos/{owner}/{repo}/attestations/{subject_digest}', 200, res.body);
  return res.body.attestations;
}

/** The statement a bundle signs. */
function statementOf(bundle: any): InTotoStatement {
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
}

/** Stores `statement` upstream as a client would (`POST …/attestations`), signed by a key of its own. */
async function postUpstream(statement: InTotoStatement): Promise<any> {
  const key = generateSigningKey();
  const bundle = await signStatement(statement, { keyId: key.keyId, privateKey: privateKeyFromPem(key.privateKeyPem), publicKeyPem: key.publicKeyPem });
  const res = await call('POST', `${up.api}/repos/${upFull}/attestations`, { token: upUser.token, body: { bundle }, skipSchema: true });
  expect(res.status, res.text).toBe(201);
  return bundle;
}

beforeAll(async () => {
  up = await startServer({ env: { WHARF_READ_CACHE_TTL_MS: '0' } });
  down = await startServer({ env: { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_MIRROR_POLL_MS: '200' } });
  third = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false' } });
  upUser = await createUser(up);
  downUser = await createUser(down);
  thirdUser = await createUser(third, downUser.login);
  upFull = (await createRepo(up, upUser, { auto_init: true })).full;
  expect((await call('PUT', `${up.api}/repos/${upFull}/immutable-releases`, { token: upUser.token })).status).toBe(204);
  dir = await mkdtemp(path.join(tmpdir(), 'wharf-mirror-attest-'));
  upRoot = path.join(dir, 'upstream-trusted-root.json');
  await writeFile(upRoot, await (await fetch(`${up.base}/.well-known/wharf/trusted-root.json`)).text());
}, 120_000);

afterAll(async () => {
  await third?.close();
  await down?.close();
  await up?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('upstream attestations of a pull mirror', () => {
  let v1: { id: number; digests: Record<string, string> };
  let upstreamBundle: any;

  it("keeps the upstream's release attestation beside the mirrored release, byte for byte, verifiable offline with the upstream's root", async () => {
    v1 = await publishImmutable('v1.0.0', { 'tool.tar.gz': toolBytes, SHA256SUMS: sumsBytes });
    const theirs = await attestationsOf(up, upFull, v1.digests['tool.tar.gz']!, upUser.token);
    expect(theirs).toHaveLength(1);
    upstreamBundle = theirs[0].bundle;

    mirrorFull = (await createRepo(down, downUser)).full;
    const set = await call('PUT', `${down.api}/repos/${mirrorFull}/mirror`, {
      token: downUser.token,
      skipSchema: true,
      body: { upstream_url: `${up.base}/${upFull}`, token: upUser.token, schedule: '1h' },
    });
    expect(set.status, set.text).toBe(201);
    const mirror = await waitForSync(down, mirrorFull, downUser.token, null);
    expect(mirror.last_sync.error).toBeNull();
    expect(mirror.last_sync.summary).toMatchObject({ releasesCreated: 1, assetsStored: 2, attestationsStored: 1, attestationProblems: [] });

    // Listed here by either asset's digest, in GitHub's shape, the very bundle the upstream serves.
    for (const digest of Object.values(v1.digests)) {
      const ours = await attestationsOf(down, mirrorFull, digest, downUser.token);
      expect(ours).toHaveLength(1);
      expect(JSON.stringify(ours[0].bundle)).toBe(JSON.stringify(upstreamBundle));
      expect(ours[0].initiator).toBe('release');
    }
    // It names the upstream repository (not the mirror's name) and verifies with the upstream's root only.
    const rootText = await readFile(upRoot, 'utf8');
    const verified = verifyReleaseBundle(JSON.stringify(upstreamBundle), rootText, { repository: upFull, tag: 'v1.0.0', sha256: v1.digests['tool.tar.gz']!.slice(7) });
    expect(verified.name).toBe('tool.tar.gz');
    const downRoot = await (await fetch(`${down.base}/.well-known/wharf/trusted-root.json`)).text();
    expect(() => verifyReleaseBundle(JSON.stringify(upstreamBundle), downRoot, { repository: upFull, tag: 'v1.0.0', sha256: v1.digests['tool.tar.gz']!.slice(7) })).toThrow(
      /does not verify/,
    );

    // `wharf verify`, offline, on the bytes the mirror serves and the bundle it lists.
    const release = (await call('GET', `${down.api}/repos/${mirrorFull}/releases/tags/v1.0.0`, { token: downUser.token })).body;
    const asset = release.assets.find((a: any) => a.name === 'tool.tar.gz');
    const file = path.join(dir, 'tool.tar.gz');
    await writeFile(file, Buffer.from(await (await fetch(asset.browser_download_url, { headers: { authorization: `token ${downUser.token}` } })).arrayBuffer()));
    const bundleFile = path.join(dir, 'tool.sigstore.json');
    await writeFile(bundleFile, JSON.stringify((await attestationsOf(down, mirrorFull, asset.digest, downUser.token))[0].bundle));
    const ok = await runWharf(['verify', file, '--repo', upFull, '--tag', 'v1.0.0', '--bundle', bundleFile, '--trusted-root', upRoot]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^verified: .*tool\\.tar\\.gz \\(sha256 ${asset.digest.slice(7)}\\) is tool\\.tar\\.gz of ${upFull} v1\\.0\\.0`));
    // The release page shows it as the upstream's, with the command line that verifies it.
    const page = await (await fetch(`${down.base}/${mirrorFull}/releases/tag/v1.0.0`)).text();
    expect(page).toContain('Upstream release attestation');
    expect(page).toContain(`wharf verify FILE --repo ${upFull} --tag v1.0.0`);
    expect(page).toContain(`sha256:${asset.digest.slice(7)}`);
    const wrongRepo = await runWharf(['verify', file, '--repo', mirrorFull, '--tag', 'v1.0.0', '--bundle', bundleFile, '--trusted-root', upRoot]);
    expect(wrongRepo.code).toBe(1);
    expect(wrongRepo.stderr).toMatch(/not verified: the attestation is for repository/);
  }, 180_000);

  it('asks again with If-None-Match: an unchanged upstream answers every request with 304', async () => {
    // The first sync's downloads changed the upstream's release listing (download counts) once.
    await syncAndWait(down, mirrorFull, downUser.token);
    const s = (await syncAndWait(down, mirrorFull, downUser.token)).last_sync.summary;
    expect(s.requests).toBeGreaterThanOrEqual(3); // releases, latest and the attestations of v1.0.0
    expect(s.notModified).toBe(s.requests);
    expect(s).toMatchObject({ attestationsStored: 0, attestationsDeleted: 0 });
  }, 180_000);

  it('keeps one added upstream later, and removes one the upstream no longer lists', async () => {
    const added = await postUpstream(statementOf(upstreamBundle));
    let mirror = await syncAndWait(down, mirrorFull, downUser.token);
    expect(mirror.last_sync.error).toBeNull();
    expect(mirror.last_sync.summary).toMatchObject({ attestationsStored: 1, attestationsDeleted: 0 });
    const listed = await attestationsOf(down, mirrorFull, v1.digests['tool.tar.gz']!, downUser.token);
    expect(listed.map((a) => JSON.stringify(a.bundle)).sort()).toEqual([JSON.stringify(added), JSON.stringify(upstreamBundle)].sort());

    // The upstream drops it (Wharf has no route for that; its row goes as an administrator would remove it).
    const addedText = JSON.stringify(added);
    await up.wharf.ctx.db.deleteFrom('attestations').where('bundle', '=', addedText).execute();
    mirror = await syncAndWait(down, mirrorFull, downUser.token);
    expect(mirror.last_sync.summary).toMatchObject({ attestationsStored: 0, attestationsDeleted: 1 });
    const after = await attestationsOf(down, mirrorFull, v1.digests['tool.tar.gz']!, downUser.token);
    expect(after.map((a) => JSON.stringify(a.bundle))).toEqual([JSON.stringify(upstreamBundle)]);
  }, 180_000);

  it('refuses upstream attestations whose subjects are not the mirrored bytes, and says so', async () => {
    const v2 = await publishImmutable('v2.0.0', { 'v2.bin': v2Bytes });
    const genuine = (await attestationsOf(up, upFull, v2.digests['v2.bin']!, upUser.token))[0].bundle;
    const statement = statementOf(genuine);
    const real = v2.digests['v2.bin']!.slice(7);
    // Listed by v2.bin's digest (under another name) while naming v2.bin with other bytes.
    await postUpstream({
      ...statement,
      subject: [statement.subject[0]!, { name: 'v2.bin', digest: { sha256: '0'.repeat(64) } }, { name: 'v2.bin.copy', digest: { sha256: real } }],
    });
    // The right bytes at another commit.
    await postUpstream({ ...statement, subject: [{ uri: statement.subject[0]!.uri, digest: { sha1: 'f'.repeat(40) } }, ...statement.subject.slice(1)] });

    const mirror = await syncAndWait(down, mirrorFull, downUser.token);
    expect(mirror.last_sync.status).toBe('failed');
    expect(mirror.last_sync.error).toContain(
      `v2.0.0: the upstream's release attestation is not kept: it names v2.bin with sha256 ${'0'.repeat(64)}, the mirrored bytes have ${real}`,
    );
    expect(mirror.last_sync.error).toContain(`v2.0.0: the upstream's release attestation is not kept: it names commit ${'f'.repeat(40)}`);
    // Everything else was synced: the release, its bytes and its genuine attestation.
    expect(mirror.last_sync.summary).toMatchObject({ releasesCreated: 1, assetsStored: 1, attestationsStored: 1 });
    const listed = await attestationsOf(down, mirrorFull, v2.digests['v2.bin']!, downUser.token);
    expect(listed.map((a) => JSON.stringify(a.bundle))).toEqual([JSON.stringify(genuine)]);
    // No row anywhere holds the refused ones.
    const rows = await down.wharf.ctx.db.selectFrom('attestations').select('bundle').where('origin_repository', 'is not', null).execute();
    expect(rows).toHaveLength(2);

    // The upstream deletes the release: the mirror deletes it and the attestations kept for it, and syncs cleanly again.
    expect((await call('DELETE', `${up.api}/repos/${upFull}/releases/${v2.id}`, { token: upUser.token })).status).toBe(204);
    const clean = await syncAndWait(down, mirrorFull, downUser.token);
    expect(clean.last_sync.error).toBeNull();
    expect(clean.last_sync.summary).toMatchObject({ releasesDeleted: 1, attestationsDeleted: 1 });
    expect(await attestationsOf(down, mirrorFull, v2.digests['v2.bin']!, downUser.token)).toEqual([]);
  }, 180_000);

  it("carries them in an offline bundle to a third instance, which verifies them against the upstream's root", async () => {
    const file = path.join(dir, 'mirror.wharf-bundle');
    await exportBundle(down.wharf.ctx, { repository: mirrorFull, output: file, since: null, tags: null });
    const downRootText = await (await fetch(`${down.base}/.well-known/wharf/trusted-root.json`)).text();
    await trustRoot(third.wharf.ctx, 'mirror', downRootText);
    // Trusting the exporting mirror is not enough: the attestation is the upstream's.
    await expect(importBundle(third.wharf.ctx, { file, into: null, as: null })).rejects.toThrow(/release v1\.0\.0: its attestation.*does not verify/);
    expect(await third.wharf.ctx.db.selectFrom('repositories').selectAll().execute()).toHaveLength(0);

    await trustRoot(third.wharf.ctx, upRoot, await readFile(upRoot, 'utf8'));
    const summary = await importBundle(third.wharf.ctx, { file, into: null, as: null });
    expect(summary).toMatchObject({ releasesCreated: 1, assetsStored: 2, attestationsStored: 1 });
    const listed = await attestationsOf(third, mirrorFull, v1.digests['tool.tar.gz']!, thirdUser.token);
    expect(listed.map((a) => JSON.stringify(a.bundle))).toEqual([JSON.stringify(upstreamBundle)]);
    const kept = await third.wharf.ctx.db.selectFrom('attestations').select(['origin_repository', 'predicate_type']).execute();
    expect(kept).toEqual([{ origin_repository: upFull, predicate_type: RELEASE_PREDICATE }]);

    // Exported again from there, it still names the upstream's repository.
    const again = path.join(dir, 'third.wharf-bundle');
    await exportBundle(third.wharf.ctx, { repository: mirrorFull, output: again, since: null, tags: null });
    const fourth = await importBundle(third.wharf.ctx, { file: again, into: `${thirdUser.login}/copy`, as: null });
    expect(fourth.attestationsStored).toBe(1);
  }, 180_000);
});
