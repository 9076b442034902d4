import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../src/db/shared-reads.ts';

/** A read whose end the test decides, numbered in the order they began. */
function controlledReads(): { run: () => Promise<number>; began: () => number; finish: (n: number) => void; fail: (n: number) => void } {
  const pending: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  return {
    run: () =>
      new Promise<number>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
    began: () => pending.length,
    finish: (n) => pending[n - 1]!.resolve(n),
    fail: (n) => pending[n - 1]!.reject(new Error(`read ${n} failed`)),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('SharedReads', () => {
  it('never answers a request with a read that began before it asked; those asking meanwhile share the next', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const first = reads.read('k', c.run);
    expect(c.began()).toBe(1);
    // Asked while read 1 runs: read 1 may have begun before a change committed, so not read 1.
    const second = reads.read('k', c.run);
    const third = reads.read('k', c.run);
    expect(c.began()).toBe(1);
    c.finish(1);
    expect(await first).toBe(1);
    await settle();
    // Read 2 begins only after read 1 ended, that is after both asked.
    expect(c.began()).toBe(2);
    const fourth = reads.read('k', c.run);
    c.finish(2);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    await settle();
    expect(c.began()).toBe(3);
    c.finish(3);
    expect(await fourth).toBe(3);
    // Nothing running: the next request begins its own read at once.
    const fifth = reads.read('k', c.run);
    expect(c.began()).toBe(4);
    c.finish(4);
    expect(await fifth).toBe(4);
  });

  it('keeps keys apart, and a failed read fails only those who shared it', async () => {
    const reads = new SharedReads<number>();
    const c = controlledReads();
    const a = reads.read('a', c.run);
    const b = reads.read('b', c.run);
    expect(c.began()).toBe(2);
    const a2 = reads.read('a', c.run);
    c.fail(1);
    await expect(a).rejects.toThrow('read 1 failed');
    await settle();
    expect(c.began()).toBe(3);
    c.finish(3);
    expect(await a2).toBe(3);
    c.finish(2);
    expect(await b).toBe(2);
  });
});
