/**
 * @module services/mirror-sync
 * One sync of a pull mirror (docs/mirrors.md): a reconciliation, not a replay. It compares what
 * the upstream has now with what the mirror has, by tag, asset name, size and digest, fetches
 * only what differs and removes what the upstream removed, so it converges from any state —
 * including one a sync killed half-way left behind.
 *
 * Order of work, chosen so that nothing is ever half-visible:
 * 1. Refs: the upstream's branches and tags (`git ls-remote`), the differences fetched and
 *    applied through the refs door (`applyRemoteRefs`), with their normal `push`/`ref` events.
 * 2. Releases, oldest first. A release new to the mirror arrives whole: its assets' bytes are
 *    downloaded into the blob store first, each checked against the upstream's `digest` while it
 *    streams in and held (referenced by no row, so invisible), then the release is created
 *    published with its assets and the upstream's publication time in **one transaction** — a
 *    sync that dies before it leaves no row, only held bytes the blob collector removes. A
 *    release the mirror has is compared asset by asset; a changed asset appears only once
 *    complete and verified (the upload service's all-or-nothing rule). A draft a dead sync of an
 *    earlier version left is found by tag and carried on; a leftover `open` asset is removed first.
 * 3. Releases and assets the upstream no longer has (or the filters exclude) are deleted, and
 *    the upstream's latest release is made the mirror's latest.
 * Every change goes through the releases and assets services, so it records the same domain
 * events (webhooks, audit) as a change made through the API, attributed to whoever set up the mirror.
 *
 * One node at a time syncs a mirror: the sync holds the lease `mirror:<id>` in the database and
 * renews it while it works; a sync that loses it stops.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BlobSizeMismatchError, BlobTooLargeError, type StoredBlob } from '../blobs/blob-store.ts';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Asset, Mirror, Release } from '../db/schema.ts';
import { findAccountById } from '../db/repos/accounts-repo.ts';
import { deleteAssetRow, listAssetsForReleases, setUpstreamIdentity } from '../db/repos/assets-repo.ts';
import { findMirror, releasesOfRepository, updateMirror } from '../db/repos/mirrors-repo.ts';
import { updateReleaseRow } from '../db/repos/releases-repo.ts';
import { findRepositoryById } from '../db/repos/repositories-repo.ts';
import { lsRemote } from '../git/git.ts';
import { globMatcher } from '../util/glob.ts';
import { secretBoxAt } from '../util/secret-box.ts';
import { isoSeconds } from '../util/time.ts';
import { crashPoint } from '../util/crash-points.ts';
import { deleteAsset, updateAsset, uploadAsset } from './assets.ts';
import { deleteUnreferencedBlobs, putHeld, type BlobHold } from './blob-gc.ts';
import { acquire, acquireOrTakeOver, release as releaseLease } from './leases.ts';
import { assetIdentity, detectKind, upstreamOf, UpstreamError, type Upstream, type UpstreamAsset, type UpstreamRelease } from './mirror-upstream.ts';
import { removeOrphanedAttestations, syncReleaseAttestations } from './mirror-attestations.ts';
import { versionColumns } from './release-channels.ts';
import { applyRemoteRefs, diffRefs, snapshotRefs, type RefActor } from './refs.ts';
import { createRelease, deleteRelease, latestReleaseId, updateRelease } from './releases.ts';
import type { RepoAccess } from './repositories.ts';
import type { Principal } from './tokens.ts';

/** What one sync did. */
export interface SyncSummary {
  refsChanged: number;
  releasesCreated: number;
  releasesUpdated: number;
  releasesDeleted: number;
  assetsStored: number;
  assetsDeleted: number;
  bytesStored: number;
  requests: number;
  notModified: number;
  rateLimitWaits: number;
  /** Progress: the upstream releases the filters keep, and how many of them this sync has compared so far. */
  releasesTotal: number;
  releasesDone: number;
  /** The upstream's release attestations kept and removed, and those refused (services/mirror-attestations). */
  attestationsStored: number;
  attestationsDeleted: number;
  attestationProblems: string[];
}

