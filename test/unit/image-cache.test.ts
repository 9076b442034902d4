/**
 * The image proxy's cache (`src/web/image-cache.ts`): capped by bytes and by entries, least
 * recently used dropped first, entries gone once their lifetime passes, and the lifetimes a host's
 * `Cache-Control` allows a shared cache.
 */
import { describe, expect, it } from 'vitest';
import { cacheLifetimeMs, ImageCache, MAX_LIFETIME_MS } from '../../src/web/image-cache.ts';

const image = (bytes: number) => ({ type: 'image/png', body: Buffer.alloc(bytes) });

describe('image cache', () => {
  it('drops the least recently used entries beyond its byte cap, and never keeps one larger than the cap', () => {
    const cache = new ImageCache(100, 10);
    for (const key of ['a', 'b', 'c', 'd', 'e']) cache.set(key, image(20), 1000);
    // a, the oldest, is read: it moves last, and b is now the first to go.
    expect(cache.get('a')).not.toBeNull();
    cache.set('f', image(20), 1000);
    expect(cache.get('b')).toBeNull();
    expect(cache.byteSize).toBe(100);
    // e is read over and over while among the newer half: it stays where it is, and c, d go first.
    for (let i = 0; i < 100; i++) expect(cache.get('e')).not.toBeNull();
    cache.set('g', image(40), 1000);
    expect(cache.get('c')).toBeNull();
    expect(cache.get('d')).toBeNull();
    for (const key of ['e', 'a', 'f', 'g']) expect(cache.get(key), key).not.toBeNull();
    expect(cache.byteSize).toBe(100);
    cache.set('huge', image(101), 1000);
    expect(cache.get('huge')).toBeNull();
    expect(cache.size).toBe(4);
  });

  it('evicts in the order of last use, counting only the reads of entries that had left the newer half', () => {
    const cache = new ImageCache(1_000_000, 4);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, image(1), 1000);
    // a has three entries after it of four: read, it moves last. c then has two (d, a), half of
    // four: read, it stays where it is.
    cache.get('a');
    cache.get('c');
    cache.set('e', image(1), 1000);
    expect(cache.get('b')).toBeNull();
    cache.set('f', image(1), 1000);
    expect(cache.get('c')).toBeNull();
    for (const key of ['d', 'a', 'e', 'f']) expect(cache.get(key), key).not.toBeNull();
  });

  it('holds at most its entry cap, and nothing with a zero cap or lifetime', () => {
    const cache = new ImageCache(1_000_000, 3);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, image(1), 1000);
    expect(cache.size).toBe(3);
    expect(cache.get('a')).toBeNull();
    cache.set('e', image(1), 0);
    expect(cache.get('e')).toBeNull();
    const off = new ImageCache(1_000_000, 0);
    off.set('a', image(1), 1000);
    expect(off.get('a')).toBeNull();
  });

  it('forgets an entry once its lifetime has passed', () => {
    let now = 1_000;
    const cache = new ImageCache(1000, 10, () => now);
    cache.set('a', image(10), 500);
    now += 499;
    expect(cache.get('a')).not.toBeNull();
    now += 1;
    expect(cache.get('a')).toBeNull();
    expect(cache.byteSize).toBe(0);
  });

  it("reads the host's Cache-Control as a shared cache must", () => {
    expect(cacheLifetimeMs(undefined)).toBe(MAX_LIFETIME_MS);
    expect(cacheLifetimeMs('public, max-age=60')).toBe(60_000);
    expect(cacheLifetimeMs('max-age=60, s-maxage=10')).toBe(10_000);
    expect(cacheLifetimeMs('max-age=31536000')).toBe(MAX_LIFETIME_MS);
    for (const forbidden of ['no-store', 'No-Cache', 'private, max-age=600', 'max-age=0', 'max-age=soon', ['public', 'no-store']]) {
      expect(cacheLifetimeMs(forbidden), String(forbidden)).toBe(0);
    }
  });
});
