/**
 * @module db/repos/refs-repo
 * SQL for what the database knows of each repository's refs (`repository_refs`) and for the ref
 * changes Wharf is about to make (`ref_intents`); see services/refs.ts.
 */
import type { Kysely } from 'kysely';
import type { Database, RefIntent, RefIntentPurpose } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

// Made by every ref change through the refs door (each release's new tag): compiled once (`db/compiled-once.ts`).
const deleteKnownRef = compiledOnce('wharf_delete_known_ref', (trx, repositoryId: number, ref: string) =>
  trx.deleteFrom('repository_refs').where('repository_id', '=', repositoryId).where('ref', '=', ref),
);
const upsertKnownRef = compiledOnce('wharf_upsert_known_ref', (trx, repositoryId: number, ref: string, sha: string) =>
  trx
    .insertInto('repository_refs')
    .values({ repository_id: repositoryId, ref, sha })
    .onConflict((oc) => oc.columns(['repository_id', 'ref']).doUpdateSet({ sha })),
);
const insertIntents = compiledOnce('wharf_insert_ref_intents', (db, intents: NewRefIntent[]) =>
  db
    .insertInto('ref_intents')
    .values(
      intents.map((i) => ({
        repository_id: i.repositoryId,
        ref: i.ref,
        sha: i.sha,
        purpose: i.purpose,
        actor_id: i.actorId,
        holder: i.holder,
        created_ms: i.now,
      })),
    )
    .returning('id'),
);
const deleteIntents = compiledOnce('wharf_delete_ref_intents', (db, ids: number[]) => db.deleteFrom('ref_intents').where('id', 'in', ids));

/**
 * Serialises ref bookkeeping per repository: a no-op update of the repository's row takes its row
 * lock on PostgreSQL (held to the end of `trx`) and the write lock on SQLite. Returns whether the
 * repository still exists, and whether its refs are recorded yet.
 */
export async function lockRepositoryRefs(trx: Kysely<Database>, repositoryId: number): Promise<{ refsKnown: boolean } | null> {
  const row = await trx
    .updateTable('repositories')
    .set((eb) => ({ refs_known: eb.ref('refs_known') }))
    .where('id', '=', repositoryId)
    .returning('refs_known')
    .executeTakeFirst();
  return row ? { refsKnown: row.refs_known === 1 } : null;
}

export async function markRefsKnown(trx: Kysely<Database>, repositoryId: number): Promise<void> {
  await trx.updateTable('repositories').set({ refs_known: 1 }).where('id', '=', repositoryId).execute();
}

/** The refs the database knows, `ref → sha`. */
export async function knownRefs(db: Kysely<Database>, repositoryId: number): Promise<Map<string, string>> {
  const rows = await db.selectFrom('repository_refs').select(['ref', 'sha']).where('repository_id', '=', repositoryId).execute();
  return new Map(rows.map((r) => [r.ref, r.sha]));
}

/** Records refs as they now are: `sha` null removes one. */
export async function setKnownRefs(trx: Kysely<Database>, repositoryId: number, refs: ReadonlyArray<{ ref: string; sha: string | null }>): Promise<void> {
  for (const { ref, sha } of refs) {
    if (sha === null) await deleteKnownRef(trx, repositoryId, ref);
    else await upsertKnownRef(trx, repositoryId, ref, sha);
  }
}

export interface NewRefIntent {
  repositoryId: number;
  ref: string;
  sha: string | null;
  purpose: RefIntentPurpose;
  actorId: number | null;
  holder: string;
  now: number;
}

export async function insertRefIntents(db: Kysely<Database>, intents: readonly NewRefIntent[]): Promise<number[]> {
  if (intents.length === 0) return [];
  const { rows } = await insertIntents(db, [...intents]);
  return rows.map((r) => r.id);
}

export async function deleteRefIntents(db: Kysely<Database>, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await deleteIntents(db, [...ids]);
}

export async function refIntentsOf(db: Kysely<Database>, repositoryId: number): Promise<RefIntent[]> {
  return db.selectFrom('ref_intents').selectAll().where('repository_id', '=', repositoryId).orderBy('id').execute();
}

/** Every intent of a purpose, oldest first (few: each lives for the length of one write). */
export async function refIntentsFor(db: Kysely<Database>, purpose: RefIntentPurpose): Promise<RefIntent[]> {
  return db.selectFrom('ref_intents').selectAll().where('purpose', '=', purpose).orderBy('id').execute();
}

/** Repositories whose refs the database does not know yet, or all, a page at a time by id. */
export async function repositoryIdsAfter(db: Kysely<Database>, afterId: number, limit: number, onlyUnknown: boolean): Promise<number[]> {
  let query = db.selectFrom('repositories').select('id').where('id', '>', afterId);
  if (onlyUnknown) query = query.where('refs_known', '=', 0);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map((r) => r.id);
}

/** Deletes intents of `purpose` older than `beforeMs` (their write is long over); how many went. */
export async function deleteRefIntentsBefore(db: Kysely<Database>, purpose: RefIntentPurpose, beforeMs: number): Promise<number> {
  const res = await db.deleteFrom('ref_intents').where('purpose', '=', purpose).where('created_ms', '<', beforeMs).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/**
 * Makes `to.holder` the holder of intent `id` if `fromHolder` still holds it (a compare-and-set,
 * so of two writers taking over one abandoned intent one wins): whether it did. `sha`, `actorId`
 * and `now` replace the intent's when given (a writer taking a release's claim for its own tag).
 */
export async function takeOverRefIntent(
  db: Kysely<Database>,
  id: number,
  fromHolder: string,
  to: { holder: string; sha?: string | null; actorId?: number | null; now?: number },
): Promise<boolean> {
  const res = await db
    .updateTable('ref_intents')
    .set({
      holder: to.holder,
      ...(to.sha !== undefined ? { sha: to.sha } : {}),
      ...(to.actorId !== undefined ? { actor_id: to.actorId } : {}),
      ...(to.now !== undefined ? { created_ms: to.now } : {}),
    })
    .where('id', '=', id)
    .where('holder', '=', fromHolder)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
