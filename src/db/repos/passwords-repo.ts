/**
 * @module db/repos/passwords-repo
 * SQL for password hashes and one-time password reset links. A link is spent by one conditional
 * update (unused and unexpired), so two redemptions racing on any node cannot both succeed.
 */
import type { Kysely } from 'kysely';
import type { Database, PasswordResetLink } from '../schema.ts';

export async function findPasswordHash(db: Kysely<Database>, userId: number): Promise<string | undefined> {
  const row = await db.selectFrom('passwords').select('hash').where('user_id', '=', userId).executeTakeFirst();
  return row?.hash;
}

export async function upsertPasswordHash(db: Kysely<Database>, userId: number, hash: string, now: string): Promise<void> {
  await db
    .insertInto('passwords')
    .values({ user_id: userId, hash, changed_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ hash, changed_at: now }))
    .execute();
}

export async function insertResetLink(db: Kysely<Database>, row: PasswordResetLink): Promise<void> {
  await db.insertInto('password_reset_links').values(row).execute();
}

/** Drops a user's earlier links (a new link replaces them) and links that expired before `now`. */
export async function deleteStaleResetLinks(db: Kysely<Database>, userId: number, now: string): Promise<void> {
  await db.deleteFrom('password_reset_links').where('user_id', '=', userId).execute();
  await db.deleteFrom('password_reset_links').where('expires_at', '<=', now).execute();
}

export async function findResetLink(db: Kysely<Database>, secretHash: string): Promise<PasswordResetLink | undefined> {
  return db.selectFrom('password_reset_links').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
}

/** Marks a link used if it is unused and unexpired at `now`; true when this call spent it. */
export async function spendResetLink(db: Kysely<Database>, secretHash: string, now: string): Promise<boolean> {
  const res = await db
    .updateTable('password_reset_links')
    .set({ used_at: now })
    .where('secret_hash', '=', secretHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
