/**
 * The background workers' loop: rounds never overlap, a wake during a round runs the next one
 * at once, a failing round is reported and retried, and stop waits for the round in progress.
 */
import { expect, it } from 'vitest';
import { PollLoop } from '../../src/util/poll-loop.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('runs rounds one at a time, sooner when woken, and stops after the round in progress', async () => {
  let active = 0;
  let overlapped = false;
  const rounds: number[] = [];
  let release: (() => void) | null = null;
  const loop = new PollLoop(
    async () => {
      active++;
      if (active > 1) overlapped = true;
      rounds.push(Date.now());
      // The first round waits until the test lets it go; later ones are quick.
      if (rounds.length === 1) await new Promise<void>((r) => (release = r));
      active--;
      return 60_000;
    },
    { idleMs: 60_000, onError: () => undefined },
  );
  loop.start();
  await sleep(20);
  expect(rounds).toHaveLength(1);
  // Woken twice during the round: one more round right after it, not two at once.
  loop.wake();
  loop.wake();
  release!();
  await sleep(50);
  expect(rounds).toHaveLength(2);
  // Idle with a long wait: a wake runs a round now.
  loop.wake();
  await sleep(50);
  expect(rounds).toHaveLength(3);
  expect(overlapped).toBe(false);
  await loop.stop();
  loop.wake();
  await sleep(30);
  expect(rounds).toHaveLength(3);
});

it('reports a failing round and tries again after the idle wait', async () => {
  const errors: unknown[] = [];
  let calls = 0;
  const loop = new PollLoop(
    async () => {
      calls++;
      if (calls === 1) throw new Error('database away');
      return 60_000;
    },
    { idleMs: 30, onError: (err) => errors.push(err) },
  );
  loop.start();
  await sleep(150);
  await loop.stop();
  expect(errors).toHaveLength(1);
  expect(calls).toBe(2);
});
