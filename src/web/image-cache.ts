/**
 * @module web/image-cache
 * Proxied images kept in this process's memory, keyed by the image's URL (the one its signed proxy
 * path stands for), least recently used dropped first once the byte or the entry cap is reached.
 * An optimisation only: every node has its own, a restart empties it, and a miss fetches the image
 * again under the same rules, so nothing depends on what it holds.
 *
 * What the image's host says is followed: an answer marked `no-store`, `no-cache` or `private` (or
 * `max-age=0`) is not kept, and none is kept longer than its `max-age` (`s-maxage` first, as for a
 * shared cache) or `MAX_LIFETIME_MS`.
 */
import { RecencyOrder, type Ordered } from '../util/recency-order.ts';

export interface CachedImage {
  type: string;
  body: Buffer;
}

interface Entry extends CachedImage, Ordered {
  expiresAt: number;
}

/** The longest an image is kept, whatever its host allows. */
export const MAX_LIFETIME_MS = 60 * 60 * 1000;

/**
 * How long a shared cache may keep an answer with this `Cache-Control`: 0 when it must not
 * (`no-store`, `no-cache`, `private`, a zero age), else its age capped by `MAX_LIFETIME_MS`.
 */
export function cacheLifetimeMs(cacheControl: string | string[] | undefined): number {
  const directives = new Map<string, string | null>();
  for (const part of (Array.isArray(cacheControl) ? cacheControl.join(',') : (cacheControl ?? '')).split(',')) {
    const [name, value] = part.split('=', 2).map((x) => x.trim());
    if (name) directives.set(name.toLowerCase(), value?.replace(/^"|"$/g, '') ?? null);
  }
  if (directives.has('no-store') || directives.has('no-cache') || directives.has('private')) return 0;
  const age = directives.get('s-maxage') ?? directives.get('max-age');
  if (age === undefined || age === null) return MAX_LIFETIME_MS;
  const seconds = /^\d+$/.test(age) ? Number(age) : 0;
  return Math.min(seconds * 1000, MAX_LIFETIME_MS);
}

export class ImageCache {
  /** Oldest used first: the eviction order (`util/recency-order.ts`). */
  private readonly entries = new Map<string, Entry>();
  private readonly order = new RecencyOrder();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  get(url: string): CachedImage | null {
    const entry = this.entries.get(url);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(url);
      this.bytes -= entry.body.length;
      return null;
    }
    this.order.used(this.entries, url, entry);
    return entry;
  }

  /** Keeps `image` for `lifetimeMs` when it fits the caps at all (a larger one is not kept). */
  set(url: string, image: CachedImage, lifetimeMs: number): void {
    if (lifetimeMs <= 0 || this.maxEntries === 0 || image.body.length > this.maxBytes) return;
    const old = this.entries.get(url);
    if (old) {
      this.entries.delete(url);
      this.bytes -= old.body.length;
    }
    this.entries.set(url, { type: image.type, body: image.body, expiresAt: this.now() + lifetimeMs, order: this.order.next() });
    this.bytes += image.body.length;
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.entries.delete(key);
      this.bytes -= entry.body.length;
    }
  }
}
