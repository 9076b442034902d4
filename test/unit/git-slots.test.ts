/**
 * The git pool's queue timeout (git/git-slots.ts) is a caller's wait for others: a query's later
 * reads are not refused for waiting behind its own earlier ones, and a caller kept waiting by
 * others is refused all at once.
 */
import { describe, expect, it } from 'vitest';
import { OverloadedError } from '../../src/domain/errors.ts';
import { Slots } from '../../src/git/git-slots.ts';

const caller = (key: string) => ({ key, signal: new AbortController().signal });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the git queue timeout', () => {
  it("does not count a caller's wait behind its own work", async () => {
    const slots = new Slots(1, 300);
    const query = caller('user:1');
    let release = await slots.acquire(query);
    // Five more reads of the same query, each served 150 ms after the one before: the last waits
    // 750 ms in all, more than twice the timeout, yet never waits 300 ms as the first in line.
    const waiting = Array.from({ length: 5 }, () => slots.acquire(query));
    for (const next of waiting) {
      await sleep(150);
      release();
      release = await next;
    }
    release();
    expect(slots.waiting).toBe(0);
  });

  it('refuses the whole line of a caller kept waiting by others, with a retry time', async () => {
    const slots = new Slots(1, 300);
    const hog = await slots.acquire(caller('user:hog'));
    const started = Date.now();
    const line = Array.from({ length: 3 }, () =>
      slots.acquire(caller('user:2')).then(
        () => 'granted',
        (err: unknown) => err,
      ),
    );
    const outcomes = await Promise.all(line);
    for (const outcome of outcomes) {
      expect(outcome).toBeInstanceOf(OverloadedError);
      expect((outcome as OverloadedError).retryAfter).toBe(1);
    }
    // All at the first one's timeout, not one timeout after another.
    expect(Date.now() - started).toBeLessThan(900);
    expect(slots.waiting).toBe(0);
    hog();
  });
});
