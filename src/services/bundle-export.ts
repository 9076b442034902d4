/**
 * @module services/bundle-export
 * `wharf bundle export` (docs/mirrors.md): one tar file holding, in this order, the signed
 * manifest (`manifest.json`, `manifest.sigstore.json`), `releases.json`, a git bundle of the
 * branches and tags (`refs.bundle`) and every asset's bytes once (`blobs/sha256/<hex>`).
 *
 * The manifest comes first so an import can check the signature before it stores a byte; it
 * names every other member's sha256, so the git bundle is written to a temporary file first (its
 * digest and size must be known before the tar header), and asset digests are the ones recorded
 * at upload, checked again while the bytes stream out. Memory stays flat whatever the size:
 * every member is streamed, none is held whole except the JSON ones.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Asset, Release } from '../db/schema.ts';
import { findAccountByLogin } from '../db/repos/accounts-repo.ts';
import { listAssetsForReleases } from '../db/repos/assets-repo.ts';
import { findReleaseAttestation, listForeignAttestations } from '../db/repos/attestations-repo.ts';
import { RELEASE_PREDICATE_TYPE } from '../attestations/release-statement.ts';
import { releasesOfRepository } from '../db/repos/mirrors-repo.ts';
import { findRepository } from '../db/repos/repositories-repo.ts';
import { bundleHeads, createBundle, resolveCommit } from '../git/git.ts';
import { BLOB_PREFIX, bundleManifest, BundleRefused, GIT_MEMBER, MANIFEST_MEMBER, RELEASES_MEMBER, SIGNATURE_MEMBER, signManifest } from '../attestations/bundle-manifest.ts';
import { globMatcher } from '../util/glob.ts';
import type { BundleContents, BundledRelease } from './bundle-contents.ts';
import { latestReleaseId } from './releases.ts';
import { snapshotRefs } from './refs.ts';
import { signingKey } from './signing-keys.ts';

export interface ExportOptions {
  /** `OWNER/REPO`. */
  repository: string;
  output: string;
  since: string | null;
  tags: string | null;
  /** Called as bytes are written, with the total expected. */
  onProgress?: (written: number, total: number) => void;
}

export interface ExportSummary {
  releases: number;
  assets: number;
  blobs: number;
  refs: number;
  bytes: number;
  keyId: string;
}

/** Git has no deadline of its own for a bundle of a large repository; an hour bounds a stuck one. */
const BUNDLE_GIT_TIMEOUT_MS = 3_600_000;
/** A fixed tar mtime: the same repository exported twice gives the same members. */
const MTIME = new Date(0);

function byPublication(a: Release, b: Release): number {
  const pa = a.published_at ?? '';
  const pb = b.published_at ?? '';
  return pa < pb ? -1 : pa > pb ? 1 : a.id - b.id;
}

