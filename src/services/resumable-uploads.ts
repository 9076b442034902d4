/**
 * @module services/resumable-uploads
 * Resumable uploads of release assets (the tus protocol's semantics; `http/routes/tus-uploads.ts`
 * speaks the wire format). Creating one claims the asset name with an `open` row, exactly as the
 * classic upload does, and records the upload; appends stage bytes in the blob store
 * (`ResumableStaging`) and record the new durable offset; the append that stores the last byte
 * turns the staging into a blob and the asset `uploaded`, with its digest, in the transaction
 * that removes the upload's record. Everything an upload is lives in the database and the blob
 * store, so any node continues it and a crash loses nothing that was acknowledged.
 *
 * One request at a time appends to an upload: it takes the row's lock (a lease, renewed while it
 * writes; a request whose lease ran out stops writing and records nothing). A crashed holder's
 * lock frees itself after `LOCK_MS`; meanwhile others are answered 423, which tus clients retry.
 *
 * The whole-file sha256: Node cannot save a hash's state, so it is not stored. A process that saw
 * every byte of an upload in order (the usual case: one node, no restart) keeps the running hash
 * in memory and uses it; any other completion reads the staged bytes back and hashes them. The
 * in-memory hash is keyed by the upload's durable offset, so it is used only when it describes
 * exactly the bytes recorded: memory is an optimisation here, never the source of truth.
 */
