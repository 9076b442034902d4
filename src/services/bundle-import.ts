/**
 * @module services/bundle-import
 * `wharf bundle import` (docs/mirrors.md). Nothing becomes visible before everything is verified:
 *
 * 1. **Read and verify**, streaming the tar once: the manifest and its signature come first and
 *    are checked against the keys this instance trusts (its own and `wharf keys trust`ed roots)
 *    before a byte more is read. Every other member must be one the manifest lists, of the size it
 *    states; JSON members are read into memory (bounded), the git bundle into a temporary file,
 *    asset bytes straight into the blob store under holds (services/blob-gc.ts), each hashed on
 *    the way and refused unless its sha256 is the manifest's. A member missing at the end (a
 *    truncated file) refuses the bundle too. Release attestations carried along are verified
 *    against the same trust, for the origin repository and tag and every asset's digest.
 * 2. **Apply**, only then, through the same doors as every other write: the refs through the refs
 *    door (`applyRemoteRefs`, the bundle file as the remote), each release through the releases
 *    and assets services, recording the same domain events: a new release is created published
 *    with its assets (attached to the staged blobs), its attestation and the origin's dates in
 *    one transaction, so readers see it whole or not at all.
 *    Matching is by tag, asset name and digest, so a second import of the same bundle changes
 *    nothing and an incremental one adds to what an earlier one brought.
 *
 * A refusal at step 1 releases the holds and deletes the staged bytes nothing references: no
 * row, ref or blob is left. The repository is marked as coming from the bundle's origin
 * (`bundle_origins`), which makes it read-only as a pull mirror is (services/mirror-guard.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { StoredBlob } from '../blobs/blob-store.ts';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Release, Repository } from '../db/schema.ts';
import { findAccountByLogin } from '../db/repos/accounts-repo.ts';
import { deleteAssetRow, listAssetsForReleases } from '../db/repos/assets-repo.ts';
import { deleteBundleOrigin, findBundleOrigin, upsertBundleOrigin } from '../db/repos/bundles-repo.ts';
import { countReleasesOfRepository, findMirrorOfRepository, releasesOfRepository } from '../db/repos/mirrors-repo.ts';
import { updateReleaseRow } from '../db/repos/releases-repo.ts';
import { findRepository } from '../db/repos/repositories-repo.ts';
import { bundleHeads, verifyBundle } from '../git/git.ts';
import {
  BLOB_PREFIX,
  BundleRefused,
  GIT_MEMBER,
  MANIFEST_MEMBER,
  RELEASES_MEMBER,
  SIGNATURE_MEMBER,
  verifyManifest,
  type BundleManifest,
} from '../attestations/bundle-manifest.ts';
import { RELEASE_PREDICATE_TYPE } from '../attestations/release-statement.ts';
import { AttestationRefused, verifyReleaseBundle } from '../attestations/verify-bundle.ts';
import { crashPoint } from '../util/crash-points.ts';
import { isoSeconds } from '../util/time.ts';
import { keepForeignAttestation } from './attestations.ts';
import { claimAssetName, deleteAsset, leaseRenewalMs, recordUploadedBlob, updateAsset } from './assets.ts';
import { deleteUnreferencedBlobs, putHeld, type BlobHold } from './blob-gc.ts';
import { parseContents, type BundleContents, type BundledRelease } from './bundle-contents.ts';
import { actingPrincipal } from './mirror-sync.ts';
import { applyRemoteRefs, diffRefs, snapshotRefs, type RefActor } from './refs.ts';
import { createRelease, latestReleaseId, updateRelease } from './releases.ts';
import { createRepository, type RepoAccess } from './repositories.ts';
import { bundleTrust } from './trusted-roots.ts';

export interface ImportOptions {
  file: string;
  /** `OWNER/REPO` to import into; the origin's name when null. */
  into: string | null;
  /** The user the import acts as; the owner when null (an organization needs one). */
  as: string | null;
  onProgress?: (read: number, total: number) => void;
}

