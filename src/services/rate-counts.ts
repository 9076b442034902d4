/**
 * @module services/rate-counts
 * The primary rate limit's counts, kept in the database without a write on every request.
 *
 * The first request of a caller (bucket) in a window on this node adds itself to the database's
 * count at once and learns the count every node has written so far. Later requests are added in
 * memory, and a flush (about once a second, and on shutdown) adds what each bucket gained here
 * with one atomic `used = used + n` per bucket, learning again what the other nodes added. A
 * request is answered from the last count read plus what this node added since: exact on one
 * node; with several, each node sees the others' requests up to one flush late.
 *
 * The over-allowance is bounded by that delay: past the limit, a caller can still be served at
 * most what the other nodes served it during one flush interval (plus the flush's own round
 * trip), after which every node reads the exhausted count from the database. Counts are never
 * lost: a failed flush keeps its increments for the next one.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { countBy, countIn } from '../db/repos/rate-limits-repo.ts';

/** The count the database holds for `bucket` in the window starting at `windowStart`: every node's writes so far. */
export function storedCount(db: Kysely<Database>, bucket: string, windowStart: number): Promise<number> {
  return countIn(db, bucket, windowStart);
}

/**
 * Adds `points` to `bucket`'s count in a window at once, in the database, and returns the new
 * count: for the limits that are not batched (content writes, GraphQL's points).
 */
export function countAtOnce(db: Kysely<Database>, bucket: string, windowStart: number, points = 1): Promise<number> {
  return countBy(db, bucket, windowStart, points);
}

/** How often the increments gathered in memory are added to the database. */
export const RATE_FLUSH_INTERVAL_MS = 1000;

interface WindowCount {
  bucket: string;
  windowStart: number;
  /** The database's count at the last write from this node (every node's requests up to then). */
  stored: number;
  /** Requests counted here since (negative after refunds of requests already written). */
  pending: number;
}

export class RateCounts {
  private readonly counts = new Map<string, WindowCount>();
  /** The first write of a window's count on this node, while it is under way. */
  private readonly firstWrites = new Map<string, Promise<number>>();
  private flushing: Promise<void> | null = null;

  /**
   * Counts one request of `bucket` in the window starting at `windowStart` and returns the count
   * including it: from memory when this node already wrote to the window, otherwise written at once.
   */
  countOne(db: Kysely<Database>, bucket: string, windowStart: number): number | Promise<number> {
    const key = `${bucket}\0${windowStart}`;
    const known = this.counts.get(key);
    if (known) {
      known.pending += 1;
      return known.stored + known.pending;
    }
    // Requests of the bucket that arrive while its first write is under way wait for it and are
    // then counted in memory: each learns a count of its own. Written side by side, their writes
    // could come back out of order (several database connections) and two requests be told the
    // same count.
    const first = this.firstWrites.get(key);
    if (first) return first.then(() => this.countOne(db, bucket, windowStart));
    const written = this.countFirst(db, key, bucket, windowStart).finally(() => this.firstWrites.delete(key));
    this.firstWrites.set(key, written);
    return written;
  }

  private async countFirst(db: Kysely<Database>, key: string, bucket: string, windowStart: number): Promise<number> {
    const stored = await countBy(db, bucket, windowStart, 1);
    this.counts.set(key, { bucket, windowStart, stored, pending: 0 });
    return stored;
  }

  /** Takes back a request counted with `countOne` (a 304 is free, as on GitHub). */
  giveOneBack(bucket: string, windowStart: number): void {
    const known = this.counts.get(`${bucket}\0${windowStart}`);
    if (known) known.pending -= 1;
  }

  /** What this node counted in the window and has not written yet (for `/rate_limit`). */
  unwritten(bucket: string, windowStart: number): number {
    return this.counts.get(`${bucket}\0${windowStart}`)?.pending ?? 0;
  }

  /**
   * Adds every bucket's gathered increments to the database and forgets windows that ended
   * (`currentWindowStart`: windows starting before it are over once written). One flush at a time.
   */
  flush(db: Kysely<Database>, currentWindowStart: number): Promise<void> {
    this.flushing ??= this.writeAll(db, currentWindowStart).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async writeAll(db: Kysely<Database>, currentWindowStart: number): Promise<void> {
    for (const [key, count] of [...this.counts]) {
      const n = count.pending;
      if (n !== 0) {
        // Taken out before the write: requests arriving meanwhile count towards the next flush.
        count.pending -= n;
        try {
          count.stored = await countBy(db, count.bucket, count.windowStart, n);
        } catch (err) {
          count.pending += n;
          throw err;
        }
      }
      if (count.windowStart < currentWindowStart && count.pending === 0) this.counts.delete(key);
    }
  }
}