/** How often a running sync writes its progress to the mirror's row (the page and the API show it). */
const PROGRESS_EVERY_MS = 1000;

/** One line saying what a sync did (the CLI prints it, the settings page shows it). */
export function describeSummary(s: SyncSummary): string {
  return `${s.refsChanged} refs changed, releases ${s.releasesCreated} created / ${s.releasesUpdated} updated / ${s.releasesDeleted} deleted, assets ${s.assetsStored} stored (${s.bytesStored} bytes) / ${s.assetsDeleted} deleted${
    // Summaries stored before attestations were mirrored have no such counts.
    s.attestationsStored || s.attestationsDeleted ? `, upstream attestations ${s.attestationsStored} kept / ${s.attestationsDeleted} removed` : ''
  }; ${s.requests} requests (${s.notModified} not modified)`;
}

export type SyncOutcome = { ran: false } | { ran: true; ok: true; summary: SyncSummary } | { ran: true; ok: false; error: string; summary: SyncSummary };

const LEASE_MS = 60_000;

function emptySummary(): SyncSummary {
  return {
    refsChanged: 0,
    releasesCreated: 0,
    releasesUpdated: 0,
    releasesDeleted: 0,
    assetsStored: 0,
    assetsDeleted: 0,
    bytesStored: 0,
    requests: 0,
    notModified: 0,
    rateLimitWaits: 0,
    releasesTotal: 0,
    releasesDone: 0,
    attestationsStored: 0,
    attestationsDeleted: 0,
    attestationProblems: [],
  };
}

export function leaseName(mirrorId: number): string {
  return `mirror:${mirrorId}`;
}

/**
 * Syncs mirror `mirrorId` now if no other process is syncing it; records the outcome on the
 * mirror and schedules the next run. Never throws for an upstream's or the sync's failure: the
 * outcome says what went wrong (and the mirror shows it). `onlyIfDueAt`: the scheduler's
 * round, which skips a mirror that is no longer due once it holds the lease.
 */
export async function syncMirror(ctx: AppContext, mirrorId: number, options: { onlyIfDueAt?: number } = {}): Promise<SyncOutcome> {
  // A sync killed with its process is continued at once by the next one (its holder is gone).
  if (!(await acquireOrTakeOver(ctx, leaseName(mirrorId), LEASE_MS, LEASE_MS * 2))) return { ran: false };
  const abort = new AbortController();
  const renew = setInterval(() => {
    acquire(ctx, leaseName(mirrorId), LEASE_MS).then(
      (held) => held || abort.abort(new UpstreamError('another node took over this mirror (its lease ran out)')),
      (err: unknown) => ctx.log.warn({ err, mirror: mirrorId }, 'mirror: could not renew the lease'),
    );
  }, LEASE_MS / 4);
  renew.unref();
  const summary = emptySummary();
  try {
    const mirror = await findMirror(ctx.db, mirrorId);
    if (!mirror) return { ran: false };
    // The scheduler picked it as due; another node may have synced it between that and the lease.
    if (options.onlyIfDueAt !== undefined && mirror.next_sync_ms > options.onlyIfDueAt) return { ran: false };
    // The summary of the previous sync gives way to this one's progress.
    await updateMirror(ctx.db, mirror.id, { last_status: 'running', last_started_at: isoSeconds(), last_error: null, last_summary: null });
    try {
      await reconcile(ctx, mirror, summary, abort.signal);
      await updateMirror(ctx.db, mirror.id, finished(await currentRow(ctx, mirror), mirror, 'ok', null, summary));
      return { ran: true, ok: true, summary };
    } catch (err) {
      const error = describe(err);
      ctx.log.warn({ err, mirror: mirror.id }, 'mirror: sync failed');
      await updateMirror(ctx.db, mirror.id, finished(await currentRow(ctx, mirror), mirror, 'failed', error, summary));
      return { ran: true, ok: false, error, summary };
    }
  } finally {
    clearInterval(renew);
    await releaseLease(ctx, leaseName(mirrorId)).catch(() => undefined);
  }
}

