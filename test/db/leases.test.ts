/** Job leases on whichever engine the test environment selects. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLease } from '../../src/db/repos/leases-repo.ts';
import { LEASE_HOLDER, release, runWithLease, takeTurn } from '../../src/services/leases.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('job leases', () => {
  it('gives a lease to exactly one of many concurrent claimants', async () => {
    const db = server.wharf.ctx.db;
    const now = Date.now();
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => acquireLease(db, 'race', `node-${i}`, now, now + 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = `node-${claims.indexOf(true)}`;
    // The holder renews; the others still cannot take it.
    expect(await acquireLease(db, 'race', winner, now + 1, now + 120_000)).toBe(true);
    expect(await acquireLease(db, 'race', 'node-x', now + 60_001, now + 180_000)).toBe(false);
    // Once it expires, anyone may.
    expect(await acquireLease(db, 'race', 'node-x', now + 120_000, now + 180_000)).toBe(true);
  });

  it('runs a job once per lease period across holders, and releases on request', async () => {
    const ctx = server.wharf.ctx;
    let runs = 0;
    const job = async () => ++runs;
    const first = await runWithLease(ctx, 'sweep', 60_000, job);
    expect(first).toEqual({ ran: true, result: 1 });
    const other = await acquireLease(ctx.db, 'sweep', 'another-node', Date.now(), Date.now() + 60_000);
    expect(other).toBe(false);
    await release(ctx, 'sweep', LEASE_HOLDER);
    expect(await acquireLease(ctx.db, 'sweep', 'another-node', Date.now(), Date.now() + 60_000)).toBe(true);
    expect(await runWithLease(ctx, 'sweep', 60_000, job)).toEqual({ ran: false });
    expect(runs).toBe(1);
  });

  it('runs a periodic job at most once per period on the node that holds its lease too', async () => {
    const ctx = server.wharf.ctx;
    let runs = 0;
    const job = async () => ++runs;
    expect(await runWithLease(ctx, 'periodic', 60_000, job)).toEqual({ ran: true, result: 1 });
    // The same process asking again within the period does not renew its own lease and run again.
    expect(await runWithLease(ctx, 'periodic', 60_000, job)).toEqual({ ran: false });
    expect(await takeTurn(ctx, 'periodic', 60_000)).toBe(false);
    // Once the period is over, the next turn is taken.
    await ctx.db
      .updateTable('leases')
      .set({ expires_at: Date.now() - 1 })
      .where('name', '=', 'periodic')
      .execute();
    expect(await runWithLease(ctx, 'periodic', 60_000, job)).toEqual({ ran: true, result: 2 });
    expect(runs).toBe(2);
  });
});
