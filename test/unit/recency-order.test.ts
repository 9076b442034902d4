/**
 * The least-recently-used order shared by the in-process caches (`src/util/recency-order.ts`): a
 * used entry moves last only once more than half the entries were put last after it.
 */
import { describe, expect, it } from 'vitest';
import { RecencyOrder, type Ordered } from '../../src/util/recency-order.ts';

function filled(keys: string[]): { map: Map<string, Ordered>; order: RecencyOrder } {
  const order = new RecencyOrder();
  const map = new Map<string, Ordered>();
  for (const key of keys) map.set(key, { order: order.next() });
  return { map, order };
}

const use = (o: { map: Map<string, Ordered>; order: RecencyOrder }, key: string) => o.order.used(o.map, key, o.map.get(key)!);

describe('recency order', () => {
  it('moves a used entry last once it has left the newer half, and only then', () => {
    const o = filled(['a', 'b', 'c', 'd']);
    // a, the oldest, has three entries after it of four: it moves last.
    use(o, 'a');
    expect([...o.map.keys()]).toEqual(['b', 'c', 'd', 'a']);
    // d has one after it (a): among the newer half, it stays; so does a, the newest.
    for (let i = 0; i < 100; i++) {
      use(o, 'd');
      use(o, 'a');
    }
    expect([...o.map.keys()]).toEqual(['b', 'c', 'd', 'a']);
    // c has two after it of four: exactly half, it stays; b, with three, moves.
    use(o, 'c');
    use(o, 'b');
    expect([...o.map.keys()]).toEqual(['c', 'd', 'a', 'b']);
    // Entries put in after d take it out of the newer half: then a use moves it.
    for (const key of ['e', 'f']) o.map.set(key, { order: o.order.next() });
    use(o, 'd');
    expect([...o.map.keys()]).toEqual(['c', 'a', 'b', 'e', 'f', 'd']);
  });

  it('keeps the oldest of two where it is: the other is half of the entries', () => {
    const o = filled(['a', 'b']);
    use(o, 'a');
    expect([...o.map.keys()]).toEqual(['a', 'b']);
  });
});
