/**
 * @module services/read-cache
 * The in-process memory of what readers of the API were last answered (docs/performance.md#the-read-cache).
 * It only remembers; it decides nothing about freshness. Callers put the repository's generation
 * (read from the database on every request, `db/repos/generations-repo.ts`) into every key, so an
 * entry of an older generation is never found again and simply ages out: a change on any node is
 * seen by every node on its next request. The lifetime bounds what is allowed to lag without
 * bumping a generation (download counts); the byte bound keeps memory flat, oldest used first out.
 */
import { RecencyOrder, type Ordered } from '../util/recency-order.ts';

interface Entry extends Ordered {
  value: unknown;
  bytes: number;
  expires: number;
}

export class ReadCache {
  /** Oldest used first: the eviction order (`util/recency-order.ts`). */
  private readonly entries = new Map<string, Entry>();
  private readonly order = new RecencyOrder();
  /** Values being computed (`remember`), so concurrent readers of an expired entry compute it once. */
  private readonly computing = new Map<string, Promise<unknown>>();
  private bytes = 0;

  /** `maxBytes` 0 turns the cache off (every `get` misses, `set` keeps nothing). */
  constructor(
    private readonly maxBytes: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get<T>(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.remove(key, entry.bytes);
      return undefined;
    }
    // Moved last only once it has left the newer half: moving it on every read, at thousands of
    // remembered reads a second, made megabytes a second of old-generation garbage.
    this.order.used(this.entries, key, entry);
    return entry.value as T;
  }

  /** Keeps `value`, which costs about `bytes` of memory; nothing when it alone is over a quarter of the bound. */
  set(key: string, value: unknown, bytes: number): void {
    if (!this.enabled || bytes > this.maxBytes / 4) return;
    const old = this.entries.get(key);
    if (old) this.remove(key, old.bytes);
    this.entries.set(key, { value, bytes, expires: this.now() + this.ttlMs, order: this.order.next() });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest, entry.bytes);
    }
  }

  /**
   * The value under `key`, or the one `compute` resolves to, kept at the size `bytesOf` gives.
   * Readers asking while it is being computed share that computation (and its failure): when an
   * entry every client polls expires, it is rendered once, not once per waiting request.
   */
  async remember<T>(key: string, compute: () => Promise<T>, bytesOf: (value: T) => number): Promise<T> {
    const found = this.get<T>(key);
    if (found !== undefined) return found;
    const pending = this.computing.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const computed = compute().then((value) => {
      this.set(key, value, bytesOf(value));
      return value;
    });
    this.computing.set(key, computed);
    try {
      return await computed;
    } finally {
      this.computing.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string, bytes: number): void {
    this.entries.delete(key);
    this.bytes -= bytes;
  }
}
