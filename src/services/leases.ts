/**
 * @module services/leases
 * "Only one node runs this job at a time", for periodic background work (sweepers, orphan scans)
 * on several Wharf nodes. A lease lives in the database with an expiry, so a node that dies
 * holding one blocks the job only until the lease runs out; there is no lock in process memory.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppContext } from '../context.ts';
import { acquireLease, releaseLease } from '../db/repos/leases-repo.ts';

/** This process, as a lease holder: host, pid and a random part (pids repeat across restarts). */
export const LEASE_HOLDER = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Runs `job` if this node can take the lease `name` for `ttlMs` (longer than the job can take),
 * and reports whether it ran. The lease is kept after the job, so the next run on any node waits
 * for the lease to expire: `ttlMs` is also the shortest interval between two runs.
 */
export async function runWithLease<T>(ctx: Pick<AppContext, 'db'>, name: string, ttlMs: number, job: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
  const now = Date.now();
  if (!(await acquireLease(ctx.db, name, LEASE_HOLDER, now, now + ttlMs))) return { ran: false };
  return { ran: true, result: await job() };
}

/** Takes or renews the lease `name` for `ttlMs`; false while another process holds it. */
export async function acquire(ctx: Pick<AppContext, 'db'>, name: string, ttlMs: number): Promise<boolean> {
  const now = Date.now();
  return acquireLease(ctx.db, name, LEASE_HOLDER, now, now + ttlMs);
}

/** Gives the lease back (on shutdown), so another node need not wait for it to expire. */
export async function release(ctx: Pick<AppContext, 'db'>, name: string, holder = LEASE_HOLDER): Promise<void> {
  await releaseLease(ctx.db, name, holder);
}
