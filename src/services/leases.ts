/**
 * @module services/leases
 * "Only one node runs this job at a time", for periodic background work (sweepers, orphan scans)
 * on several Wharf nodes. A lease lives in the database with an expiry, so a node that dies
 * holding one blocks the job only until the lease runs out; there is no lock in process memory.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppContext } from '../context.ts';
import { acquireLease, claimExpiredLease, findLease, releaseLease, takeOverLease } from '../db/repos/leases-repo.ts';

/** This process, as a lease holder: host, pid and a random part (pids repeat across restarts). */
export const LEASE_HOLDER = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Runs `job` if this node can take the lease `name` for `ttlMs` (longer than the job can take),
 * and reports whether it ran. The lease is kept after the job, so the next run on any node, this
 * one included, waits for the lease to expire: `ttlMs` is also the shortest interval between two
 * runs (`takeTurn`).
 */
export async function runWithLease<T>(ctx: Pick<AppContext, 'db'>, name: string, ttlMs: number, job: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }> {
  if (!(await takeTurn(ctx, name, ttlMs))) return { ran: false };
  return { ran: true, result: await job() };
}

/**
 * Whether this process may run the periodic job `name` now, at most once per `periodMs` across
 * every node: true only when the job's lease is free or expired. Unlike `acquire`, a holder does
 * not renew its own lease, so asking every tick runs the job once per period, not every tick.
 */
export async function takeTurn(ctx: Pick<AppContext, 'db'>, name: string, periodMs: number): Promise<boolean> {
  const now = Date.now();
  return claimExpiredLease(ctx.db, name, LEASE_HOLDER, now, now + periodMs);
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

/**
 * Whether the process that wrote `holder` (a `LEASE_HOLDER` value) at `sinceMs` is gone, so that
 * work it left half-done may be finished or undone. Certain for this host: another incarnation
 * of this very pid (a restarted container is pid 1 again), or a pid no longer running. For other
 * hosts only age tells: `maxAgeMs` after `sinceMs`, longer than any such work can take.
 */
export function holderIsGone(holder: string, sinceMs: number, maxAgeMs: number, now = Date.now()): boolean {
  if (holder === LEASE_HOLDER) return false;
  if (now - sinceMs > maxAgeMs) return true;
  const parts = holder.split(':');
  const pid = Number(parts.at(-2));
  const host = parts.slice(0, -2).join(':');
  if (host !== hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * `acquire`, and when another holder has the lease, takes it over if that holder is gone
 * (`holderIsGone`: a dead process on this host, or a lease older than `maxAgeMs`), so that work a
 * killed process was doing continues at once on restart instead of after the lease runs out.
 */
export async function acquireOrTakeOver(ctx: Pick<AppContext, 'db'>, name: string, ttlMs: number, maxAgeMs: number): Promise<boolean> {
  if (await acquire(ctx, name, ttlMs)) return true;
  const lease = await findLease(ctx.db, name);
  if (!lease || !holderIsGone(lease.holder, lease.expires_at - ttlMs, maxAgeMs)) return false;
  return takeOverLease(ctx.db, name, lease.holder, LEASE_HOLDER, Date.now() + ttlMs);
}
