import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/util/group-commit.ts';

/** A commit that can be held open, recording the groups it was given. */
function recorder(fail: (items: readonly number[]) => boolean = () => false) {
  const groups: number[][] = [];
  const alone: number[] = [];
  let release: () => void = () => undefined;
  let held: Promise<void> = Promise.resolve();
  const group = new GroupCommit<number, string>({
    commit: async (items) => {
      groups.push([...items]);
      await held;
      if (fail(items)) throw new Error(`refused ${items.join(',')}`);
      return items.map((i) => `done ${i}`);
    },
    alone: async (item) => {
      alone.push(item);
      if (fail([item])) throw new Error(`refused ${item}`);
      return `alone ${item}`;
    },
  });
  return {
    group,
    groups,
    alone,
    hold() {
      held = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

describe('GroupCommit', () => {
  it('puts the writers that arrive during a commit into the next one, each with its own result', async () => {
    const r = recorder();
    r.hold();
    const first = r.group.submit(1);
    // The first commit is under way (and held) before the others arrive.
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.groups).toEqual([[1]]);
    const later = [r.group.submit(2), r.group.submit(3), r.group.submit(4)];
    r.release();
    expect(await first).toBe('done 1');
    expect(await Promise.all(later)).toEqual(['done 2', 'done 3', 'done 4']);
    expect(r.groups).toEqual([[1], [2, 3, 4]]);
    expect(r.alone).toEqual([]);
  });

  it('commits each writer on its own when a shared commit fails, so only the refused one fails', async () => {
    const r = recorder((items) => items.includes(3));
    r.hold();
    const first = r.group.submit(1);
    // The first commit is under way (and held) before the others arrive.
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.groups).toEqual([[1]]);
    const later = [2, 3, 4].map((i) => r.group.submit(i).catch((err: Error) => err.message));
    r.release();
    expect(await first).toBe('done 1');
    expect(await Promise.all(later)).toEqual(['alone 2', 'refused 3', 'alone 4']);
    expect(r.groups).toEqual([[1], [2, 3, 4]]);
    expect(r.alone).toEqual([2, 3, 4]);
  });

  it('gives a writer alone in its group the commit’s own error, without a second try', async () => {
    const r = recorder(() => true);
    await expect(r.group.submit(7)).rejects.toThrow('refused 7');
    expect(r.alone).toEqual([]);
    // The queue keeps working after a failure.
    const ok = recorder();
    expect(await ok.group.submit(8)).toBe('done 8');
  });

  it('waits for gather before taking each group', async () => {
    const seen: number[][] = [];
    const group = new GroupCommit<number, number>({
      commit: async (items) => {
        seen.push([...items]);
        return [...items];
      },
      alone: async (item) => item,
      gather: () => new Promise<void>((resolve) => setImmediate(resolve)),
    });
    // Submitted in the same turn: one group, because gather let the others arrive first.
    const results = await Promise.all([group.submit(1), group.submit(2), group.submit(3)]);
    expect(results).toEqual([1, 2, 3]);
    expect(seen).toEqual([[1, 2, 3]]);
  });
});
