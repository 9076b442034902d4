/**
 * @module db/repos/leases-repo
 * SQL for job leases. Taking a lease is one statement (an upsert that only overwrites an expired
 * lease or one the caller already holds), so two nodes asking at once cannot both get it.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/** Takes or renews `name` for `holder` until `expiresAt` (epoch ms); false while another holds it. */
export function acquireLease(db: Kysely<Database>, name: string, holder: string, now: number, expiresAt: number): Promise<boolean> {
  return takeLease(db, name, holder, now, expiresAt, true);
}

/**
 * Takes the lease `name` only if nobody holds it or it has expired, even when `holder` itself holds
 * it: for "at most once per period" jobs, where renewing one's own lease would run the job again.
 */
export function claimExpiredLease(db: Kysely<Database>, name: string, holder: string, now: number, expiresAt: number): Promise<boolean> {
  return takeLease(db, name, holder, now, expiresAt, false);
}

async function takeLease(db: Kysely<Database>, name: string, holder: string, now: number, expiresAt: number, renewOwn: boolean): Promise<boolean> {
  const row = await db
    .insertInto('leases')
    .values({ name, holder, expires_at: expiresAt })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: expiresAt })
        .where((eb) => (renewOwn ? eb.or([eb('leases.expires_at', '<=', now), eb('leases.holder', '=', holder)]) : eb('leases.expires_at', '<=', now))),
    )
    .returning('holder')
    .executeTakeFirst();
  // No row comes back when the lease is held and the update's condition failed.
  return row?.holder === holder;
}

/** Gives a lease back early (on shutdown), if `holder` still has it. */
export async function releaseLease(db: Kysely<Database>, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}

/** The lease `name` as it stands (holder and expiry), if any. */
export async function findLease(db: Kysely<Database>, name: string): Promise<{ holder: string; expires_at: number } | undefined> {
  return db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
}

/** Takes `name` over from `fromHolder` (a process known to be gone), if it still holds it. */
export async function takeOverLease(db: Kysely<Database>, name: string, fromHolder: string, holder: string, expiresAt: number): Promise<boolean> {
  const res = await db.updateTable('leases').set({ holder, expires_at: expiresAt }).where('name', '=', name).where('holder', '=', fromHolder).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}