/** The mirror's row as it is now (its settings may have changed during the sync). */
async function currentRow(ctx: AppContext, started: Mirror): Promise<Mirror> {
  return (await findMirror(ctx.db, started.id)) ?? started;
}

/**
 * The row's outcome of a sync that started from `started`. A sync asked for while this one ran
 * (settings saved, "Sync now") moved `next_sync_ms`: that request stands rather than being
 * pushed back by the schedule.
 */
function finished(current: Mirror, started: Mirror, status: 'ok' | 'failed', error: string | null, summary: SyncSummary) {
  // A failed sync is tried again sooner than the schedule, but not in a tight loop.
  const scheduled = Date.now() + (status === 'ok' ? current.schedule_ms : Math.min(current.schedule_ms, 5 * 60_000));
  return {
    last_status: status,
    last_error: error,
    last_finished_at: isoSeconds(),
    last_summary: JSON.stringify(summary),
    next_sync_ms: current.next_sync_ms !== started.next_sync_ms ? Math.min(current.next_sync_ms, scheduled) : scheduled,
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/**
 * A caller standing for `user` where no token is involved (a mirror's sync, the CLI): the
 * services expect a principal, and nothing reads or records its token's fields.
 */
export function actingPrincipal(user: Account): Principal {
  const now = isoSeconds();
  return {
    user,
    scopes: new Set(['repo']),
    token: {
      id: 0,
      user_id: user.id,
      token_hash: '',
      token_last_eight: 'mirror',
      scopes: 'repo',
      note: 'pull mirror',
      created_at: now,
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      last_used_ip: null,
      kind: 'personal',
    },
  };
}

/** The mirror's writes: as the account that set it up, allowed past the read-only guard. */
async function mirrorAccess(ctx: AppContext, mirror: Mirror): Promise<RepoAccess> {
  const repo = await findRepositoryById(ctx.db, mirror.repository_id);
  const owner = repo && (await findAccountById(ctx.db, repo.owner_id));
  const user = await findAccountById(ctx.db, mirror.created_by);
  if (!repo || !owner || !user) throw new UpstreamError('the mirrored repository or the account that set the mirror up no longer exists');
  return { repo, owner, permission: 'admin', viaMirror: true, principal: actingPrincipal(user) };
}

async function reconcile(ctx: AppContext, mirror: Mirror, summary: SyncSummary, signal: AbortSignal): Promise<void> {
  const access = await mirrorAccess(ctx, mirror);
  const token = mirror.token_sealed ? secretBoxAt(ctx.config.instanceKeyFile).open(mirror.token_sealed) : null;
  let kind = mirror.kind;
  if (kind === 'auto') {
    // Asked once; the answer is kept, so later syncs cost no extra request.
    kind = await detectKind(ctx, mirror.upstream_url);
    await updateMirror(ctx.db, mirror.id, { kind });
  }
  const upstream = upstreamOf(ctx, mirror, kind, token, signal);
  const wantsTag = globMatcher(mirror.tag_glob);
  const channels = mirror.channels === null ? null : new Set(mirror.channels.split(','));
  // The channel as this repository's release rules derive it, as its own releases get theirs.
  const wantsChannel = (r: UpstreamRelease) => channels === null || channels.has(versionColumns(access.repo, r.tag_name, r.prerelease, null).channel);
  const assetRules: AssetRules = { wanted: globMatcher(mirror.asset_glob), prune: mirror.prune === 1 };
  try {
    summary.refsChanged = await syncGitRefs(ctx, access, upstream, wantsTag);
    signal.throwIfAborted();

    let releases = (await upstream.releases()).filter((r) => wantsTag(r.tag_name) && wantsChannel(r));
    if (mirror.last_n !== null) releases = releases.slice(0, mirror.last_n);
    const wanted = new Set(releases.map((r) => r.tag_name));
    let locals = await releasesOfRepository(ctx.db, access.repo.id);
    summary.releasesTotal = releases.length;
    let progressAt = Date.now();
    for (const up of [...releases].reverse()) {
      signal.throwIfAborted();
      await syncRelease(ctx, access, upstream, up, locals, assetRules, summary, signal);
      summary.releasesDone++;
      if (Date.now() - progressAt >= PROGRESS_EVERY_MS) {
        progressAt = Date.now();
        await updateMirror(ctx.db, mirror.id, { last_summary: JSON.stringify(summary) });
      }
    }
    if (mirror.prune === 1) {
      locals = await releasesOfRepository(ctx.db, access.repo.id);
      for (const local of locals.filter((r) => !wanted.has(r.tag_name))) {
        await deleteRelease(ctx, access, local.id);
        summary.releasesDeleted++;
      }
    }
    summary.attestationsDeleted += await removeOrphanedAttestations(ctx, access.repo.id);
    const latestTag = await upstream.latestTag();
    if (latestTag && wanted.has(latestTag)) {
      const local = (await releasesOfRepository(ctx.db, access.repo.id)).find((r) => r.published_tag === latestTag);
      if (local && (await latestReleaseId(ctx, access.repo)) !== local.id) await updateRelease(ctx, access, local.id, { make_latest: 'true' });
    }
    // Everything else is synced; an upstream attestation that does not attest the mirrored bytes is the sync's failure.
    if (summary.attestationProblems.length) throw new UpstreamError(summary.attestationProblems.join('; '));
  } finally {
    Object.assign(summary, { requests: upstream.counts.requests, notModified: upstream.counts.notModified, rateLimitWaits: upstream.counts.rateLimitWaits });
  }
}

/** Makes the mirror's branches and tags the upstream's (tags filtered by the mirror's glob). */
async function syncGitRefs(ctx: AppContext, access: RepoAccess, upstream: Upstream, wantsTag: (tag: string) => boolean): Promise<number> {
  const remote = await upstream.gitRemote();
  const theirs = new Map(
    [...(await lsRemote(remote, ctx.config.mirrors.gitTimeoutMs))].filter(
      ([ref]) => ref.startsWith('refs/heads/') || (ref.startsWith('refs/tags/') && wantsTag(ref.slice('refs/tags/'.length))),
    ),
  );
  const ours = new Map([...(await snapshotRefs(gitDirFor(ctx, access.repo)))].filter(([ref]) => ref.startsWith('refs/heads/') || ref.startsWith('refs/tags/')));
  const actor: RefActor = { user: access.principal!.user, via: 'mirror' };
  const changes = await applyRemoteRefs(ctx, access.repo, remote, diffRefs(ours, theirs), actor, ctx.config.mirrors.gitTimeoutMs);
  return changes.length;
}

/** Which of a release's assets the mirror keeps (the `assets` glob) and whether it deletes the others. */
interface AssetRules {
  wanted: (name: string) => boolean;
  prune: boolean;
}

async function syncRelease(
  ctx: AppContext,
  access: RepoAccess,
  upstream: Upstream,
  up: UpstreamRelease,
  locals: Release[],
  rules: AssetRules,
  summary: SyncSummary,
  signal: AbortSignal,
): Promise<void> {
  // The published release of the tag, else a draft a dead sync (of an earlier version) left for it.
  let local = locals.find((r) => r.published_tag === up.tag_name) ?? locals.find((r) => r.draft === 1 && r.tag_name === up.tag_name);
  if (!local) {
    const created = await createWhole(ctx, access, upstream, up, rules, summary, signal);
    return syncReleaseAttestations(ctx, access, upstream, up, created, rules.wanted, summary);
  }
  await syncAssets(ctx, access, upstream, up, local, rules, summary, signal);
  const differs = local.draft === 1 || local.name !== up.name || (local.body ?? '') !== (up.body ?? '') || (local.prerelease === 1) !== up.prerelease;
  if (differs) {
    const wasDraft = local.draft === 1;
    local = await updateRelease(ctx, access, local.id, { name: up.name, body: up.body, prerelease: up.prerelease, draft: false, ...(wasDraft ? { make_latest: 'false' } : {}) });
    if (!wasDraft) summary.releasesUpdated++;
  }
  await keepPublishedAt(ctx, local, up);
  await syncReleaseAttestations(ctx, access, upstream, up, local, rules.wanted, summary);
}

/**
 * A release new to the mirror, in one transaction once its assets' bytes are stored and verified
 * (held until the release's rows reference them, in that same transaction). `make_latest: false`:
 * which release is latest is the upstream's word, applied at the end of the sync.
 */
async function createWhole(
  ctx: AppContext,
  access: RepoAccess,
  upstream: Upstream,
  up: UpstreamRelease,
  rules: AssetRules,
  summary: SyncSummary,
  signal: AbortSignal,
): Promise<Release> {
  const staged: Array<{ asset: UpstreamAsset; stored: StoredBlob; hold: BlobHold }> = [];
  let created: Release | null = null;
  try {
    for (const asset of up.assets.filter((a) => a.state === 'uploaded' && rules.wanted(a.name))) {
      signal.throwIfAborted();
      staged.push({ asset, ...(await fetchVerified(ctx, upstream, asset, signal)) });
      crashPoint('mirror-asset-stored');
    }
    const fields = { tag_name: up.tag_name, target_commitish: up.target_commitish, name: up.name, body: up.body, prerelease: up.prerelease, draft: false, make_latest: 'false' };
    created = await createRelease(ctx, access, fields, {
      assets: staged.map(({ asset, stored }) => ({
        name: asset.name,
        label: asset.label,
        contentType: asset.content_type || 'application/octet-stream',
        size: stored.size,
        digest: stored.sha256,
        blobKey: stored.key,
        upstreamIdentity: assetIdentity(asset),
      })),
      origin: { publishedAt: upstreamPublishedAt(up) },
      alsoInTransaction: async (trx) => {
        for (const { hold } of staged) await hold.releaseIn(trx);
      },
    });
  } finally {
    if (created === null) {
      for (const { hold } of staged) await hold.release();
      await deleteUnreferencedBlobs(
        ctx,
        staged.map((s) => s.stored.key),
      );
    }
  }
  summary.releasesCreated++;
  summary.assetsStored += staged.length;
  for (const { stored } of staged) summary.bytesStored += stored.size;
  return created;
}

/** An asset's bytes from the upstream into the blob store, held, refused unless of the stated size and digest. */
async function fetchVerified(ctx: AppContext, upstream: Upstream, asset: UpstreamAsset, signal: AbortSignal): Promise<{ stored: StoredBlob; hold: BlobHold }> {
  const res = await upstream.download(asset);
  const check = new DigestCheck(expectedDigest(asset), asset.name);
  res.body.on('error', (err) => check.destroy(err));
  res.body.pipe(check);
  try {
    return await putHeld(ctx, check, { expectedSize: asset.size, maxSize: ctx.config.maxAssetSize, signal });
  } catch (err) {
    if (err instanceof BlobSizeMismatchError) throw new UpstreamError(`${asset.name}: the upstream sent ${check.received} bytes, not the ${asset.size} it states; not stored`);
    if (err instanceof BlobTooLargeError) throw new UpstreamError(`${asset.name}: ${asset.size} bytes is more than this instance takes for an asset (WHARF_MAX_ASSET_SIZE)`);
    throw err;
  } finally {
    res.body.destroy();
  }
}

function expectedDigest(asset: UpstreamAsset): string | null {
  return asset.digest?.startsWith('sha256:') ? asset.digest.slice('sha256:'.length).toLowerCase() : null;
}

/** The upstream's publication time in Wharf's form (UTC, whole seconds), or null when it gives none. */
export function upstreamPublishedAt(up: Pick<UpstreamRelease, 'published_at'>): string | null {
  const at = up.published_at ? Date.parse(up.published_at) : NaN;
  return Number.isFinite(at) ? new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

/**
 * A mirrored release says when the upstream published it, not when this sync did: set on the row
 * once it is published (the releases service keeps a published release's time on later edits).
 * Not an edit of the release, so no event: readers see it through the read generation the row's
 * update bumps.
 */
async function keepPublishedAt(ctx: AppContext, local: Release, up: UpstreamRelease): Promise<void> {
  const publishedAt = upstreamPublishedAt(up);
  if (local.draft === 1 || publishedAt === null || local.published_at === publishedAt) return;
  await updateReleaseRow(ctx.db, local.id, { published_at: publishedAt });
}

function sameBytes(local: Asset, up: UpstreamAsset): boolean {
  if (local.size !== up.size) return false;
  if (up.digest) return up.digest === `sha256:${local.digest}`;
  // Without a digest, the upstream file's identity says whether it is still the one mirrored: a
  // file replaced by another of the same name and size has a new one. An asset mirrored before
  // identities were kept has none, and is taken to be the same file (as name and size said then).
  const identity = assetIdentity(up);
  return identity === null || local.upstream_identity === null || local.upstream_identity === identity;
}

async function syncAssets(
  ctx: AppContext,
  access: RepoAccess,
  upstream: Upstream,
  up: UpstreamRelease,
  local: Release,
  rules: AssetRules,
  summary: SyncSummary,
  signal: AbortSignal,
): Promise<void> {
  const mine = (await listAssetsForReleases(ctx.db, [local.id], true)).get(local.id) ?? [];
  // An `open` asset here is a dead sync's (only the sync writes a mirror): remove it and its bytes.
  for (const leftover of mine.filter((a) => a.state !== 'uploaded')) {
    const row = await deleteAssetRow(ctx.db, leftover.id, true);
    if (row?.blob_key) await deleteUnreferencedBlobs(ctx, [row.blob_key]);
  }
  const uploaded = mine.filter((a) => a.state === 'uploaded');
  const theirs = up.assets.filter((a) => a.state === 'uploaded' && rules.wanted(a.name));
  for (const asset of theirs) {
    signal.throwIfAborted();
    const existing = uploaded.find((a) => a.name === asset.name);
    if (existing && sameBytes(existing, asset)) {
      if ((existing.label ?? '') !== (asset.label ?? '')) await updateAsset(ctx, access, existing.id, { label: asset.label });
      // Known from now on (not an edit of the asset: no event).
      if (existing.upstream_identity === null && !asset.digest && assetIdentity(asset) !== null) await setUpstreamIdentity(ctx.db, existing.id, assetIdentity(asset));
      continue;
    }
    await storeAsset(ctx, access, upstream, local, asset, existing !== undefined, signal);
    summary.assetsStored++;
    summary.bytesStored += asset.size;
    crashPoint('mirror-asset-stored');
  }
  if (!rules.prune) return;
  const names = new Set(theirs.map((a) => a.name));
  for (const gone of uploaded.filter((a) => !names.has(a.name))) {
    await deleteAsset(ctx, access, gone.id);
    summary.assetsDeleted++;
  }
}

/** Passes bytes through, and fails at the end unless their sha256 is `expected` (hex). */
class DigestCheck extends Transform {
  readonly #hash = createHash('sha256');
  received = 0;
  constructor(
    readonly expected: string | null,
    readonly name: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.received += chunk.length;
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    const actual = this.#hash.digest('hex');
    if (this.expected && actual !== this.expected)
      done(new UpstreamError(`${this.name}: the upstream's bytes have sha256 ${actual}, not the ${this.expected} it states; not stored`));
    else done();
  }
}

async function storeAsset(ctx: AppContext, access: RepoAccess, upstream: Upstream, release: Release, asset: UpstreamAsset, replace: boolean, signal: AbortSignal): Promise<void> {
  const res = await upstream.download(asset);
  const check = new DigestCheck(expectedDigest(asset), asset.name);
  res.body.on('error', (err) => check.destroy(err));
  res.body.pipe(check);
  try {
    const { asset: stored } = await uploadAsset(ctx, access, {
      releaseId: release.id,
      name: asset.name,
      label: asset.label,
      contentType: asset.content_type || 'application/octet-stream',
      size: asset.size,
      body: check,
      signal,
      received: () => check.received,
      replace,
    });
    // After the bytes: a sync dying in between leaves the old identity, which the next one finds changed again.
    await setUpstreamIdentity(ctx.db, stored.id, assetIdentity(asset));
  } finally {
    res.body.destroy();
  }
}
