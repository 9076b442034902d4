/**
 * @module db/repos/mirrors-repo
 * SQL for pull mirrors and their conditional-request cache.
 */
import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, Mirror, MirrorsTable, Release } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

// Asked by every write to a repository (a mirror's is refused): compiled once (`db/compiled-once.ts`).
// Asked by every write to a repository (a mirror's or an imported one's is refused): compiled once.
const readOnlySources = compiledOnce('wharf_read_only_sources_of_repository', (db, repositoryId: number) =>
  db
    .selectFrom('repositories')
    .leftJoin('mirrors', 'mirrors.repository_id', 'repositories.id')
    .leftJoin('bundle_origins', 'bundle_origins.repository_id', 'repositories.id')
    .select(['mirrors.upstream_url', 'bundle_origins.origin_repository', 'bundle_origins.origin_instance'])
    .where('repositories.id', '=', repositoryId),
);
const mirrorOfRepository = compiledOnce('wharf_mirror_of_repository', (db, repositoryId: number) => db.selectFrom('mirrors').selectAll().where('repository_id', '=', repositoryId));

export async function insertMirror(db: Kysely<Database>, row: Insertable<MirrorsTable>): Promise<Mirror> {
  return db.insertInto('mirrors').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findMirrorOfRepository(db: Kysely<Database>, repositoryId: number): Promise<Mirror | undefined> {
  return (await mirrorOfRepository(db, repositoryId)).rows[0];
}

/** Whether a repository follows an upstream (a pull mirror) or an origin (imported bundles); each null when it does not. */
export interface ReadOnlySources {
  upstream_url: string | null;
  origin_repository: string | null;
  origin_instance: string | null;
}

/**
 * Whether anything but its own sync or import writes the repository, in one statement: the
 * upstream of its pull mirror and the origin of its imported bundles (each null when it has none).
 */
export async function findReadOnlySources(db: Kysely<Database>, repositoryId: number): Promise<ReadOnlySources | undefined> {
  return (await readOnlySources(db, repositoryId)).rows[0];
}

export async function findMirror(db: Kysely<Database>, id: number): Promise<Mirror | undefined> {
  return db.selectFrom('mirrors').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every mirror with its repository's owner and name, oldest first. */
export async function listMirrorsWithNames(db: Kysely<Database>): Promise<Array<Mirror & { owner_login: string; repo_name: string }>> {
  return db
    .selectFrom('mirrors')
    .innerJoin('repositories', 'repositories.id', 'mirrors.repository_id')
    .innerJoin('accounts', 'accounts.id', 'repositories.owner_id')
    .selectAll('mirrors')
    .select(['accounts.login as owner_login', 'repositories.name as repo_name'])
    .orderBy('mirrors.id')
    .execute();
}

/** Mirrors whose next sync is due at `now` (epoch ms), soonest first. */
export async function dueMirrors(db: Kysely<Database>, now: number, limit: number): Promise<Mirror[]> {
  return db.selectFrom('mirrors').selectAll().where('next_sync_ms', '<=', now).orderBy('next_sync_ms').limit(limit).execute();
}

export async function updateMirror(db: Kysely<Database>, id: number, patch: Updateable<MirrorsTable>): Promise<Mirror | undefined> {
  return db.updateTable('mirrors').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteMirrorRow(db: Kysely<Database>, repositoryId: number): Promise<boolean> {
  const res = await db.deleteFrom('mirrors').where('repository_id', '=', repositoryId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function cachedAnswer(db: Kysely<Database>, mirrorId: number, url: string): Promise<{ etag: string; body: string } | undefined> {
  return db.selectFrom('mirror_http_cache').select(['etag', 'body']).where('mirror_id', '=', mirrorId).where('url', '=', url).executeTakeFirst();
}

export async function rememberAnswer(db: Kysely<Database>, mirrorId: number, url: string, etag: string, body: string): Promise<void> {
  await db
    .insertInto('mirror_http_cache')
    .values({ mirror_id: mirrorId, url, etag, body })
    .onConflict((oc) => oc.columns(['mirror_id', 'url']).doUpdateSet({ etag, body }))
    .execute();
}

export async function forgetAnswers(db: Kysely<Database>, mirrorId: number): Promise<void> {
  await db.deleteFrom('mirror_http_cache').where('mirror_id', '=', mirrorId).execute();
}

/** Every release of a repository, drafts included (a mirror's sync compares them all). */
export async function releasesOfRepository(db: Kysely<Database>, repositoryId: number): Promise<Release[]> {
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).orderBy('id').execute();
}

export async function countReleasesOfRepository(db: Kysely<Database>, repositoryId: number): Promise<number> {
  const row = await db
    .selectFrom('releases')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('repository_id', '=', repositoryId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
