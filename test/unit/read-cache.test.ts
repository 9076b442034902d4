/**
 * The read cache's memory (`services/read-cache.ts`): concurrent readers of a missing entry share
 * one computation, a failed computation is neither remembered nor blocks the next, and the byte
 * bound lets go of what was read least recently first.
 */
import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../src/services/read-cache.ts';

describe('read cache', () => {
  it('computes an entry once for every reader asking while it is computed, then serves it remembered', async () => {
    const cache = new ReadCache(1 << 20, 60_000);
    let computations = 0;
    let finish!: (value: string) => void;
    const compute = () => {
      computations += 1;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    const readers = Array.from({ length: 5 }, () => cache.remember('k', compute, (v) => v.length));
    finish('answer');
    expect(await Promise.all(readers)).toEqual(Array(5).fill('answer'));
    expect(await cache.remember('k', compute, (v) => v.length)).toBe('answer');
    expect(computations).toBe(1);
  });

  it('hands a failure to the readers that waited on it, and computes again next time', async () => {
    const cache = new ReadCache(1 << 20, 60_000);
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(new Error('not found'));
    };
    const results = await Promise.allSettled([cache.remember('k', failing, () => 1), cache.remember('k', failing, () => 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    expect(
      await cache.remember(
        'k',
        () => Promise.resolve('later'),
        (v) => v.length,
      ),
    ).toBe('later');
  });

  it('expires entries after their lifetime', async () => {
    let now = 0;
    const cache = new ReadCache(1 << 20, 1000, () => now);
    await cache.remember(
      'k',
      () => Promise.resolve('first'),
      () => 5,
    );
    now = 999;
    expect(
      await cache.remember(
        'k',
        () => Promise.resolve('second'),
        () => 6,
      ),
    ).toBe('first');
    now = 1000;
    expect(
      await cache.remember(
        'k',
        () => Promise.resolve('second'),
        () => 6,
      ),
    ).toBe('second');
  });

  it('lets go first of entries no one read while half the others were put in after them', () => {
    const cache = new ReadCache(8, 60_000);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, key, 2);
    // a is read while it is the oldest: it moves last, and b is now the oldest.
    expect(cache.get('a')).toBe('a');
    cache.set('e', 'e', 2);
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd', 'e'].map((k) => cache.get(k))).toEqual(['a', 'c', 'd', 'e']);
    // Entries read over and over among the newer half stay where they are: the oldest goes first.
    for (let i = 0; i < 100; i++) expect(cache.get('e')).toBe('e');
    cache.set('f', 'f', 2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('f')).toBe('f');
    expect(cache.get('e')).toBe('e');
  });
});
