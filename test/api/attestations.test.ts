/**
 * Release attestations (docs/immutable-releases.md): publishing an immutable release signs an
 * in-toto release statement of exactly its assets, tag and commit into a Sigstore bundle. The
 * bundle verifies with sigstore-js (`@sigstore/verify`, used here directly, not through Wharf's
 * code) against Wharf's trusted root with no network; a changed asset byte, a changed bundle
 * byte, another repository, another tag and a key outside the trusted root each fail; after
 * `wharf keys rotate` old and new bundles verify; `wharf verify` agrees on every case. The
 * attestation routes follow the repository's visibility and need push access to store; an
 * asset rename or delete racing the publish never leaves assets the attestation does not name.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { startServer, storeEnv, type TestServer } from '../support/server.ts';
import { assertDotcomResponse } from '../support/webhook-schemas.ts';
import { runWharf } from '../support/wharf-command.ts';
import { WebClient } from '../web/web-client.ts';

const RELEASE_PREDICATE = 'https://in-toto.io/attestation/release/v0.1';

let server: TestServer;
let owner: TestUser;
let work: string;

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('attester'), ['repo']);
  work = await mkdtemp(path.join(tmpdir(), 'wharf-attest-'));
});
afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface Published {
  full: string;
  releaseId: number;
  tag: string;
  assets: Record<string, Buffer>;
}

/** Draft, upload, publish: an immutable release with the given assets. */
async function publishImmutable(full: string, tag: string, assets: Record<string, Buffer>): Promise<Published> {
  const api = `${server.api}/repos/${full}`;
  expect((await call('PUT', `${api}/immutable-releases`, { token: owner.token })).status).toBe(204);
  const draft = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: tag, draft: true } });
  expect(draft.status).toBe(201);
  for (const [name, bytes] of Object.entries(assets)) {
    const up = await call('POST', `${server.uploads}/repos/${full}/releases/${draft.body.id}/assets?name=${name}`, {
      token: owner.token,
      raw: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(up.status).toBe(201);
  }
  const published = await call('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false } });
  expect(published.body.immutable).toBe(true);
  return { full, releaseId: draft.body.id, tag, assets };
}

async function attestationsFor(full: string, digestHex: string, token: string | null = null) {
  const res = await call('GET', `${server.api}/repos/${full}/attestations/sha256:${digestHex}`, { token, skipSchema: true });
  if (res.status === 200) assertDotcomResponse('GET', '/repos/{owner}/{repo}/attestations/{subject_digest}', 200, res.body);
  return res;
}

async function trustedRoot(): Promise<string> {
  const res = await fetch(`${server.base}/.well-known/wharf/trusted-root.json`);
  expect(res.status).toBe(200);
  return res.text();
}

/**
 * sigstore-js's verdict, with nothing of Wharf's code: the bundle's signature against the
 * trusted root's keys (no network, no transparency log), then the statement names the file's
 * digest under the expected repository and tag.
 */
function sigstoreVerdict(bundleText: string, rootText: string, file: Buffer, repository: string, tag: string): boolean {
  try {
    const rootJson = JSON.parse(rootText) as { wharfSigningKeys: Array<{ keyId: string; publicKey: unknown }> };
    const keys = Object.fromEntries(rootJson.wharfSigningKeys.map((k) => [k.keyId, PublicKey.fromJSON(k.publicKey)]));
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(rootJson), keys), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    const bundle = bundleFromJSON(JSON.parse(bundleText));
    verifier.verify(toSignedEntity(bundle));
    if (bundle.content.$case !== 'dsseEnvelope') return false;
    const statement = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8'));
    return (
      statement.predicateType === RELEASE_PREDICATE &&
      statement.predicate.repository.toLowerCase() === repository.toLowerCase() &&
      statement.predicate.tag === tag &&
      statement.subject.some((s: { name?: string; digest: { sha256?: string } }) => s.name && s.digest.sha256 === sha256(file))
    );
  } catch {
    return false;
  }
}

function wharfCli(env: Record<string, string>, ...args: string[]) {
  return runWharf(args, { env });
}

let fileCounter = 0;
async function tempFile(contents: string | Buffer): Promise<string> {
  const file = path.join(work, `f${fileCounter++}`);
  await writeFile(file, contents);
  return file;
}

/** `wharf verify` offline on the same inputs; returns whether it verified (and checks its one line). */
async function wharfVerdict(bundleText: string, rootText: string, file: Buffer, repository: string, tag: string): Promise<boolean> {
  const result = await wharfCli(
    { WHARF_DATA_DIR: path.join(work, 'no-instance') },
    'verify',
    await tempFile(file),
    '--repo',
    repository,
    '--tag',
    tag,
    '--bundle',
    await tempFile(bundleText),
    '--trusted-root',
    await tempFile(rootText),
  );
  if (result.code === 0) {
    expect(result.stdout).toMatch(/^verified: /);
    return true;
  }
  expect(result.code).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^wharf: not verified: /);
  return false;
}