import { createHash, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { BlobNotFoundError, BlobTooLargeError } from '../blobs/blob-store.ts';
import type { AppContext } from '../context.ts';
import type { Asset, Release, ResumableUpload } from '../db/schema.ts';
import { deleteAssetRow } from '../db/repos/assets-repo.ts';
import {
  countLiveResumableUploads,
  findResumableUpload,
  insertResumableUpload,
  lockResumableUpload,
  recordAppend,
  renewResumableLock,
  unlockResumableUpload,
} from '../db/repos/resumable-uploads-repo.ts';
import { BadRequestError, ChecksumMismatchError, ConflictError, LockedError, NotFoundError, ValidationError, WharfError } from '../domain/errors.ts';
import { holdBlob } from './blob-gc.ts';
import { checkReleaseTakesUploads, checkUploadSize, claimAssetName, getVisibleRelease, recordUploadedBlob, translateUploadError, validAssetName } from './assets.ts';
import { isoSeconds } from '../util/time.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';

/** How long an append's lock holds without renewal (also how long a crashed holder blocks others). */
export const LOCK_MS = 10_000;
const LOCK_RENEW_MS = 2_500;
/** An append stops writing this long before its lock would run out unrenewed (clock and I/O slack). */
const LOCK_MARGIN_MS = 2_000;
/** Running hashes kept for uploads in progress on this process (each is a few hundred bytes). */
const MAX_RUNNING_HASHES = 1024;

const ID = /^[0-9a-f]{32}$/;

export interface ResumableUploadState {
  id: string;
  /** The asset the upload fills (claimed, `open`, at creation). */
  assetId: number;
  offset: number;
  length: number;
  expiresAt: number;
}

export interface CreateResumableRequest {
  releaseId: number;
  length: number;
  name: string | undefined;
  label: string | null;
  contentType: string;
}

export interface AppendRequest {
  /** The client's `Upload-Offset`: must equal the durable offset. */
  offset: number;
  body: Readable;
  /** The body's declared length when known (`Content-Length`). */
  declaredLength: number | null;
  /** The sha256 the client sent for this request's bytes (`Upload-Checksum`), if any. */
  checksum: Buffer | null;
}

export interface AppendResult extends ResumableUploadState {
  /** The finished asset, when this append stored the last byte. */
  asset: Asset | null;
  release: Release;
}

/** Running whole-file hashes by upload id (see the module comment). */
const runningHashes = new Map<string, { offset: number; hash: Hash }>();

function rememberHash(id: string, offset: number, hash: Hash): void {
  runningHashes.delete(id);
  runningHashes.set(id, { offset, hash });
  if (runningHashes.size > MAX_RUNNING_HASHES) runningHashes.delete(runningHashes.keys().next().value!);
}

function toState(row: ResumableUpload): ResumableUploadState {
  return { id: row.id, assetId: row.asset_id, offset: row.upload_offset, length: row.upload_length, expiresAt: row.expires_at };
}

function openUploadsError(max: number): ValidationError {
  return new ValidationError([{ resource: 'ReleaseAsset', field: 'upload', code: 'custom', message: `too many unfinished resumable uploads (maximum is ${max})` }]);
}

export async function createResumableUpload(ctx: AppContext, access: RepoAccess, req: CreateResumableRequest): Promise<{ state: ResumableUploadState; release: Release }> {
  const release = await getVisibleRelease(ctx, access, req.releaseId);
  requirePermission(access, 'push');
  if (!req.name) throw new BadRequestError('Bad Request: Upload-Metadata must carry the asset name (name)');
  checkReleaseTakesUploads(release);
  checkUploadSize(ctx, req.length);
  const name = validAssetName(req.name);
  const uploaderId = access.principal!.user.id;

  const id = randomBytes(16).toString('hex');
  const staging = await ctx.blobs.resumable.begin(id).catch((err: unknown) => {
    throw translateUploadError(err);
  });
  const now = Date.now();
  const expiresAt = now + ctx.config.resumableUploadExpiryMs;
  let assetId = 0;
  try {
    await ctx.db.transaction().execute(async (trx) => {
      const asset = await claimAssetName(ctx, access, release, { name, label: req.label, contentType: req.contentType, size: req.length }, trx);
      assetId = asset.id;
      await insertResumableUpload(trx, {
        id,
        asset_id: asset.id,
        release_id: release.id,
        uploader_id: uploaderId,
        upload_length: req.length,
        upload_offset: 0,
        staging,
        lock_token: null,
        locked_until: 0,
        expires_at: expiresAt,
        created_at: isoSeconds(new Date(now)),
      });
      // Counted after the insert, so concurrent creations cannot all slip under the cap.
      if ((await countLiveResumableUploads(trx, uploaderId, now)) > ctx.config.maxOpenResumableUploads) throw openUploadsError(ctx.config.maxOpenResumableUploads);
    });
  } catch (err) {
    await ctx.blobs.resumable.discard(id, staging).catch((e: unknown) => ctx.log.warn({ err: e, upload: id }, 'could not discard a refused upload'));
    throw err;
  }
  return { state: { id, assetId, offset: 0, length: req.length, expiresAt }, release };
}

/** The caller's own upload `id` on a release it may write to; 404 otherwise. */
async function findOwnUpload(ctx: AppContext, access: RepoAccess, releaseId: number, id: string): Promise<{ row: ResumableUpload; release: Release }> {
  const release = await getVisibleRelease(ctx, access, releaseId);
  requirePermission(access, 'push');
  const row = ID.test(id) ? await findResumableUpload(ctx.db, id) : undefined;
  if (!row || row.release_id !== release.id || row.uploader_id !== access.principal!.user.id || row.expires_at < Date.now()) throw new NotFoundError();
  return { row, release };
}

/** Takes the upload's lock: 423 while another request holds it, 404 when the upload is gone. */
async function lock(ctx: AppContext, id: string, token: string): Promise<ResumableUpload> {
  const now = Date.now();
  const row = await lockResumableUpload(ctx.db, id, token, now, now + LOCK_MS);
  if (row) return row;
  if (await findResumableUpload(ctx.db, id)) throw new LockedError();
  throw new NotFoundError();
}

/**
 * The upload's durable offset (tus HEAD). An upload whose bytes are all staged but whose
 * completion was cut short (a crash after the last append) is completed now, so a client that
 * sees offset = length can count on the asset.
 */
export async function getResumableUpload(ctx: AppContext, access: RepoAccess, releaseId: number, id: string): Promise<ResumableUploadState> {
  const { row, release } = await findOwnUpload(ctx, access, releaseId, id);
  if (row.upload_offset === row.upload_length) {
    const token = randomBytes(16).toString('hex');
    const locked = await lock(ctx, id, token);
    await finish(ctx, access, release, locked, token);
  }
  return toState(row);
}

/** Passes the body through, hashing it, and stops it once the append's lock may have run out. */
class AppendTap extends Transform {
  seen = 0;
  ended = false;
  constructor(
    private readonly deadline: () => number,
    readonly chunkHash: Hash | null,
    readonly wholeHash: Hash | null,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (Date.now() > this.deadline()) {
      done(new LockedError('The upload lock expired while writing'));
      return;
    }
    this.seen += chunk.length;
    this.chunkHash?.update(chunk);
    this.wholeHash?.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    this.ended = true;
    done();
  }
}

/** Appends a request's bytes at the durable offset (tus PATCH); completes the asset at the last byte. */
export async function appendToResumableUpload(ctx: AppContext, access: RepoAccess, releaseId: number, id: string, req: AppendRequest): Promise<AppendResult> {
  const found = await findOwnUpload(ctx, access, releaseId, id);
  if (found.row.upload_offset !== req.offset) throw new ConflictError('Upload-Offset does not match the upload');
  const token = randomBytes(16).toString('hex');
  const row = await lock(ctx, id, token);
  const release = found.release;
  let keepLock = false;
  const abort = new AbortController();
  let renewedAt = Date.now();
  const renewal = setInterval(() => {
    const at = Date.now();
    renewResumableLock(ctx.db, id, token, at + LOCK_MS).then(
      (held) => (held ? (renewedAt = at) : abort.abort(new LockedError('The upload lock was lost'))),
      (err: unknown) => ctx.log.warn({ err, upload: id }, 'could not renew a resumable upload lock'),
    );
  }, LOCK_RENEW_MS);
  renewal.unref();
  try {
    if (row.upload_offset !== req.offset) throw new ConflictError('Upload-Offset does not match the upload');
    if (row.upload_offset === row.upload_length) {
      // Everything is staged already: a retry of the last request whose answer was lost.
      keepLock = true;
      const asset = await finish(ctx, access, release, row, token);
      return { ...toState(row), asset, release };
    }
    if (req.declaredLength !== null && req.offset + req.declaredLength > row.upload_length) {
      throw new BadRequestError('Bad Content-Length: the request would exceed Upload-Length');
    }
    const cached = runningHashes.get(id);
    const whole = cached && cached.offset === req.offset ? cached.hash.copy() : req.offset === 0 ? createHash('sha256') : null;
    const tap = new AppendTap(() => renewedAt + LOCK_MS - LOCK_MARGIN_MS, req.checksum ? createHash('sha256') : null, whole);
    const source = pipeline(req.body, tap, () => undefined);
    const staged = await ctx.blobs.resumable.append(id, row.staging, { offset: req.offset, length: row.upload_length, source, signal: abort.signal });

    if (tap.chunkHash) {
      // A checksum covers the whole request: bytes of a cut-off request cannot be verified, so
      // none of them are kept (the next append truncates them away).
      if (!tap.ended) throw new BadRequestError('The request body ended before its checksum could be verified');
      const digest = tap.chunkHash.digest();
      if (digest.length !== req.checksum!.length || !timingSafeEqual(digest, req.checksum!)) throw new ChecksumMismatchError();
    }
    const offset = req.offset + staged.written;
    const complete = offset === row.upload_length;
    const expiresAt = Date.now() + ctx.config.resumableUploadExpiryMs;
    if (!(await recordAppend(ctx.db, id, token, { offset, staging: staged.state, expiresAt, unlock: !complete }))) {
      throw (await findResumableUpload(ctx.db, id)) ? new LockedError('The upload lock was lost') : new NotFoundError();
    }
    if (whole && tap.seen === staged.written) rememberHash(id, offset, whole);
    else runningHashes.delete(id);
    await ctx.blobs.resumable.superseded(id, row.staging, staged.state).catch((err: unknown) => ctx.log.warn({ err, upload: id }, 'could not remove superseded staging'));
    const updated = { ...row, upload_offset: offset, staging: staged.state, expires_at: expiresAt };
    if (!complete) return { ...toState(updated), asset: null, release };
    keepLock = true;
    const asset = await finish(ctx, access, release, updated, token);
    return { ...toState(updated), asset, release };
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new NotFoundError();
    if (err instanceof BlobTooLargeError) throw new BadRequestError('Bad Content-Length: the request would exceed Upload-Length');
    throw translateUploadError(abort.signal.aborted ? abort.signal.reason : err);
  } finally {
    clearInterval(renewal);
    if (!keepLock) await unlockResumableUpload(ctx.db, id, token).catch(() => undefined);
  }
}

/**
 * Turns a fully staged upload (locked by `token`) into the `uploaded` asset and removes its
 * record and staging. A release deleted or made immutable meanwhile ends the upload: its asset
 * row and bytes are removed and the error is the caller's answer.
 */
async function finish(ctx: AppContext, access: RepoAccess, release: Release, row: ResumableUpload, token: string): Promise<Asset> {
  const staging = ctx.blobs.resumable;
  try {
    const cached = runningHashes.get(row.id);
    const sha256 = cached && cached.offset === row.upload_length ? cached.hash.digest('hex') : await staging.digest(row.id, row.staging, row.upload_length);
    runningHashes.delete(row.id);
    // The key is known before the bytes are in place: hold it first (see services/blob-gc).
    const hold = await holdBlob(ctx, sha256);
    let asset: Asset;
    try {
      const stored = await staging.complete(row.id, row.staging, { size: row.upload_length, sha256 });
      asset = await recordUploadedBlob(ctx, access, release, row.asset_id, stored, async (trx) => {
        await trx.deleteFrom('resumable_uploads').where('id', '=', row.id).where('lock_token', '=', token).execute();
      });
    } finally {
      await hold.release();
    }
    await staging.discard(row.id, row.staging).catch((err: unknown) => ctx.log.warn({ err, upload: row.id }, 'could not remove a finished staging'));
    return asset;
  } catch (err) {
    if (err instanceof WharfError) {
      // The release is gone or no longer takes uploads: the upload cannot ever finish.
      await deleteAssetRow(ctx.db, row.asset_id, true).catch(() => undefined);
      await staging.discard(row.id, row.staging).catch(() => undefined);
    } else {
      await unlockResumableUpload(ctx.db, row.id, token).catch(() => undefined);
    }
    throw err;
  }
}

/** Removes an upload, its claim on the asset name and its bytes (tus DELETE). */
export async function terminateResumableUpload(ctx: AppContext, access: RepoAccess, releaseId: number, id: string): Promise<void> {
  await findOwnUpload(ctx, access, releaseId, id);
  const row = await lock(ctx, id, randomBytes(16).toString('hex'));
  await deleteAssetRow(ctx.db, row.asset_id, true);
  runningHashes.delete(id);
  await ctx.blobs.resumable.discard(id, row.staging);
}