/** Passes bytes through and fails at the end unless they are `size` bytes with sha256 `sha256`. */
class DigestCheck extends Transform {
  readonly #hash = createHash('sha256');
  #size = 0;
  constructor(
    readonly sha256: string,
    readonly size: number,
    readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    const actual = this.#hash.digest('hex');
    if (actual !== this.sha256 || this.#size !== this.size)
      done(new BundleRefused(`${this.what}: the stored bytes (${this.#size} bytes, sha256 ${actual}) are not what was uploaded; not exported`));
    else done();
  }
}

async function fileDigest(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

export async function exportBundle(ctx: AppContext, options: ExportOptions): Promise<ExportSummary> {
  const [ownerLogin, name] = options.repository.split('/');
  const owner = ownerLogin ? await findAccountByLogin(ctx.db, ownerLogin) : undefined;
  const repo = owner && name ? await findRepository(ctx.db, owner.id, name) : undefined;
  if (!owner || !repo) throw new BundleRefused(`there is no repository ${options.repository}`);
  const gitDir = gitDirFor(ctx, repo);
  const wantsTag = globMatcher(options.tags);

  let releases = (await releasesOfRepository(ctx.db, repo.id)).filter((r) => r.draft === 0 && r.published_tag !== null && wantsTag(r.tag_name)).sort(byPublication);
  let sinceCommit: string | null = null;
  if (options.since !== null) {
    const since = releases.find((r) => r.tag_name === options.since);
    if (!since) throw new BundleRefused(`${options.repository} has no published release ${options.since}${options.tags ? ` matching ${options.tags}` : ''} to start after`);
    sinceCommit = await resolveCommit(gitDir, `refs/tags/${options.since}`);
    if (!sinceCommit) throw new BundleRefused(`the tag ${options.since} does not exist in ${options.repository}`);
    releases = releases.slice(releases.indexOf(since) + 1);
  }
  const assetsByRelease = await listAssetsForReleases(
    ctx.db,
    releases.map((r) => r.id),
  );
  const latestId = await latestReleaseId(ctx, repo);
  const bundled: BundledRelease[] = [];
  const blobs = new Map<string, Asset>();
  for (const r of releases) {
    const assets = (assetsByRelease.get(r.id) ?? []).filter((a) => a.state === 'uploaded' && a.digest && a.blob_key);
    for (const a of assets) blobs.set(a.digest!, a);
    // This instance's own release attestation, else the one kept from where the release came from
    // (a pull mirror's upstream, an earlier bundle's origin), which names that repository.
    const own = r.immutable === 1 ? await findReleaseAttestation(ctx.db, r.id) : undefined;
    const attestation = own ?? (await listForeignAttestations(ctx.db, r.id)).filter((a) => a.predicate_type === RELEASE_PREDICATE_TYPE).pop();
    bundled.push({
      tag_name: r.tag_name,
      target_commitish: r.target_commitish,
      name: r.name,
      body: r.body,
      prerelease: r.prerelease === 1,
      immutable: r.immutable === 1,
      created_at: r.created_at,
      published_at: r.published_at,
      assets: assets.map((a) => ({
        name: a.name,
        label: a.label,
        content_type: a.content_type,
        size: a.size,
        sha256: a.digest!,
        created_at: a.created_at,
        updated_at: a.updated_at,
      })),
      attestation: attestation ? (JSON.parse(attestation.bundle) as BundledRelease['attestation']) : null,
      ...(attestation?.origin_repository ? { attestation_repository: attestation.origin_repository } : {}),
    });
  }
  const contents: BundleContents = {
    repository: { private: repo.private === 1, description: repo.description, default_branch: repo.default_branch },
    latest: releases.find((r) => r.id === latestId)?.tag_name ?? null,
    releases: bundled,
  };
  const contentsBytes = Buffer.from(JSON.stringify(contents), 'utf8');

  const work = await mkdtemp(path.join(tmpdir(), 'wharf-bundle-'));
  const partial = `${options.output}.partial`;
  try {
    const refs = [...(await snapshotRefs(gitDir)).keys()].filter(
      (ref) => ref.startsWith('refs/heads/') || (ref.startsWith('refs/tags/') && wantsTag(ref.slice('refs/tags/'.length))),
    );
    const gitFile = path.join(work, GIT_MEMBER);
    const hasGit = await createBundle(gitDir, gitFile, [...refs, ...(sinceCommit ? [`^refs/tags/${options.since}`] : [])], BUNDLE_GIT_TIMEOUT_MS);
    const gitDigest = hasGit ? await fileDigest(gitFile) : null;

    const members = [
      { name: RELEASES_MEMBER, sha256: createHash('sha256').update(contentsBytes).digest('hex'), size: contentsBytes.length },
      ...(gitDigest ? [{ name: GIT_MEMBER, ...gitDigest }] : []),
      ...[...blobs.values()].map((a) => ({ name: `${BLOB_PREFIX}${a.digest}`, sha256: a.digest!, size: a.size })),
    ];
    const key = await signingKey(ctx);
    const manifest = bundleManifest(
      { format: 1, repository: `${owner.login}/${repo.name}`, instance: ctx.config.externalUrl, since: options.since, tags: options.tags, createdAt: new Date().toISOString() },
      members,
    );
    const { bytes: manifestBytes, signature } = await signManifest(manifest, key);
    const signatureBytes = Buffer.from(JSON.stringify(signature), 'utf8');

    const total = members.reduce((n, m) => n + m.size, 0) + manifestBytes.length + signatureBytes.length;
    let written = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        written += chunk.length;
        options.onProgress?.(written, total);
        done(null, chunk);
      },
    });
    const pack = tar.pack();
    const writing = pipeline(pack, meter, createWriteStream(partial, { mode: 0o600 }));
    const add = async (name: string, size: number, source: Buffer | Readable, check?: DigestCheck) => {
      if (Buffer.isBuffer(source)) {
        await new Promise<void>((resolve, reject) => pack.entry({ name, size, mode: 0o644, mtime: MTIME }, source, (err) => (err ? reject(err) : resolve())));
        return;
      }
      const entry = pack.entry({ name, size, mode: 0o644, mtime: MTIME });
      await (check ? pipeline(source, check, entry) : pipeline(source, entry));
    };
    const adding = (async () => {
      await add(MANIFEST_MEMBER, manifestBytes.length, manifestBytes);
      await add(SIGNATURE_MEMBER, signatureBytes.length, signatureBytes);
      await add(RELEASES_MEMBER, contentsBytes.length, contentsBytes);
      if (gitDigest) await add(GIT_MEMBER, gitDigest.size, createReadStream(gitFile));
      for (const asset of blobs.values()) {
        const source = await ctx.blobs.get(asset.blob_key!);
        const check = new DigestCheck(asset.digest!, asset.size, `asset ${asset.name}`);
        await add(`${BLOB_PREFIX}${asset.digest}`, asset.size, source, check);
      }
      pack.finalize();
    })();
    adding.catch((err: unknown) => pack.destroy(err as Error));
    await Promise.all([adding, writing]);
    await rename(partial, options.output);
    const size = (await stat(options.output)).size;
    return {
      releases: bundled.length,
      assets: bundled.reduce((n, r) => n + r.assets.length, 0),
      blobs: blobs.size,
      refs: hasGit ? (await bundleHeads(gitDir, gitFile, BUNDLE_GIT_TIMEOUT_MS)).size : 0,
      bytes: size,
      keyId: key.keyId,
    };
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
