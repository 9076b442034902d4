/**
 * @module services/assets
 * Release assets: the upload (all or nothing, streamed), reads with GitHub's visibility rules,
 * edits and deletion. The only code that touches both the asset rows and their bytes.
 *
 * An upload claims its name with an `open` row (the unique key settles races), streams the body
 * through sha256 into the blob store (which fsyncs before returning), records the blob on the
 * row, confirms the bytes survived any concurrent blob deletion, and only then flips the row to
 * `uploaded`. While it streams, it renews the row's `updated_at` as a lease; the sweeper removes
 * `open` rows whose lease ran out (a crashed or stalled process) and any bytes they left.
 */
import { getLatestInLine, type LineQuery } from './release-channels.ts';
import type { Readable } from 'node:stream';
import { BlobSizeMismatchError, BlobStorageFullError, BlobTooLargeError, type StoredBlob } from '../blobs/blob-store.ts';
import type { AppContext } from '../context.ts';
import type { Asset, Release } from '../db/schema.ts';
import {
  attachBlob,
  countAssets,
  deleteAssetRow,
  findAssetByName,
  findAssetInRepository,
  findDraftByUntaggedKey,
  incrementDownloadCount,
  insertOpenAsset,
  listAssetsPage,
  markUploaded,
  renewOpenAsset,
  updateAssetFields,
} from '../db/repos/assets-repo.ts';
import { AssetSaveError, BadRequestError, InsufficientStorageError, InvalidRequestError, NotFoundError, ValidationError, WharfError } from '../domain/errors.ts';
import { bodyMembers } from '../domain/request-body.ts';
import { findRelease, lockRelease, updateReleaseRow } from '../db/repos/releases-repo.ts';
import type { AssetAction } from '../events/domain-events.ts';
import { recordEvents } from '../events/outbox.ts';
import { isoSeconds } from '../util/time.ts';
import { MAX_ASSET_NAME_LENGTH, sanitizeAssetLabel, sanitizeAssetName } from './asset-names.ts';
import { type BlobHold, confirmBlobStored, deleteUnreferencedBlobs, putHeld } from './blob-gc.ts';
import { isForeignKeyViolation, isUniqueViolation } from './db-errors.ts';
import { checkReplayedDigest, digestOfBody, parseIdempotencyKey, requestFingerprint, takeIdempotencyKey, type IdempotencyClaim } from './idempotency.ts';
import { atLeast } from './permissions.ts';
import { getLatestRelease, getReleaseById, getReleaseByTag } from './releases.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';
import { refuseMirroredWrite } from './mirror-guard.ts';

/** GitHub caps a release at 1000 assets. */
export const MAX_ASSETS_PER_RELEASE = 1000;
/**
 * How often an upload that made progress since the last renewal renews its lease
 * (`WHARF_UPLOAD_LEASE_MS`: an `open` row not renewed for that long belongs to a dead upload).
 */
export function leaseRenewalMs(leaseMs: number): number {
  return Math.min(15_000, Math.floor(leaseMs / 8));
}

function sizeError(message: string): ValidationError {
  return new ValidationError([{ resource: 'ReleaseAsset', field: 'size', code: 'custom', message }]);
}

function nameTaken(): ValidationError {
  return new ValidationError([{ resource: 'ReleaseAsset', field: 'name', code: 'already_exists' }]);
}

/** Records a `release_asset` event in `trx`, with the release as it is in that transaction. */
async function recordAssetEvent(
  trx: AppContext['db'],
  access: RepoAccess,
  release: Release,
  asset: Asset,
  action: AssetAction,
  changes?: { name: { from: string } },
): Promise<void> {
  const current = (await findRelease(trx, access.repo.id, release.id)) ?? release;
  await recordEvents(trx, [
    {
      kind: 'release_asset',
      action,
      repositoryId: access.repo.id,
      ownerId: access.owner.id,
      actorId: access.principal?.user.id ?? null,
      release: current,
      asset,
      ...(changes ? { changes } : {}),
    },
  ]);
}

function isImmutablePublished(release: Release): boolean {
  return release.immutable === 1 && release.draft === 0;
}

