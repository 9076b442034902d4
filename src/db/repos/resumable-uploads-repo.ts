/**
 * @module db/repos/resumable-uploads-repo
 * SQL for resumable (tus) uploads. The lock is a row update guarded by `locked_until`, so one
 * request at a time appends to an upload whichever node it reaches; every later write of that
 * request is guarded by its `lock_token`, so a request that lost its lock records nothing.
 */
import type { Kysely } from 'kysely';
import type { Database, ResumableUpload } from '../schema.ts';

export async function insertResumableUpload(db: Kysely<Database>, row: ResumableUpload): Promise<void> {
  await db.insertInto('resumable_uploads').values(row).execute();
}

export async function findResumableUpload(db: Kysely<Database>, id: string): Promise<ResumableUpload | undefined> {
  return db.selectFrom('resumable_uploads').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Uploads of one user that have not expired (the per-user cap counts these). */
export async function countLiveResumableUploads(db: Kysely<Database>, uploaderId: number, nowMs: number): Promise<number> {
  const row = await db
    .selectFrom('resumable_uploads')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('uploader_id', '=', uploaderId)
    .where('expires_at', '>', nowMs)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Takes the upload's lock until `untilMs` unless another request holds it; the row when taken. */
export async function lockResumableUpload(db: Kysely<Database>, id: string, token: string, nowMs: number, untilMs: number): Promise<ResumableUpload | undefined> {
  return db
    .updateTable('resumable_uploads')
    .set({ lock_token: token, locked_until: untilMs })
    .where('id', '=', id)
    .where('locked_until', '<', nowMs)
    .returningAll()
    .executeTakeFirst();
}

/** Extends a held lock; false when it was lost (expired and taken, or the upload is gone). */
export async function renewResumableLock(db: Kysely<Database>, id: string, token: string, untilMs: number): Promise<boolean> {
  const r = await db.updateTable('resumable_uploads').set({ locked_until: untilMs }).where('id', '=', id).where('lock_token', '=', token).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Records bytes appended under the lock, and lets the lock go; false when the lock was lost. */
export async function recordAppend(db: Kysely<Database>, id: string, token: string, v: { offset: number; staging: string; expiresAt: number; unlock: boolean }): Promise<boolean> {
  const r = await db
    .updateTable('resumable_uploads')
    .set({ upload_offset: v.offset, staging: v.staging, expires_at: v.expiresAt, ...(v.unlock ? { lock_token: null, locked_until: 0 } : {}) })
    .where('id', '=', id)
    .where('lock_token', '=', token)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function unlockResumableUpload(db: Kysely<Database>, id: string, token: string): Promise<void> {
  await db.updateTable('resumable_uploads').set({ lock_token: null, locked_until: 0 }).where('id', '=', id).where('lock_token', '=', token).execute();
}

/** Uploads past their expiry whose lock is free (an append in progress is left alone). */
export async function listExpiredResumableUploads(db: Kysely<Database>, nowMs: number, limit = 200): Promise<ResumableUpload[]> {
  return db.selectFrom('resumable_uploads').selectAll().where('expires_at', '<', nowMs).where('locked_until', '<', nowMs).limit(limit).execute();
}

/** Which of `ids` are recorded uploads. */
export async function existingResumableUploadIds(db: Kysely<Database>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('resumable_uploads').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}