export interface ImportSummary {
  repository: string;
  origin: string;
  /** Where the signing key is trusted from (`this instance` or the trusted root's source). */
  trustedFrom: string;
  keyId: string;
  createdRepository: boolean;
  refsChanged: number;
  releasesCreated: number;
  releasesUpdated: number;
  assetsStored: number;
  assetsDeleted: number;
  attestationsStored: number;
}

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const MAX_SIGNATURE_BYTES = 1024 * 1024;
const MAX_RELEASES_BYTES = 256 * 1024 * 1024;
const GIT_TIMEOUT_MS = 3_600_000;

/** What step 1 verified and staged. */
interface Verified {
  manifest: BundleManifest;
  keyId: string;
  trustedFrom: string;
  contents: BundleContents;
  /** The git bundle's temporary file, when the bundle has one. */
  gitFile: string | null;
  /** Staged asset bytes by sha256, each held until a row references it. */
  blobs: Map<string, { stored: StoredBlob; hold: BlobHold }>;
}

class Hashing extends Transform {
  readonly #hash = createHash('sha256');
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    done(null, chunk);
  }
  digest(): string {
    return this.#hash.digest('hex');
  }
}

async function readSmall(entry: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BundleRefused(`${what} is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function mismatch(name: string, actual: string, expected: string): BundleRefused {
  return new BundleRefused(`${name} has sha256 ${actual}, not the ${expected} the manifest states: the bundle was changed after it was signed`);
}

/** Step 1: reads the whole file, verifying as it goes; stages what step 2 needs. */
async function readAndVerify(ctx: AppContext, options: ImportOptions, work: string, staged: Verified['blobs']): Promise<Verified> {
  const info = await stat(options.file).catch(() => null);
  if (!info?.isFile()) throw new BundleRefused(`there is no file ${options.file}`);
  const { root, origins } = await bundleTrust(ctx);
  let read = 0;
  const source = createReadStream(options.file);
  source.on('data', (chunk) => {
    read += chunk.length;
    options.onProgress?.(read, info.size);
  });
  const extract = tar.extract();
  const feeding = pipeline(source, extract).catch((err: unknown) => err as Error);
  let manifestBytes: Buffer | null = null;
  let verified: { manifest: BundleManifest; keyId: string } | null = null;
  const expected = new Map<string, { sha256: string; size: number }>();
  const seen = new Set<string>();
  let contents: BundleContents | null = null;
  let gitFile: string | null = null;
  try {
    for await (const tarEntry of extract) {
      const { name, size = 0, type } = tarEntry.header;
      const entry = Readable.from(tarEntry);
      if (type !== 'file') throw new BundleRefused(`member ${name} is not a file`);
      if (!manifestBytes) {
        if (name !== MANIFEST_MEMBER) throw new BundleRefused(`the bundle does not start with its manifest (${MANIFEST_MEMBER}); it is not a Wharf bundle`);
        manifestBytes = await readSmall(entry, MAX_MANIFEST_BYTES, 'the manifest');
        continue;
      }
      if (!verified) {
        if (name !== SIGNATURE_MEMBER) throw new BundleRefused(`the manifest is not followed by its signature (${SIGNATURE_MEMBER})`);
        verified = verifyManifest(manifestBytes, await readSmall(entry, MAX_SIGNATURE_BYTES, 'the signature'), root);
        for (const s of verified.manifest.subject) expected.set(s.name, { sha256: s.digest.sha256, size: Number(s.annotations.size) });
        continue;
      }
      const want = expected.get(name);
      if (!want) throw new BundleRefused(`member ${name} is not in the signed manifest`);
      if (seen.has(name)) throw new BundleRefused(`member ${name} appears twice`);
      if (size !== want.size) throw new BundleRefused(`member ${name} has ${size} bytes, not the ${want.size} the manifest states`);
      seen.add(name);
      if (name === RELEASES_MEMBER) {
        const bytes = await readSmall(entry, MAX_RELEASES_BYTES, name);
        const actual = sha256(bytes);
        if (actual !== want.sha256) throw mismatch(name, actual, want.sha256);
        contents = parseContents(bytes);
      } else if (name === GIT_MEMBER) {
        gitFile = path.join(work, GIT_MEMBER);
        const hashing = new Hashing();
        await pipeline(entry, hashing, createWriteStream(gitFile, { mode: 0o600 }));
        const actual = hashing.digest();
        if (actual !== want.sha256) throw mismatch(name, actual, want.sha256);
      } else if (name.startsWith(BLOB_PREFIX) && name.slice(BLOB_PREFIX.length) === want.sha256) {
        if (want.size > ctx.config.maxAssetSize)
          throw new BundleRefused(`${name} has ${want.size} bytes, more than this instance takes for an asset (WHARF_MAX_ASSET_SIZE ${ctx.config.maxAssetSize})`);
        const held = await putHeld(ctx, entry, { expectedSize: want.size, maxSize: ctx.config.maxAssetSize });
        staged.set(held.stored.sha256, held);
        if (held.stored.sha256 !== want.sha256) throw mismatch(name, held.stored.sha256, want.sha256);
      } else {
        throw new BundleRefused(`member ${name} is not one a Wharf bundle has`);
      }
    }
  } catch (err) {
    source.destroy();
    const fed = await feeding;
    if (err instanceof BundleRefused) throw err;
    throw new BundleRefused(`the bundle cannot be read (${(fed ?? (err as Error)).message}): it is truncated or not a Wharf bundle`);
  }
  const fed = await feeding;
  if (fed) throw new BundleRefused(`the bundle cannot be read (${fed.message}): it is truncated or not a Wharf bundle`);
  if (!verified) throw new BundleRefused('the bundle ends before its manifest and signature: it is truncated or not a Wharf bundle');
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length)
    throw new BundleRefused(`the bundle is truncated: ${missing.length} member(s) the manifest lists are missing (${missing[0]}${missing.length > 1 ? ', …' : ''})`);
  if (!contents) throw new BundleRefused(`the bundle has no ${RELEASES_MEMBER}`);
  for (const release of contents.releases) {
    for (const asset of release.assets) {
      if (!staged.has(asset.sha256)) throw new BundleRefused(`release ${release.tag_name}: the bytes of ${asset.name} (sha256 ${asset.sha256}) are not in the bundle`);
    }
    verifyAttestation(release.attestation_repository ?? verified.manifest.predicate.repository, release, JSON.stringify(root));
  }
  return { ...verified, trustedFrom: origins.get(verified.keyId) ?? 'unknown', contents, gitFile, blobs: staged };
}

/**
 * A carried release attestation must be signed by a trusted key, for this release of the
 * repository it names (the origin's, or the upstream's of a mirrored release), naming every asset.
 */
function verifyAttestation(originRepository: string, release: BundledRelease, rootText: string): void {
  if (!release.attestation) return;
  const text = JSON.stringify(release.attestation);
  try {
    for (const asset of release.assets) verifyReleaseBundle(text, rootText, { repository: originRepository, tag: release.tag_name, sha256: asset.sha256 });
    if (release.assets.length === 0) verifyReleaseBundle(text, rootText, { repository: originRepository, tag: release.tag_name, sha256: '' });
  } catch (err) {
    // A release without assets has no subject to look for; its signature and names verified.
    if (release.assets.length === 0 && err instanceof AttestationRefused && /is not an asset/.test(err.message)) return;
    throw new BundleRefused(`release ${release.tag_name}: its attestation ${(err as Error).message.replace(/^the bundle('s)? /, '')}`);
  }
}

/** Where the import goes and as whom; refuses targets it must not touch before anything changes. */
async function target(ctx: AppContext, options: ImportOptions, verified: Verified): Promise<{ owner: Account; name: string; repo: Repository | null; actor: Account }> {
  const full = options.into ?? verified.manifest.predicate.repository;
  const [ownerLogin, name] = full.split('/');
  if (!ownerLogin || !name) throw new BundleRefused(`"${full}" is not OWNER/REPO`);
  const owner = await findAccountByLogin(ctx.db, ownerLogin);
  if (!owner) throw new BundleRefused(`there is no user or organization ${ownerLogin} here; create it first or import --into another OWNER/REPO`);
  const actor = options.as ? await findAccountByLogin(ctx.db, options.as) : owner;
  if (!actor || actor.type !== 'User') {
    throw new BundleRefused(options.as ? `there is no user ${options.as}` : `${owner.login} is an organization: say which of its administrators imports with --as LOGIN`);
  }
  const repo = (await findRepository(ctx.db, owner.id, name)) ?? null;
  const origin = verified.manifest.predicate.repository;
  if (repo) {
    if (await findMirrorOfRepository(ctx.db, repo.id)) throw new BundleRefused(`${full} is a pull mirror; import into another repository`);
    const known = await findBundleOrigin(ctx.db, repo.id);
    if (known && known.origin_repository.toLowerCase() !== origin.toLowerCase())
      throw new BundleRefused(`${full} holds releases imported from ${known.origin_repository}, not ${origin}`);
    if (!known && (await countReleasesOfRepository(ctx.db, repo.id)) > 0) {
      throw new BundleRefused(`${full} has releases of its own; bundles are imported into a new repository or one that holds only imported releases`);
    }
    if (verified.gitFile) {
      await verifyBundle(gitDirFor(ctx, repo), verified.gitFile, GIT_TIMEOUT_MS).catch((err: unknown) => {
        throw new BundleRefused(
          `its git data does not apply to ${full}${verified.manifest.predicate.since ? ` (an incremental bundle after ${verified.manifest.predicate.since}: import the earlier bundle first)` : ''}: ${(err as Error).message}`,
        );
      });
    }
  } else if (verified.manifest.predicate.since !== null) {
    throw new BundleRefused(`this is an incremental bundle (after ${verified.manifest.predicate.since}) and ${full} does not exist: import the earlier bundle first`);
  }
  return { owner, name, repo, actor };
}

export async function importBundle(ctx: AppContext, options: ImportOptions): Promise<ImportSummary> {
  const work = await mkdtemp(path.join(tmpdir(), 'wharf-bundle-'));
  const staged: Verified['blobs'] = new Map();
  // A large bundle stages bytes for longer than an upload's lease: its holds must not look abandoned.
  const renewal = setInterval(() => {
    for (const { hold } of staged.values()) hold.renew().catch((err: unknown) => ctx.log.warn({ err }, 'bundle import: could not renew a blob hold'));
  }, leaseRenewalMs(ctx.config.uploadLeaseMs));
  renewal.unref();
  try {
    const verified = await readAndVerify(ctx, options, work, staged);
    const where = await target(ctx, options, verified);
    return await apply(ctx, verified, where);
  } finally {
    clearInterval(renewal);
    for (const { hold } of staged.values()) await hold.release();
    // Bytes a refused (or failed) import staged and no asset references: gone again.
    await deleteUnreferencedBlobs(
      ctx,
      [...staged.values()].map((s) => s.stored.key),
    );
    await rm(work, { recursive: true, force: true });
  }
}

async function apply(ctx: AppContext, verified: Verified, where: { owner: Account; name: string; repo: Repository | null; actor: Account }): Promise<ImportSummary> {
  const { manifest, contents } = verified;
  const principal = actingPrincipal(where.actor);
  const summary: ImportSummary = {
    repository: `${where.owner.login}/${where.name}`,
    origin: manifest.predicate.instance ? `${manifest.predicate.repository} on ${manifest.predicate.instance}` : manifest.predicate.repository,
    trustedFrom: verified.trustedFrom,
    keyId: verified.keyId,
    createdRepository: false,
    refsChanged: 0,
    releasesCreated: 0,
    releasesUpdated: 0,
    assetsStored: 0,
    assetsDeleted: 0,
    attestationsStored: 0,
  };
  let repo = where.repo;
  if (!repo) {
    repo = await createRepository(ctx, where.owner, principal, {
      name: where.name,
      private: contents.repository.private,
      description: contents.repository.description,
      default_branch: contents.repository.default_branch,
    });
    summary.createdRepository = true;
  }
  if (!(await findBundleOrigin(ctx.db, repo.id))) {
    await upsertBundleOrigin(ctx.db, {
      repository_id: repo.id,
      origin_repository: manifest.predicate.repository,
      origin_instance: manifest.predicate.instance,
      key_id: verified.keyId,
      imported_at: isoSeconds(),
    });
  }
  const access: RepoAccess = { owner: where.owner, repo, permission: 'admin', principal, viaMirror: true };

  if (verified.gitFile) {
    const theirs = new Map(
      [...(await bundleHeads(gitDirFor(ctx, repo), verified.gitFile, GIT_TIMEOUT_MS))].filter(([ref]) => ref.startsWith('refs/heads/') || ref.startsWith('refs/tags/')),
    );
    const ours = await snapshotRefs(gitDirFor(ctx, repo));
    // A bundle adds and moves refs; it never deletes one (an incremental bundle carries only what changed).
    const changes = diffRefs(ours, theirs).filter((c) => c.after !== null);
    const actor: RefActor = { user: where.actor, via: 'bundle' };
    const applied = await applyRemoteRefs(ctx, repo, { url: verified.gitFile, config: { 'protocol.file.allow': 'always' } }, changes, actor, GIT_TIMEOUT_MS);
    summary.refsChanged = applied.length;
  }

  for (const release of contents.releases) await applyRelease(ctx, access, release, verified, summary);

  if (contents.latest) {
    const local = (await releasesOfRepository(ctx.db, repo.id)).find((r) => r.published_tag === contents.latest);
    if (local && (await latestReleaseId(ctx, repo)) !== local.id) await updateRelease(ctx, access, local.id, { make_latest: 'true' });
  }
  return summary;
}

/** The origin's date in Wharf's form (UTC, whole seconds), or null when it is not a date. */
function originDate(at: string | null): string | null {
  const ms = at ? Date.parse(at) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

async function applyRelease(ctx: AppContext, access: RepoAccess, up: BundledRelease, verified: Verified, summary: ImportSummary): Promise<void> {
  const locals = await releasesOfRepository(ctx.db, access.repo.id);
  // The published release of the tag, else a draft an interrupted import of an earlier version left for it.
  const local: Release | undefined = locals.find((r) => r.published_tag === up.tag_name) ?? locals.find((r) => r.draft === 1 && r.tag_name === up.tag_name);
  const origin = { createdAt: originDate(up.created_at), publishedAt: originDate(up.published_at) };
  if (!local) {
    // New here: created published with its assets (their bytes staged and verified in step 1)
    // and its attestation in one transaction, with the origin's dates; which release is latest
    // is decided at the end.
    const fields = { tag_name: up.tag_name, target_commitish: up.target_commitish, name: up.name, body: up.body, prerelease: up.prerelease, draft: false, make_latest: 'false' };
    let attested = 0;
    await createRelease(ctx, access, fields, {
      assets: up.assets.map((a) => {
        const { stored } = verified.blobs.get(a.sha256)!;
        return { name: a.name, label: a.label, contentType: a.content_type || 'application/octet-stream', size: stored.size, digest: stored.sha256, blobKey: stored.key };
      }),
      origin,
      alsoInTransaction: async (trx, release) => {
        crashPoint('bundle-release-applying');
        if (up.attestation) attested = await keepAttestation(trx, release, up, verified.manifest.predicate.repository);
      },
    });
    summary.releasesCreated++;
    summary.assetsStored += up.assets.length;
    summary.attestationsStored += attested;
    return;
  }
  await applyAssets(ctx, access, local, up, verified, summary);
  const differs = local.draft === 1 || local.name !== up.name || (local.body ?? '') !== (up.body ?? '') || (local.prerelease === 1) !== up.prerelease;
  let current = local;
  if (differs) {
    current = await updateRelease(ctx, access, local.id, {
      name: up.name,
      body: up.body,
      prerelease: up.prerelease,
      draft: false,
      ...(local.draft === 1 ? { make_latest: 'false' } : {}),
    });
    if (local.draft === 0) summary.releasesUpdated++;
  }
  // The origin's dates, on a release imported before they were kept: not an edit, so no event
  // (readers see it through the read generation the row's update bumps).
  const dates = {
    ...(origin.createdAt && current.created_at !== origin.createdAt ? { created_at: origin.createdAt } : {}),
    ...(origin.publishedAt && current.published_at !== origin.publishedAt ? { published_at: origin.publishedAt } : {}),
  };
  if (Object.keys(dates).length) await updateReleaseRow(ctx.db, current.id, dates);
  if (up.attestation) summary.attestationsStored += await keepAttestation(ctx.db, current, up, verified.manifest.predicate.repository);
}

async function applyAssets(ctx: AppContext, access: RepoAccess, local: Release, up: BundledRelease, verified: Verified, summary: ImportSummary): Promise<void> {
  const mine = (await listAssetsForReleases(ctx.db, [local.id], true)).get(local.id) ?? [];
  // An `open` asset here is an interrupted import's (nothing else writes this repository).
  for (const leftover of mine.filter((a) => a.state !== 'uploaded')) {
    const row = await deleteAssetRow(ctx.db, leftover.id, true);
    if (row?.blob_key) await deleteUnreferencedBlobs(ctx, [row.blob_key]);
  }
  const uploaded = mine.filter((a) => a.state === 'uploaded');
  for (const asset of up.assets) {
    const existing = uploaded.find((a) => a.name === asset.name);
    if (existing && existing.digest === asset.sha256 && existing.size === asset.size) {
      if ((existing.label ?? '') !== (asset.label ?? '')) await updateAsset(ctx, access, existing.id, { label: asset.label ?? '' });
      continue;
    }
    if (existing) {
      await deleteAsset(ctx, access, existing.id);
      summary.assetsDeleted++;
    }
    const { stored } = verified.blobs.get(asset.sha256)!;
    const row = await claimAssetName(ctx, access, local, { name: asset.name, label: asset.label, contentType: asset.content_type || 'application/octet-stream', size: asset.size });
    try {
      await recordUploadedBlob(ctx, access, local, row.id, stored);
    } catch (err) {
      await deleteAssetRow(ctx.db, row.id, true).catch(() => undefined);
      throw err;
    }
    summary.assetsStored++;
  }
  const names = new Set(up.assets.map((a) => a.name));
  for (const gone of uploaded.filter((a) => !names.has(a.name))) {
    await deleteAsset(ctx, access, gone.id);
    summary.assetsDeleted++;
  }
}

/**
 * Keeps the carried release attestation beside the release (once), as a pull mirror keeps its
 * upstream's (services/attestations `keepForeignAttestation`); 1 when it was new.
 */
async function keepAttestation(db: AppContext['db'], local: Release, up: BundledRelease, originRepository: string): Promise<number> {
  const id = await keepForeignAttestation(
    db,
    local,
    { originRepository: up.attestation_repository ?? originRepository, bundle: JSON.stringify(up.attestation), predicateType: RELEASE_PREDICATE_TYPE, initiator: 'release' },
    up.assets.map((a) => `sha256:${a.sha256}`),
  );
  return id === null ? 0 : 1;
}

/**
 * Stops following the bundles' origin (`wharf bundle detach`): the repository keeps everything
 * imported and becomes an ordinary, writable one, as a pull mirror does when it is removed.
 */
export async function detachBundleOrigin(ctx: AppContext, full: string): Promise<string> {
  const [ownerLogin, name] = full.split('/');
  const owner = ownerLogin ? await findAccountByLogin(ctx.db, ownerLogin) : undefined;
  const repo = owner && name ? await findRepository(ctx.db, owner.id, name) : undefined;
  if (!repo) throw new BundleRefused(`there is no repository ${full}`);
  const origin = await findBundleOrigin(ctx.db, repo.id);
  if (!origin || !(await deleteBundleOrigin(ctx.db, repo.id))) throw new BundleRefused(`${full} holds no imported releases`);
  return origin.origin_repository;
}