/** A release of the repository that the caller may see (drafts need push access), or 404. */
export async function getVisibleRelease(ctx: AppContext, access: RepoAccess, releaseId: number): Promise<Release> {
  if (!Number.isSafeInteger(releaseId) || releaseId < 1) throw new NotFoundError();
  return getReleaseById(ctx, access, releaseId);
}

/** Checks an upload's declared size before a byte is read. */
export function checkUploadSize(ctx: AppContext, size: number): void {
  if (size < 1) throw sizeError('size must be greater than or equal to 1');
  if (size > ctx.config.maxAssetSize) throw sizeError(`size must be less than or equal to ${ctx.config.maxAssetSize}`);
}

export interface UploadRequest {
  releaseId: number;
  name: string;
  label: string | null;
  contentType: string;
  /** The declared Content-Length: the body must have exactly this many bytes. */
  size: number;
  body: Readable;
  /** Aborted when the client goes away or stops making progress (the reason says which). */
  signal: AbortSignal;
  /** Bytes of the body that have arrived so far: the lease is renewed only while this grows. */
  received: () => number;
  /** `replace=true`: an uploaded asset of this name gets the new bytes instead of `already_exists`. */
  replace?: boolean;
  /** The `Idempotency-Key` header as sent (services/idempotency.ts). */
  idempotencyKey?: string | string[];
}

/** The stored form of a requested asset name, or a 422 for one too long. */
export function validAssetName(requested: string): string {
  const name = sanitizeAssetName(requested);
  if (name.length > MAX_ASSET_NAME_LENGTH) {
    throw new ValidationError([{ resource: 'ReleaseAsset', field: 'name', code: 'custom', message: `name is too long (maximum is ${MAX_ASSET_NAME_LENGTH} characters)` }]);
  }
  return name;
}

/** Refuses uploads to a published immutable release. */
export function checkReleaseTakesUploads(release: Release): void {
  if (isImmutablePublished(release)) throw new InvalidRequestError('Cannot upload assets to an immutable release');
}

export interface AssetClaim {
  name: string;
  label: string | null;
  contentType: string;
  size: number;
}

/**
 * Claims an asset name with an `open` row (the unique key settles races: `already_exists`),
 * within the release's asset cap. `db` may be a transaction.
 */
