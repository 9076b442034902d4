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
    cache.set('a', image(40), 1000);
    cache.set('b', image(40), 1000);
    expect(cache.get('a')).not.toBeNull(); // a is now the most recently used
    cache.set('c', image(40), 1000);
    expect(cache.get('b')).toBeNull();
    expect(cache.get('a')).not.toBeNull();
    expect(cache.get('c')).not.toBeNull();
    expect(cache.byteSize).toBe(80);
    cache.set('huge', image(101), 1000);
    expect(cache.get('huge')).toBeNull();
    expect(cache.size).toBe(2);
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
