/**
 * Rate-limit counts gathered in memory and written in batches (`services/rate-counts.ts`): two
 * counters on one database stand for two nodes.
 */
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.ts';
import { countIn } from '../../src/db/repos/rate-limits-repo.ts';
import { RateCounts } from '../../src/services/rate-counts.ts';
import { serviceContextForFile } from './support/service-context.ts';

let ctx: AppContext;
serviceContextForFile((made) => (ctx = made));

describe('rate counts', () => {
  it("writes a caller's first request of a window at once and the rest on flush, losing none", async () => {
    const { db } = ctx;
    const counts = new RateCounts();
    expect(await counts.countOne(db, 'user:1', 3600)).toBe(1);
    expect(await countIn(db, 'user:1', 3600)).toBe(1);
    for (let i = 2; i <= 5; i++) expect(await counts.countOne(db, 'user:1', 3600)).toBe(i);
    // Counted, not yet written: nothing touched the database for them.
    expect(await countIn(db, 'user:1', 3600)).toBe(1);
    expect(counts.unwritten('user:1', 3600)).toBe(4);
    await counts.flush(db, 3600);
    expect(await countIn(db, 'user:1', 3600)).toBe(5);
    expect(counts.unwritten('user:1', 3600)).toBe(0);
  });

  it("sees the other node's requests after a flush, and refunds reach the database", async () => {
    const { db } = ctx;
    const a = new RateCounts();
    const b = new RateCounts();
    expect(await a.countOne(db, 'ip:x', 7200)).toBe(1);
    expect(await b.countOne(db, 'ip:x', 7200)).toBe(2);
    expect(await a.countOne(db, 'ip:x', 7200)).toBe(2);
    expect(await b.countOne(db, 'ip:x', 7200)).toBe(3);
    b.giveOneBack('ip:x', 7200);
    await a.flush(db, 7200);
    await b.flush(db, 7200);
    expect(await countIn(db, 'ip:x', 7200)).toBe(3);
    // A node learns the others' requests whenever it writes its own.
    expect(await a.countOne(db, 'ip:x', 7200)).toBe(4);
    await a.flush(db, 7200);
    expect(await b.countOne(db, 'ip:x', 7200)).toBe(3);
    await b.flush(db, 7200);
    expect(await countIn(db, 'ip:x', 7200)).toBe(5);
    expect(await b.countOne(db, 'ip:x', 7200)).toBe(6);
  });

  it('forgets windows that ended once written, and counts a new window from the database', async () => {
    const { db } = ctx;
    const counts = new RateCounts();
    await counts.countOne(db, 'user:2', 0);
    await counts.countOne(db, 'user:2', 0);
    await counts.flush(db, 3600);
    expect(await countIn(db, 'user:2', 0)).toBe(2);
    expect(counts.unwritten('user:2', 0)).toBe(0);
    expect(await counts.countOne(db, 'user:2', 3600)).toBe(1);
    // The ended window's count stays in the database for the sweeper; the new one started at one.
    expect(await countIn(db, 'user:2', 3600)).toBe(1);
  });
});
