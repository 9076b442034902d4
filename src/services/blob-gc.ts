/**
 * @module services/blob-gc
 * Deleting asset bytes that nothing references any more. Blobs are content-addressed, so two
 * assets with identical bytes share one blob, and an upload of those bytes can run while the
 * last asset using them is deleted. The protocol, safe across several server processes sharing
 * one database:
 *
 * - the deleter claims the key in `blob_deletions`, then re-checks references, deletes the blob
 *   only if none appeared, and releases the claim;
 * - a writer references the key before its bytes are stored under it: once the bytes are durable
 *   and their key known, but before they are renamed or copied into place, it takes a hold on the
 *   key ({@link holdBlob}: a `blob_holds` row, which counts as a reference) and waits while a
 *   deletion of that key is claimed; it releases the hold once a row references the blob.
 *
 * Either the deleter sees the hold and keeps the blob, or the writer sees the claim and puts its
 * bytes in place after the deletion finished. (Holding only after the bytes were in place, as
 * uploads once did, lost them to a deletion of identical bytes that ran in between.)
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { PutOptions, StoredBlob } from '../blobs/blob-store.ts';
import type { AppContext } from '../context.ts';
import {
  beginBlobDeletion,
  deleteBlobHold,
  renewBlobHold,
  deleteStaleBlobDeletions,
  deleteStaleBlobHolds,
  endBlobDeletion,
  findBlobDeletion,
  insertBlobHold,
  referencedBlobKeys,
} from '../db/repos/assets-repo.ts';
import { isoSeconds } from '../util/time.ts';

/** A deletion claim older than this belongs to a process that died; it is ignored and swept. */
export const STALE_DELETION_MS = 60_000;

/** Deletes the blobs among `keys` that no asset references. Never throws for a single blob. */
export async function deleteUnreferencedBlobs(ctx: AppContext, keys: string[]): Promise<number> {
  let deleted = 0;
  const unique = [...new Set(keys.filter((k) => typeof k === 'string' && k.length > 0))];
  const stillUsed = await referencedBlobKeys(ctx.db, unique);
  for (const key of unique) {
    if (stillUsed.has(key)) continue;
    if (!(await beginBlobDeletion(ctx.db, key, isoSeconds()))) continue; // someone else is on it
    try {
      // Re-check after the claim is visible: an upload that attached this key before now keeps it.
      if ((await referencedBlobKeys(ctx.db, [key])).size > 0) continue;
      await ctx.blobs.delete(key);
      deleted++;
    } catch (err) {
      ctx.log.warn({ err, key }, 'could not delete blob; the sweeper will retry');
    } finally {
      await endBlobDeletion(ctx.db, key).catch(() => undefined);
    }
  }
  return deleted;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits while a deletion of `key` is claimed (at most as long as a claim can live). */
async function waitOutDeletion(ctx: AppContext, key: string): Promise<void> {
  const deadline = Date.now() + STALE_DELETION_MS;
  for (;;) {
    const claim = await findBlobDeletion(ctx.db, key);
    if (!claim || Date.parse(claim.started_at) < Date.now() - STALE_DELETION_MS || Date.now() > deadline) return;
    await sleep(25);
  }
}

/** A reference to a blob held until a row references it; release it either way. */
export interface BlobHold {
  release(): Promise<void>;
  /**
   * Releases the hold in `trx`, the transaction that makes a row reference the blob: the
   * reference replaces the hold at one commit (when it rolls back, `release()` is still owed).
   */
  releaseIn(trx: AppContext['db']): Promise<void>;
  /** Renews the hold, for a holder that keeps it longer than an upload's lease (a bundle import staging many blobs). */
  renew(): Promise<void>;
}

/**
 * References `key` ahead of its bytes being put in place: after this resolves, no deletion of
 * `key` that began earlier is still running and none that begins later deletes it.
 */
export async function holdBlob(ctx: AppContext, key: string): Promise<BlobHold> {
  const id = randomUUID();
  await insertBlobHold(ctx.db, id, key, isoSeconds());
  await waitOutDeletion(ctx, key);
  return {
    release: () => deleteBlobHold(ctx.db, id).catch((err: unknown) => ctx.log.warn({ err, key }, 'could not release a blob hold; the sweeper will')),
    releaseIn: (trx) => deleteBlobHold(trx, id),
    renew: () => renewBlobHold(ctx.db, id, isoSeconds()),
  };
}

/**
 * `BlobStore.put` with a hold on the bytes' key taken before they are stored under it. The
 * caller releases the hold once a row references the blob (or it gave up).
 */
export async function putHeld(ctx: AppContext, source: Readable, options: PutOptions): Promise<{ stored: StoredBlob; hold: BlobHold }> {
  let hold: BlobHold | null = null;
  try {
    const stored = await ctx.blobs.put(source, {
      ...options,
      beforeCommit: async (blob) => {
        hold = await holdBlob(ctx, blob.key);
      },
    });
    if (!hold) throw new Error('the blob store did not call beforeCommit');
    return { stored, hold };
  } catch (err) {
    await (hold as BlobHold | null)?.release();
    throw err;
  }
}

/** Reports whether the bytes of `key`, which a row references, are stored (after any deletion in progress). */
export async function confirmBlobStored(ctx: AppContext, key: string): Promise<boolean> {
  await waitOutDeletion(ctx, key);
  return (await ctx.blobs.stat(key)) !== null;
}

/**
 * `now` is the sweeper's clock, so that a claim left by a killed process ages with everything
 * else. Holds live from storing bytes to recording them: an upload's lease bounds that.
 */
export async function sweepStaleDeletionClaims(ctx: AppContext, now = Date.now()): Promise<void> {
  await deleteStaleBlobDeletions(ctx.db, isoSeconds(new Date(now - STALE_DELETION_MS)));
  await deleteStaleBlobHolds(ctx.db, isoSeconds(new Date(now - Math.max(STALE_DELETION_MS, ctx.config.uploadLeaseMs))));
}