export async function claimAssetName(ctx: AppContext, access: RepoAccess, release: Release, claim: AssetClaim, db: AppContext['db'] = ctx.db): Promise<Asset> {
  await refuseMirroredWrite(ctx, access, db);
  let row: Asset;
  try {
    row = await insertOpenAsset(db, {
      releaseId: release.id,
      repositoryId: access.repo.id,
      name: claim.name,
      label: claim.label === null ? null : sanitizeAssetLabel(claim.label),
      contentType: claim.contentType,
      size: claim.size,
      uploaderId: access.principal!.user.id,
      now: isoSeconds(),
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    // The release was deleted between the visibility check and the insert.
    if (isForeignKeyViolation(err)) throw new NotFoundError();
    throw err;
  }
  // Counting after the insert keeps the cap under concurrent uploads (each sees the others).
  if ((await countAssets(db, release.id)) > MAX_ASSETS_PER_RELEASE) {
    await deleteAssetRow(db, row.id, true);
    throw new ValidationError([{ resource: 'ReleaseAsset', field: 'file_count', code: 'custom', message: `file_count limited to ${MAX_ASSETS_PER_RELEASE} assets` }]);
  }
  return row;
}

/**
 * Makes an `open` asset `uploaded` with the blob its bytes became: records the blob on the row,
 * confirms the bytes survived any concurrent blob deletion, then flips the row in a transaction
 * that locks the release first (release, then asset: the order every such transaction takes).
 * `alsoInTransaction` runs in that transaction (a resumable upload removes its record there).
 * Throws NotFound when the row vanished (its release deleted) and 422 when the release became
 * immutable meanwhile; the caller cleans up.
 */
export async function recordUploadedBlob(
  ctx: AppContext,
  access: RepoAccess,
  release: Release,
  assetId: number,
  stored: StoredBlob,
  alsoInTransaction?: (trx: AppContext['db']) => Promise<void>,
): Promise<Asset> {
  if (!(await attachBlob(ctx.db, assetId, stored.key, isoSeconds()))) throw new NotFoundError();
  if (!(await confirmBlobStored(ctx, stored.key))) {
    // Bytes attached and then gone: a delete of the release (and with it this row) won the
    // race and removed them, so the upload answers as if it had come after the delete; with
    // the row still there, the store lost them, which is a server fault.
    throw (await findAssetInRepository(ctx.db, access.repo.id, assetId)) ? new AssetSaveError() : new NotFoundError();
  }
  const done = await ctx.db.transaction().execute(async (trx) => {
    // The release may have been published as immutable while the bytes were arriving.
    const current = await lockRelease(trx, release.id);
    if (current) checkReleaseTakesUploads(current);
    const uploaded = await markUploaded(trx, assetId, { digest: stored.sha256, size: stored.size, now: isoSeconds() });
    if (uploaded) {
      await recordAssetEvent(trx, access, release, uploaded, 'uploaded');
      await alsoInTransaction?.(trx);
    }
    return uploaded;
  });
  if (!done) throw new NotFoundError();
  return done;
}

export interface UploadResult {
  asset: Asset;
  release: Release;
  /** The answer of an earlier request with the same `Idempotency-Key`; nothing was stored. */
  replayed?: boolean;
}

export async function uploadAsset(ctx: AppContext, access: RepoAccess, req: UploadRequest): Promise<UploadResult> {
  // Visibility first: a draft (or its assets) that the caller cannot see is 404, never 401/403.
  const release = await getVisibleRelease(ctx, access, req.releaseId);
  requirePermission(access, 'push');
  if (!req.name) throw new BadRequestError('Bad Request: the name query parameter is required');
  const key = parseIdempotencyKey(req.idempotencyKey);
  if (!key) return storeUpload(ctx, access, release, req, null);
  // The key is taken before the name is claimed: a retry racing its original gets 409, not `already_exists`.
  const fingerprint = requestFingerprint('upload-asset', {
    repository: access.repo.id,
    release: release.id,
    name: req.name,
    label: req.label,
    contentType: req.contentType,
    size: req.size,
    replace: req.replace === true,
  });
  const taken = await takeIdempotencyKey(ctx, access.principal!.user.id, key, fingerprint);
  if (taken.kind === 'replay') {
    // Read the bytes (the client sends them anyway), and answer only if they are the original's.
    let digest: string;
    try {
      digest = await digestOfBody(req.body, req.signal);
    } catch (err) {
      throw translateUploadError(err, req.signal);
    }
    checkReplayedDigest(taken.made, digest);
    const original = await getAsset(ctx, access, taken.made.asset_id!);
    return { ...original, replayed: true };
  }
  try {
    return await storeUpload(ctx, access, release, req, taken.claim);
  } finally {
    await taken.claim.finish();
  }
}

/** The upload proper; `claim` (an `Idempotency-Key` held) is completed in the transaction that makes the asset `uploaded`. */
async function storeUpload(ctx: AppContext, access: RepoAccess, release: Release, req: UploadRequest, claim: IdempotencyClaim | null): Promise<UploadResult> {
  checkReleaseTakesUploads(release);
  checkUploadSize(ctx, req.size);
  const name = validAssetName(req.name);
  if (req.replace) {
    await refuseMirroredWrite(ctx, access);
    const existing = await findAssetByName(ctx.db, release.id, name);
    if (existing?.state === 'uploaded') return replaceAssetBytes(ctx, access, release, existing, req, claim);
  }
  const row = await claimAssetName(ctx, access, release, { name, label: req.label, contentType: req.contentType, size: req.size });

  const abort = new AbortController();
  const onClientAbort = () => abort.abort(req.signal.reason);
  if (req.signal.aborted) onClientAbort();
  req.signal.addEventListener('abort', onClientAbort, { once: true });
  // Renew the lease while bytes arrive, and only then: an upload that makes no progress lets its
  // lease run out like a dead one. If the row vanished (release deleted, swept) stop writing at once.
  let receivedAtRenewal = req.received();
  const lease = setInterval(() => {
    const received = req.received();
    if (received === receivedAtRenewal) return;
    receivedAtRenewal = received;
    renewOpenAsset(ctx.db, row.id, isoSeconds()).then(
      (alive) => alive || abort.abort(new NotFoundError()),
      (err: unknown) => ctx.log.warn({ err, asset: row.id }, 'could not renew upload lease'),
    );
  }, leaseRenewalMs(ctx.config.uploadLeaseMs));
  lease.unref();

  let blobKey: string | null = null;
  let hold: BlobHold | null = null;
  try {
    const held = await putHeld(ctx, req.body, { expectedSize: req.size, maxSize: ctx.config.maxAssetSize, signal: abort.signal });
    ({ hold } = held);
    const stored = held.stored;
    blobKey = stored.key;
    const done = await recordUploadedBlob(
      ctx,
      access,
      release,
      row.id,
      stored,
      claim ? (trx) => claim.complete(trx, { asset_id: row.id, content_digest: stored.sha256 }) : undefined,
    );
    return { asset: done, release };
  } catch (err) {
    await deleteAssetRow(ctx.db, row.id, true).catch((e: unknown) => ctx.log.error({ err: e, asset: row.id }, 'could not remove failed upload'));
    await hold?.release();
    hold = null;
    if (blobKey) await deleteUnreferencedBlobs(ctx, [blobKey]);
    throw translateUploadError(err, abort.signal);
  } finally {
    await hold?.release();
    clearInterval(lease);
    req.signal.removeEventListener('abort', onClientAbort);
  }
}

/**
 * `replace=true` on an uploaded asset (a documented extension): the new bytes are stored beside
 * the old ones (content-addressed, so never over them), then the row is switched to them in one
 * transaction, under the release's lock (refused once the release is immutable). Readers get the
 * old bytes until that commit and the new ones after it; never a 404. The asset keeps its id,
 * name and download count; the old bytes are collected once nothing references them.
 */
async function replaceAssetBytes(
  ctx: AppContext,
  access: RepoAccess,
  release: Release,
  existing: Asset,
  req: UploadRequest,
  claim: IdempotencyClaim | null,
): Promise<{ asset: Asset; release: Release }> {
  let stored: StoredBlob | null = null;
  let hold: BlobHold | null = null;
  try {
    ({ stored, hold } = await putHeld(ctx, req.body, { expectedSize: req.size, maxSize: ctx.config.maxAssetSize, signal: req.signal }));
    const fresh = stored;
    const swap = (to: { blob_key: string; digest: string; size: number; content_type: string; label: string | null }, completing: IdempotencyClaim | null) =>
      ctx.db.transaction().execute(async (trx) => {
        const current = await lockRelease(trx, release.id);
        if (current && isImmutablePublished(current)) throw new InvalidRequestError('Cannot modify assets of an immutable release');
        const row = await trx
          .updateTable('assets')
          .set({ ...to, updated_at: isoSeconds() })
          .where('id', '=', existing.id)
          .where('state', '=', 'uploaded')
          .returningAll()
          .executeTakeFirst();
        if (!row) throw new NotFoundError();
        await updateReleaseRow(trx, release.id, { updated_at: isoSeconds() });
        await recordAssetEvent(trx, access, release, row, 'uploaded');
        await completing?.complete(trx, { asset_id: row.id, content_digest: to.digest });
        return row;
      });
    const label = req.label === null ? existing.label : sanitizeAssetLabel(req.label);
    const asset = await swap({ blob_key: fresh.key, digest: fresh.sha256, size: fresh.size, content_type: req.contentType, label }, claim);
    if (!(await confirmBlobStored(ctx, fresh.key))) {
      // A deletion of identical bytes (another asset's) raced the swap and won: put the old bytes back
      // (and forget the key, which now names bytes the asset no longer has).
      await claim?.revoke();
      await swap({ blob_key: existing.blob_key!, digest: existing.digest!, size: existing.size, content_type: existing.content_type, label: existing.label }, null);
      throw new AssetSaveError();
    }
    await hold.release();
    hold = null;
    if (existing.blob_key && existing.blob_key !== fresh.key) await deleteUnreferencedBlobs(ctx, [existing.blob_key]);
    return { asset, release };
  } catch (err) {
    await hold?.release();
    if (stored && stored.key !== existing.blob_key) await deleteUnreferencedBlobs(ctx, [stored.key]);
    throw translateUploadError(err, req.signal);
  }
}

export function translateUploadError(err: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted && signal.reason instanceof WharfError) return signal.reason;
  if (err instanceof WharfError) return err;
  if (err instanceof BlobSizeMismatchError) return new BadRequestError('Bad Content-Length: ');
  if (err instanceof BlobTooLargeError) return sizeError('size must be less than or equal to the limit');
  if (err instanceof BlobStorageFullError) return new InsufficientStorageError('Error saving asset: no space left');
  return err;
}

export interface AssetWithRelease {
  asset: Asset;
  release: Release;
}

/** An asset the caller may see (its release visible), in any state. */
export async function getAsset(ctx: AppContext, access: RepoAccess, assetId: number): Promise<AssetWithRelease> {
  if (!Number.isSafeInteger(assetId) || assetId < 1) throw new NotFoundError();
  const asset = await findAssetInRepository(ctx.db, access.repo.id, assetId);
  if (!asset) throw new NotFoundError();
  const release = await getVisibleRelease(ctx, access, asset.release_id);
  return { asset, release };
}

/** An asset whose bytes can be served: uploaded, and visible to the caller. */
export async function getDownloadableAsset(ctx: AppContext, access: RepoAccess, assetId: number): Promise<AssetWithRelease> {
  const found = await getAsset(ctx, access, assetId);
  if (found.asset.state !== 'uploaded' || !found.asset.blob_key) throw new NotFoundError();
  return found;
}

export async function listAssets(
  ctx: AppContext,
  access: RepoAccess,
  releaseId: number,
  offset: number,
  limit: number,
): Promise<{ release: Release; assets: Asset[]; total: number }> {
  const release = await getVisibleRelease(ctx, access, releaseId);
  const [assets, total] = await Promise.all([listAssetsPage(ctx.db, release.id, offset, limit), countAssets(ctx.db, release.id)]);
  return { release, assets, total };
}

/**
 * The release a browser download URL's tag segment names: a published release by its tag, or a
 * draft by its `untagged-<hex>` placeholder (push access only).
 */
async function releaseForWebTag(ctx: AppContext, access: RepoAccess, tag: string): Promise<Release> {
  const published = await getReleaseByTag(ctx, access, tag).catch((err: unknown) => {
    if (err instanceof NotFoundError) return null;
    throw err;
  });
  if (published) return published;
  const m = /^untagged-([0-9a-f]{20})$/.exec(tag);
  if (m && atLeast(access.permission, 'push')) {
    const draft = await findDraftByUntaggedKey(ctx.db, access.repo.id, m[1]!);
    if (draft) return draft;
  }
  throw new NotFoundError();
}

export async function getDownloadableAssetByTag(ctx: AppContext, access: RepoAccess, tag: string, name: string): Promise<AssetWithRelease> {
  const release = await releaseForWebTag(ctx, access, tag);
  const asset = await findAssetByName(ctx.db, release.id, name);
  if (!asset || asset.state !== 'uploaded' || !asset.blob_key) throw new NotFoundError();
  return { asset, release };
}

/** The asset named `name` of the repository's latest release. */
/** `line`: the latest of one channel, major line or prefix instead of the repository's latest. */
export async function getLatestReleaseAsset(ctx: AppContext, access: RepoAccess, name: string, line: LineQuery | null = null): Promise<AssetWithRelease> {
  const release = line ? await getLatestInLine(ctx, access, line) : await getLatestRelease(ctx, access);
  const asset = await findAssetByName(ctx.db, release.id, name);
  if (!asset || asset.state !== 'uploaded') throw new NotFoundError();
  return { asset, release };
}

export interface AssetPatch {
  name?: unknown;
  label?: unknown;
  state?: unknown;
}

/** `body`: the request's body, read only once the caller is known to be allowed to edit. */
export async function updateAsset(ctx: AppContext, access: RepoAccess, assetId: number, body: unknown): Promise<AssetWithRelease> {
  const { asset, release } = await getAsset(ctx, access, assetId);
  requirePermission(access, 'push');
  await refuseMirroredWrite(ctx, access);
  const patch: AssetPatch = bodyMembers(body);
  if (isImmutablePublished(release)) throw new InvalidRequestError('Cannot modify assets of an immutable release');
  const set: { name?: string; label?: string | null; updated_at: string } = { updated_at: isoSeconds() };
  if (patch.name !== undefined) {
    if (typeof patch.name !== 'string') throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/name', ${JSON.stringify(patch.name)} is not a string.`);
    if (patch.name === '') throw new ValidationError([{ resource: 'ReleaseAsset', field: 'name', code: 'missing_field' }]);
    // Renames follow the upload rule, so a name can never smuggle a path or a leading dot in.
    set.name = sanitizeAssetName(patch.name);
    if (set.name.length > MAX_ASSET_NAME_LENGTH) throw new ValidationError([{ resource: 'ReleaseAsset', field: 'name', code: 'invalid' }]);
  }
  if (patch.label !== undefined) {
    if (patch.label !== null && typeof patch.label !== 'string') {
      throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/label', ${JSON.stringify(patch.label)} is not a string or null.`);
    }
    set.label = patch.label === null ? null : sanitizeAssetLabel(patch.label);
  }
  if (patch.state !== undefined) {
    // The only documented value; an unfinished upload cannot be declared finished by hand.
    if (patch.state !== 'uploaded' || asset.state !== 'uploaded') {
      throw new ValidationError([{ resource: 'ReleaseAsset', field: 'state', code: 'invalid' }]);
    }
  }
  try {
    const updated = await ctx.db.transaction().execute(async (trx) => {
      // Release before asset, as every transaction touching both; re-read under the lock, so a
      // publish that made the release immutable since the check above wins (its attestation
      // names the assets as they were).
      const current = await lockRelease(trx, release.id);
      if (!current) throw new NotFoundError();
      if (isImmutablePublished(current)) throw new InvalidRequestError('Cannot modify assets of an immutable release');
      const row = await updateAssetFields(trx, asset.id, set);
      if (row && row.state === 'uploaded' && row.name !== asset.name) await recordAssetEvent(trx, access, release, row, 'renamed', { name: { from: asset.name } });
      return row;
    });
    if (!updated) throw new NotFoundError();
    return { asset: updated, release };
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    // The release was deleted between the visibility check and the insert.
    if (isForeignKeyViolation(err)) throw new NotFoundError();
    throw err;
  }
}

export async function deleteAsset(ctx: AppContext, access: RepoAccess, assetId: number): Promise<void> {
  const { asset, release } = await getAsset(ctx, access, assetId);
  requirePermission(access, 'push');
  await refuseMirroredWrite(ctx, access);
  if (isImmutablePublished(release)) throw new InvalidRequestError('Cannot delete assets of an immutable release');
  const deleted = await ctx.db.transaction().execute(async (trx) => {
    // Release before asset, the order every transaction that touches both takes them in; re-read
    // under the lock, so a publish that made the release immutable since the check above wins.
    const current = await lockRelease(trx, release.id);
    if (!current) throw new NotFoundError();
    if (isImmutablePublished(current)) throw new InvalidRequestError('Cannot delete assets of an immutable release');
    const row = await deleteAssetRow(trx, asset.id);
    // The release's representation embeds its assets, and its Last-Modified is the newest of its
    // own and its assets' times: a removal leaves no newer time behind, so it moves the release's.
    if (row?.state === 'uploaded') {
      await updateReleaseRow(trx, release.id, { updated_at: isoSeconds() });
      await recordAssetEvent(trx, access, release, row, 'deleted');
    }
    return row;
  });
  if (!deleted) throw new NotFoundError();
  if (deleted.blob_key) await deleteUnreferencedBlobs(ctx, [deleted.blob_key]);
}

/** Counts one download of an asset. A count that cannot be written is logged, never the download's failure. */
export async function countDownload(ctx: AppContext, assetId: number): Promise<void> {
  await incrementDownloadCount(ctx.db, assetId).catch((err: unknown) => ctx.log.warn({ err, asset: assetId }, 'could not count a download'));
}
