/**
 * @module services/blob-gc
 * Deleting asset bytes that nothing references any more. Blobs are content-addressed, so two
 * assets with identical bytes share one blob, and an upload of those bytes can run while the
 * last asset using them is deleted. The protocol, safe across several server processes sharing
 * one database:
 *
 * - the deleter claims the key in `blob_deletions`, then re-checks references, deletes the blob
 *   only if none appeared, and releases the claim;
 * - an upload first records its key on its (still `open`) asset row, then waits while a deletion
 *   of that key is claimed, and only then checks that its bytes exist ({@link confirmBlobStored}).
 *
 * Either the deleter sees the upload's reference and keeps the blob, or the upload sees the claim
 * and checks the file after the deletion finished (failing cleanly if its bytes went with it).
 */
import type { AppContext } from '../context.ts';
import { beginBlobDeletion, deleteStaleBlobDeletions, endBlobDeletion, findBlobDeletion, referencedBlobKeys } from '../db/repos/assets-repo.ts';
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

/**
 * Called by an upload after its asset row references `key`: waits out any deletion of that key
 * in progress, then reports whether the bytes are (still) stored.
 */
export async function confirmBlobStored(ctx: AppContext, key: string): Promise<boolean> {
  const deadline = Date.now() + STALE_DELETION_MS;
  for (;;) {
    const claim = await findBlobDeletion(ctx.db, key);
    if (!claim || Date.parse(claim.started_at) < Date.now() - STALE_DELETION_MS || Date.now() > deadline) break;
    await sleep(25);
  }
  return (await ctx.blobs.stat(key)) !== null;
}

/** `now` is the sweeper's clock, so that a claim left by a killed process ages with everything else. */
export async function sweepStaleDeletionClaims(ctx: AppContext, now = Date.now()): Promise<void> {
  await deleteStaleBlobDeletions(ctx.db, isoSeconds(new Date(now - STALE_DELETION_MS)));
}
