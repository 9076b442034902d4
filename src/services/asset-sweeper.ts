/**
 * @module services/asset-sweeper
 * Cleans up after uploads that never finished: `open` asset rows whose lease ran out (their
 * process died, or the client stalled), temporary files of interrupted writes, abandoned blob
 * deletion claims, and blobs no asset references (a crash between storing bytes and recording
 * them); resumable uploads past their expiry, and staged bytes whose upload is gone. Each round
 * also drops the rate-limit windows that ended and the expired idempotency keys. Runs once at start-up and then periodically;
 * safe to run in several processes at once.
 */
import type { AppContext } from '../context.ts';
import { deleteAssetRow, listExpiredOpenAssets, referencedBlobKeys } from '../db/repos/assets-repo.ts';
import { deleteExpiredIdempotencyKeys } from '../db/repos/idempotency-keys-repo.ts';
import { existingResumableUploadIds, listExpiredResumableUploads } from '../db/repos/resumable-uploads-repo.ts';
import { isoSeconds } from '../util/time.ts';
import { acquire, takeTurn } from './leases.ts';
import { deleteUnreferencedBlobs, sweepStaleDeletionClaims } from './blob-gc.ts';
import { pruneEndedWindows } from './rate-limit-windows.ts';

export interface SweepResult {
  expiredUploads: number;
  /** Resumable uploads past their expiry, removed with their bytes. */
  expiredResumableUploads: number;
  /** Staged bytes of resumable uploads no longer recorded (their release was deleted). */
  orphanStagings: number;
  temporaryFiles: number;
  orphanBlobs: number;
  /** Rate-limit windows that had ended. */
  rateLimitWindows: number;
  /** `Idempotency-Key`s expired, or held by a request that died. */
  idempotencyKeys: number;
}

export interface SweepOptions {
  now?: number;
  /** Also scan every stored blob for ones nothing references (slower; not every round). */
  orphans?: boolean;
}

export async function sweepAssets(ctx: AppContext, options: SweepOptions = {}): Promise<SweepResult> {
  const now = options.now ?? Date.now();
  const leaseMs = ctx.config.uploadLeaseMs;
  const result: SweepResult = { expiredUploads: 0, expiredResumableUploads: 0, orphanStagings: 0, temporaryFiles: 0, orphanBlobs: 0, rateLimitWindows: 0, idempotencyKeys: 0 };
  const expired = await listExpiredOpenAssets(ctx.db, isoSeconds(new Date(now - leaseMs)));
  const keys: string[] = [];
  for (const row of expired) {
    const gone = await deleteAssetRow(ctx.db, row.id, true);
    if (!gone) continue; // finished (or removed) in the meantime
    result.expiredUploads++;
    if (gone.blob_key) keys.push(gone.blob_key);
  }
  await deleteUnreferencedBlobs(ctx, keys);
  result.expiredResumableUploads = await sweepExpiredResumableUploads(ctx, now);
  result.orphanStagings = await sweepOrphanStagings(ctx, now, leaseMs);
  // A temporary file of a live upload is written continuously, so its mtime stays fresh.
  // (Measured from `now`, which tests move forward; the store compares with the real clock.)
  result.temporaryFiles = await ctx.blobs.cleanTemporary(Math.max(0, leaseMs - (now - Date.now())));
  await sweepStaleDeletionClaims(ctx, now);
  if (options.orphans) result.orphanBlobs = await sweepOrphanBlobs(ctx, now, leaseMs);
  // Counted against the real clock, as the requests were (`now` moves forward only in tests).
  result.rateLimitWindows = await pruneEndedWindows(ctx);
  result.idempotencyKeys = await deleteExpiredIdempotencyKeys(ctx.db, now);
  return result;
}

/** Removes resumable uploads past their expiry: the upload, its `open` asset row and its bytes. */
async function sweepExpiredResumableUploads(ctx: AppContext, now: number): Promise<number> {
  let removed = 0;
  for (const upload of await listExpiredResumableUploads(ctx.db, now)) {
    // Deleting the open asset row deletes the upload's row with it (and frees the name).
    const gone = await deleteAssetRow(ctx.db, upload.asset_id, true);
    if (!gone) continue; // finished (or removed) in the meantime
    await ctx.blobs.resumable.discard(upload.id, upload.staging);
    removed++;
  }
  return removed;
}

/**
 * Removes staged bytes whose upload is no longer recorded (its release or asset was deleted, or
 * a node died between staging and recording). Fresh ones may belong to an upload being created.
 */
async function sweepOrphanStagings(ctx: AppContext, now: number, leaseMs: number): Promise<number> {
  const candidates: string[] = [];
  for await (const staged of ctx.blobs.resumable.list()) {
    if (now - staged.modifiedAt.getTime() >= leaseMs) candidates.push(staged.id);
  }
  let removed = 0;
  for (let i = 0; i < candidates.length; i += 200) {
    const batch = candidates.slice(i, i + 200);
    const recorded = await existingResumableUploadIds(ctx.db, batch);
    for (const id of batch) {
      if (recorded.has(id)) continue;
      await ctx.blobs.resumable.discard(id);
      removed++;
    }
  }
  return removed;
}

/** Deletes blobs that no asset references and that are older than an upload's lease. */
async function sweepOrphanBlobs(ctx: AppContext, now: number, leaseMs: number): Promise<number> {
  let removed = 0;
  let batch: string[] = [];
  const flush = async () => {
    const used = await referencedBlobKeys(ctx.db, batch);
    removed += await deleteUnreferencedBlobs(
      ctx,
      batch.filter((k) => !used.has(k)),
    );
    batch = [];
  };
  for await (const blob of ctx.blobs.list()) {
    // A fresh blob may belong to an upload about to record it.
    if (now - blob.modifiedAt.getTime() < leaseMs) continue;
    batch.push(blob.key);
    if (batch.length >= 200) await flush();
  }
  if (batch.length) await flush();
  return removed;
}

/** How often the sweeper runs, and how often it also looks for orphan blobs. */
const SWEEP_EVERY_MS = 60_000;
const ORPHAN_SCAN_EVERY = 10;
/** Leases end this much before the next tick, so timer drift never skips a round everywhere. */
const LEASE_SLACK_MS = 5_000;

export class AssetSweeper {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;

  constructor(private readonly ctx: AppContext) {}

  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), SWEEP_EVERY_MS);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#running) return;
    this.#running = this.#sweepOnOneNode()
      .then((r) => {
        if (r && (r.expiredUploads || r.expiredResumableUploads || r.orphanStagings || r.temporaryFiles || r.orphanBlobs || r.rateLimitWindows || r.idempotencyKeys))
          this.ctx.log.info(r, 'asset sweeper cleaned up');
      })
      .catch((err: unknown) => this.ctx.log.warn({ err }, 'asset sweeper failed'))
      .finally(() => {
        this.#running = null;
      });
  }

  /**
   * With several nodes on one database, a round runs on whichever node takes the round's lease
   * (held a little less than the interval), and the orphan scan, which lists every blob, on
   * whichever takes its own longer lease: the work is done about as often as on one node.
   */
  async #sweepOnOneNode(): Promise<SweepResult | null> {
    if (!(await acquire(this.ctx, 'asset-sweeper', SWEEP_EVERY_MS - LEASE_SLACK_MS))) return null;
    const orphans = await takeTurn(this.ctx, 'asset-sweeper:orphans', ORPHAN_SCAN_EVERY * SWEEP_EVERY_MS - LEASE_SLACK_MS);
    return sweepAssets(this.ctx, { orphans });
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