/** A bundle of `statement` signed by a key Wharf never had, named `hint`. */
async function foreignBundle(statement: unknown, hint: string): Promise<string> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const builder = new DSSEBundleBuilder({
    signer: {
      sign: async (data: Buffer) => ({
        signature: sign('sha256', data, privateKey),
        key: { $case: 'publicKey', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), hint },
      }),
    },
    witnesses: [],
  });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' });
  return JSON.stringify(bundleToJSON(bundle));
}

describe('release attestations', { timeout: 180_000 }, () => {
  let release: Published;
  let bundleText: string;
  let rootText: string;

  beforeAll(async () => {
    const { full } = await createRepo(server, owner, { auto_init: true });
    release = await publishImmutable(full, 'v1.0.0', { 'tool-linux.tar.gz': Buffer.from('linux build\n'), 'tool.zip': Buffer.from('zip build\n') });
    const listed = await attestationsFor(full, sha256(release.assets['tool.zip']!));
    expect(listed.status).toBe(200);
    expect(listed.body.attestations).toHaveLength(1);
    bundleText = JSON.stringify(listed.body.attestations[0].bundle);
    rootText = await trustedRoot();
  });

  it('publishing signs a v0.3 bundle of exactly the assets, tag and commit, in GitHub’s release predicate', async () => {
    const bundle = JSON.parse(bundleText);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.publicKey.hint).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    const repo = (await call('GET', `${server.api}/repos/${release.full}`, { token: owner.token })).body;
    const tagRef = (await call('GET', `${server.api}/repos/${release.full}/git/ref/tags/${release.tag}`, { token: owner.token })).body;
    const purl = `pkg:github/${release.full.toLowerCase()}@${release.tag}`;
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { uri: purl, digest: { sha1: tagRef.object.sha } },
        { name: 'tool-linux.tar.gz', digest: { sha256: sha256(release.assets['tool-linux.tar.gz']!) } },
        { name: 'tool.zip', digest: { sha256: sha256(release.assets['tool.zip']!) } },
      ],
      predicateType: RELEASE_PREDICATE,
      predicate: {
        ownerId: String(repo.owner.id),
        purl,
        releaseId: String(release.releaseId),
        repository: release.full,
        repositoryId: String(repo.id),
        tag: release.tag,
      },
    });
    // Listed under each asset's digest; the bundle_url serves the same bundle without a token.
    const other = await attestationsFor(release.full, sha256(release.assets['tool-linux.tar.gz']!));
    expect(other.body.attestations[0].initiator).toBe('release');
    const download = await fetch(other.body.attestations[0].bundle_url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toContain('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(JSON.parse(await download.text())).toEqual(JSON.parse(bundleText));
    // The trusted root: Sigstore's format, the signing key listed with its validity.
    const root = JSON.parse(rootText);
    expect(root.mediaType).toBe('application/vnd.dev.sigstore.trustedroot.v0.2+json');
    expect(root.wharfSigningKeys.map((k: { keyId: string }) => k.keyId)).toContain(bundle.verificationMaterial.publicKey.hint);
  });

  it('verifies with sigstore-js and wharf verify offline; every tampering fails both', async () => {
    const zip = release.assets['tool.zip']!;
    const changedAsset = Buffer.from(zip);
    changedAsset[0] = changedAsset[0]! ^ 1;
    const parsed = JSON.parse(bundleText);
    const payload = Buffer.from(parsed.dsseEnvelope.payload, 'base64');
    // One byte of the signed statement changed: `v1.0.0` becomes `v1.0.1`, still valid JSON.
    const changedPayload = Buffer.from(payload.toString('utf8').replaceAll('"tag":"v1.0.0"', '"tag":"v1.0.1"'));
    expect(changedPayload.length).toBe(payload.length);
    const changedBundle = JSON.stringify({ ...parsed, dsseEnvelope: { ...parsed.dsseEnvelope, payload: changedPayload.toString('base64') } });
    const sig = Buffer.from(parsed.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 1] = sig[sig.length - 1]! ^ 1;
    const changedSignature = JSON.stringify({
      ...parsed,
      dsseEnvelope: { ...parsed.dsseEnvelope, signatures: [{ ...parsed.dsseEnvelope.signatures[0], sig: sig.toString('base64') }] },
    });
    const statement = JSON.parse(payload.toString('utf8'));
    const hint = parsed.verificationMaterial.publicKey.hint as string;
    const cases: Array<{ name: string; bundle: string; file: Buffer; repo: string; tag: string; ok: boolean }> = [
      { name: 'the release as published', bundle: bundleText, file: zip, repo: release.full, tag: release.tag, ok: true },
      { name: 'the other asset', bundle: bundleText, file: release.assets['tool-linux.tar.gz']!, repo: release.full, tag: release.tag, ok: true },
      { name: 'a changed asset byte', bundle: bundleText, file: changedAsset, repo: release.full, tag: release.tag, ok: false },
      { name: 'a changed statement byte', bundle: changedBundle, file: zip, repo: release.full, tag: 'v1.0.1', ok: false },
      { name: 'a changed signature byte', bundle: changedSignature, file: zip, repo: release.full, tag: release.tag, ok: false },
      { name: 'another repository', bundle: bundleText, file: zip, repo: `${owner.login}/elsewhere`, tag: release.tag, ok: false },
      { name: 'another tag', bundle: bundleText, file: zip, repo: release.full, tag: 'v2.0.0', ok: false },
      { name: 'a key not in the trusted root', bundle: await foreignBundle(statement, 'f'.repeat(64)), file: zip, repo: release.full, tag: release.tag, ok: false },
      { name: "another key under Wharf's key id", bundle: await foreignBundle(statement, hint), file: zip, repo: release.full, tag: release.tag, ok: false },
    ];
    const verdicts = await Promise.all(
      cases.map(async (c) => ({
        name: c.name,
        expected: c.ok,
        sigstore: sigstoreVerdict(c.bundle, rootText, c.file, c.repo, c.tag),
        wharf: await wharfVerdict(c.bundle, rootText, c.file, c.repo, c.tag),
      })),
    );
    expect(verdicts).toEqual(cases.map((c) => ({ name: c.name, expected: c.ok, sigstore: c.ok, wharf: c.ok })));
  });

  it('wharf verify fetches what it is not given from --server', async () => {
    const file = await tempFile(release.assets['tool.zip']!);
    const ok = await wharfCli({ WHARF_DATA_DIR: path.join(work, 'no-instance') }, 'verify', file, '--repo', release.full, '--tag', release.tag, '--server', server.base);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`is tool.zip of ${release.full} ${release.tag}`);
    const wrongTag = await wharfCli({ WHARF_DATA_DIR: path.join(work, 'no-instance') }, 'verify', file, '--repo', release.full, '--tag', 'v9', '--server', server.base);
    expect(wrongTag.code).toBe(1);
    expect(wrongTag.stderr.trim()).toBe('wharf: not verified: the attestation is for tag v1.0.0, not v9');
    const unknown = await wharfCli({}, 'verify', await tempFile('never released'), '--repo', release.full, '--tag', release.tag, '--server', server.base);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^wharf: no release attestation of .* names /);
  });

  it('after wharf keys rotate, bundles of the old and the new key verify', async () => {
    const rotated = await wharfCli(await storeEnv(server.dataDir), 'keys', 'rotate');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^new signing key [0-9a-f]{64}; [0-9a-f]{64} stopped signing at /);
    const { full } = await createRepo(server, owner, { auto_init: true });
    const next = await publishImmutable(full, 'v2', { 'next.bin': Buffer.from('after rotation') });
    const newBundle = JSON.stringify((await attestationsFor(full, sha256(next.assets['next.bin']!))).body.attestations[0].bundle);
    const oldHint = JSON.parse(bundleText).verificationMaterial.publicKey.hint;
    const newHint = JSON.parse(newBundle).verificationMaterial.publicKey.hint;
    expect(newHint).not.toBe(oldHint);
    const root = await trustedRoot();
    const keys = JSON.parse(root).wharfSigningKeys as Array<{ keyId: string; publicKey: { validFor: { start: string; end?: string } } }>;
    expect(keys.find((k) => k.keyId === oldHint)?.publicKey.validFor.end).toBeDefined();
    expect(keys.find((k) => k.keyId === newHint)?.publicKey.validFor.end).toBeUndefined();
    for (const [bundle, file, repo, tag] of [
      [bundleText, release.assets['tool.zip']!, release.full, release.tag],
      [newBundle, next.assets['next.bin']!, full, 'v2'],
    ] as const) {
      expect(sigstoreVerdict(bundle, root, file, repo, tag)).toBe(true);
      expect(await wharfVerdict(bundle, root, file, repo, tag)).toBe(true);
    }
    // The trusted root of before the rotation does not know the new key.
    expect(sigstoreVerdict(newBundle, rootText, next.assets['next.bin']!, full, 'v2')).toBe(false);
    expect(await wharfVerdict(newBundle, rootText, next.assets['next.bin']!, full, 'v2')).toBe(false);
  });

  it('the release page shows Immutable and the attested digests with the bundle; the new-release form steers to drafts', async () => {
    const page = await new WebClient(server.base).get(`/${release.full}/releases/tag/${release.tag}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<span class="badge immutable"');
    const bundleId = (await attestationsFor(release.full, sha256(release.assets['tool.zip']!))).body.attestations[0].bundle_url.match(/attestations\/(\d+)\//)[1];
    expect(page.text).toContain(`href="/${release.full}/attestations/${bundleId}/bundle.json" download`);
    for (const bytes of Object.values(release.assets)) expect(page.text).toContain(`sha256:${sha256(bytes)}</code>`);

    // Published at once (no assets): attested all the same, with its commit only.
    const { full } = await createRepo(server, owner, { auto_init: true });
    await call('PUT', `${server.api}/repos/${full}/immutable-releases`, { token: owner.token });
    const web = new WebClient(server.base);
    await web.signIn(owner.login, owner.token);
    const form = await web.get(`/${full}/releases/new`);
    expect(form.text).toContain('Immutable releases are on in this repository.');
    expect(form.text).toContain('value="draft" class="primary">Save draft and add assets</button>');
    const created = await call('POST', `${server.api}/repos/${full}/releases`, { token: owner.token, body: { tag_name: 'v0.1' } });
    expect(created.body.immutable).toBe(true);
    const bare = await new WebClient(server.base).get(`/${full}/releases/tag/v0.1`);
    expect(bare.text).toContain('It was published without assets.');
  });
});

describe('attestation routes', { timeout: 120_000 }, () => {
  it('follow the repository: public without a token, private 404 without read access; storing needs push', async () => {
    const reader = await createUser(server);
    const pusher = await createUser(server);
    const stranger = await createUser(server);
    const bytes = Buffer.from(`private build ${uniqueName('x')}`);
    const hidden = await createRepo(server, owner, { auto_init: true, private: true });
    await addCollaborator(server, owner, hidden.name, reader, 'pull');
    await addCollaborator(server, owner, hidden.name, pusher, 'push');
    await publishImmutable(hidden.full, 'v1', { 'p.bin': bytes });
    const digest = sha256(bytes);
    for (const token of [null, stranger.token]) expectGitHubError(await attestationsFor(hidden.full, digest, token), 404);
    expect((await attestationsFor(hidden.full, digest, reader.token)).body.attestations).toHaveLength(1);
    const row = (await attestationsFor(hidden.full, digest, reader.token)).body.attestations[0];
    // The bundle download follows the repository too.
    expect((await fetch(row.bundle_url)).status).toBe(404);
    expect((await fetch(row.bundle_url, { headers: { authorization: `token ${reader.token}` } })).status).toBe(200);

    // Storing a CI-made bundle (here: a statement about the same bytes, signed by a CI key).
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'p.bin', digest: { sha256: digest } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: {} },
    };
    const ciBundle = JSON.parse(await foreignBundle(statement, 'ci-key'));
    const post = (token: string | null, body: unknown = { bundle: ciBundle }) => call('POST', `${server.api}/repos/${hidden.full}/attestations`, { token, body, skipSchema: true });
    expectGitHubError(await post(null), 404);
    expectGitHubError(await post(stranger.token), 404);
    expectGitHubError(await post(reader.token), 403);
    const stored = await post(pusher.token);
    expect(stored.status).toBe(201);
    assertDotcomResponse('POST', '/repos/{owner}/{repo}/attestations', 201, stored.body);
    expect(stored.body.id).toEqual(expect.any(Number));
    const both = (await attestationsFor(hidden.full, digest, reader.token)).body.attestations as Array<{ initiator: string; bundle: unknown }>;
    expect(both.map((a) => a.initiator)).toEqual(['api', 'release']);
    expect(both[0]!.bundle).toEqual(ciBundle);
    const onlyRelease = await call('GET', `${server.api}/repos/${hidden.full}/attestations/sha256:${digest}?predicate_type=${encodeURIComponent(RELEASE_PREDICATE)}`, {
      token: reader.token,
      skipSchema: true,
    });
    expect(onlyRelease.body.attestations.map((a: { initiator: string }) => a.initiator)).toEqual(['release']);
    // Paging: one per page, the Link header's cursor leads to the next.
    const first = await call('GET', `${server.api}/repos/${hidden.full}/attestations/sha256:${digest}?per_page=1`, { token: reader.token, skipSchema: true });
    expect(first.body.attestations[0].initiator).toBe('api');
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1];
    expect(next).toBeDefined();
    expect((await call('GET', next!, { token: reader.token, skipSchema: true })).body.attestations[0].initiator).toBe('release');

    // Bad input: GitHub's 422, nothing stored.
    expectGitHubError(await post(pusher.token, {}), 422);
    expectGitHubError(await post(pusher.token, { bundle: { mediaType: 'nonsense' } }), 422);
    const badDigest = await call('GET', `${server.api}/repos/${hidden.full}/attestations/md5:abc`, { token: reader.token, skipSchema: true });
    expectGitHubError(badDigest, 422);
    expect((await attestationsFor(hidden.full, digest, reader.token)).body.attestations).toHaveLength(2);

    // A public repository's attestations need no token.
    const open = await createRepo(server, owner, { auto_init: true });
    const pub = Buffer.from(`public build ${uniqueName('y')}`);
    await publishImmutable(open.full, 'v1', { 'o.bin': pub });
    expect((await attestationsFor(open.full, sha256(pub), null)).body.attestations).toHaveLength(1);
    expectGitHubError(await call('POST', `${server.api}/repos/${open.full}/attestations`, { body: { bundle: ciBundle }, skipSchema: true }), 401);
  });
});

describe('publishing races asset changes', { timeout: 120_000 }, () => {
  it('a rename or delete racing the publish of an immutable release never leaves assets its attestation does not name', async () => {
    const { full } = await createRepo(server, owner, { auto_init: true });
    const api = `${server.api}/repos/${full}`;
    await call('PUT', `${api}/immutable-releases`, { token: owner.token });
    const outcomes = new Set<string>();
    for (let round = 0; round < 8; round++) {
      const draft = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: `r${round}`, draft: true } });
      const ids: number[] = [];
      for (const name of ['a.bin', 'b.bin', 'c.bin']) {
        const up = await call('POST', `${server.uploads}/repos/${full}/releases/${draft.body.id}/assets?name=${name}`, {
          token: owner.token,
          raw: `${name} ${round}`,
          headers: { 'content-type': 'application/octet-stream' },
        });
        ids.push(up.body.id);
      }
      const [publish, rename, remove] = await Promise.all([
        call('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false } }),
        call('PATCH', `${api}/releases/assets/${ids[0]}`, { token: owner.token, body: { name: 'renamed.bin' } }),
        call('DELETE', `${api}/releases/assets/${ids[1]}`, { token: owner.token }),
      ]);
      expect(publish.status).toBe(200);
      expect([200, 422]).toContain(rename.status);
      expect([204, 422]).toContain(remove.status);
      outcomes.add(`${rename.status}/${remove.status}`);
      const assets = (await call('GET', `${api}/releases/${draft.body.id}/assets`, { token: owner.token })).body as Array<{ name: string; digest: string }>;
      const bundle = (await attestationsFor(full, sha256(`c.bin ${round}`))).body.attestations[0].bundle;
      const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      const attested = (statement.subject as Array<{ name?: string; digest: { sha256?: string } }>).filter((s) => s.name).map((s) => `${s.name} sha256:${s.digest.sha256}`);
      expect(assets.map((a) => `${a.name} ${a.digest}`).sort()).toEqual(attested.sort());
      // What the losers were told matches what the release holds.
      expect(assets.some((a) => a.name === 'renamed.bin')).toBe(rename.status === 200);
      expect(assets.some((a) => a.name === 'b.bin')).toBe(remove.status === 422);
    }
    expect(outcomes.size).toBeGreaterThan(0);
  });
});
