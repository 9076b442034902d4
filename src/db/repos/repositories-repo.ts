/**
 * @module db/repos/repositories-repo
 * SQL for repositories and collaborators. Uniqueness of `owner/name` (case-insensitive) is the
 * `repositories_owner_name_unique` constraint, never a check in process memory.
 */
import type { Kysely } from 'kysely';
import type { Account, Database, Permission, Repository, RepositoryUpdate } from '../schema.ts';
import { compiledOnce, firstRowOrThrow } from '../compiled-once.ts';
import { takesRowLocks } from '../row-locks.ts';

// Made by (nearly) every request that names a repository, and by every release's creation: compiled once (`db/compiled-once.ts`).
const repositoryByName = compiledOnce('wharf_repository_by_name', (db, ownerId: number, nameLower: string) =>
  db.selectFrom('repositories').selectAll().where('owner_id', '=', ownerId).where('name_lower', '=', nameLower),
);
const repositoryById = compiledOnce('wharf_repository_by_id', (db, id: number) => db.selectFrom('repositories').selectAll().where('id', '=', id));
const updateRepositoryRow = compiledOnce('wharf_update_repository', (db, id: number, update: RepositoryUpdate) =>
  db.updateTable('repositories').set(update).where('id', '=', id).returningAll(),
);

export async function findRepository(db: Kysely<Database>, ownerId: number, name: string): Promise<Repository | undefined> {
  return (await repositoryByName(db, ownerId, name.toLowerCase())).rows[0];
}

export async function findRepositoryById(db: Kysely<Database>, id: number): Promise<Repository | undefined> {
  return (await repositoryById(db, id)).rows[0];
}

/**
 * Locks the repository's row until the end of `trx` (`FOR NO KEY UPDATE` on PostgreSQL; nothing
 * to take on SQLite, see `db/row-locks.ts`), for a transaction that writes rows of the repository
 * (releases, their tag, attestations) and may then update the repository itself (its latest
 * release): the parent is locked before its children, as every such transaction takes them.
 */
export async function lockRepositoryRow(trx: Kysely<Database>, id: number): Promise<void> {
  if (!takesRowLocks(trx)) return;
  await trx.selectFrom('repositories').select('id').where('id', '=', id).forNoKeyUpdate().execute();
}

export interface NewRepositoryRow {
  ownerId: number;
  name: string;
  description: string | null;
  homepage: string | null;
  private: boolean;
  defaultBranch: string;
  now: string;
}

export async function insertRepository(db: Kysely<Database>, row: NewRepositoryRow): Promise<Repository> {
  return db
    .insertInto('repositories')
    .values({
      owner_id: row.ownerId,
      name: row.name,
      name_lower: row.name.toLowerCase(),
      description: row.description,
      homepage: row.homepage,
      private: row.private ? 1 : 0,
      default_branch: row.defaultBranch,
      latest_release_id: null,
      created_at: row.now,
      updated_at: row.now,
      pushed_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateRepository(db: Kysely<Database>, id: number, update: RepositoryUpdate): Promise<Repository> {
  if (update.name !== undefined) update.name_lower = update.name.toLowerCase();
  return firstRowOrThrow(await updateRepositoryRow(db, id, update));
}

/**
 * Deletes the repository's rows, parents before children as every transaction takes them
 * (repository, release, asset): the repository's row locked first, then its releases (each
 * cascading to its assets), then what is left. Assets first could deadlock on PostgreSQL against an
 * upload's last step, which locks the release and then the asset.
 */
export async function deleteRepository(db: Kysely<Database>, id: number): Promise<void> {
  await lockRepositoryRow(db, id);
  await db.deleteFrom('releases').where('repository_id', '=', id).execute();
  await db.deleteFrom('assets').where('repository_id', '=', id).execute();
  await db.deleteFrom('collaborators').where('repository_id', '=', id).execute();
  await db.deleteFrom('repositories').where('id', '=', id).execute();
}

export interface RepositoryListFilter {
  ownerId?: number;
  /** Include private repositories only when the viewer can read them. */
  viewerId: number | null;
  viewerIsSiteAdmin: boolean;
  /** The viewer's token reaches private repositories (scope `repo`); without it only public ones are listed. */
  viewerReadsPrivate: boolean;
  /** Only repositories the viewer owns, collaborates on, or reaches through an org (GET /user/repos). */
  affiliatedOnly?: boolean;
  visibility?: 'all' | 'public' | 'private';
}

/**
 * Repositories visible to a viewer, sorted by name (case-insensitively), with a total for paging.
 * Visibility: public ones, or private ones the viewer owns, collaborates on, or belongs to the owning org of.
 */
export async function listRepositories(
  db: Kysely<Database>,
  filter: RepositoryListFilter,
  limit: number,
  offset: number,
): Promise<{ rows: Array<Repository & { owner_login: string }>; total: number }> {
  let q = db.selectFrom('repositories').innerJoin('accounts as owner', 'owner.id', 'repositories.owner_id');
  if (filter.ownerId !== undefined) q = q.where('repositories.owner_id', '=', filter.ownerId);
  if (filter.visibility === 'public') q = q.where('repositories.private', '=', 0);
  if (filter.visibility === 'private') q = q.where('repositories.private', '=', 1);
  if (!filter.viewerReadsPrivate) q = q.where('repositories.private', '=', 0);
  const viewerId = filter.viewerId;
  if (filter.affiliatedOnly && viewerId !== null) {
    q = q.where((eb) =>
      eb.or([
        eb('repositories.owner_id', '=', viewerId),
        eb.exists(eb.selectFrom('collaborators').select('user_id').whereRef('collaborators.repository_id', '=', 'repositories.id').where('collaborators.user_id', '=', viewerId)),
        eb.exists(eb.selectFrom('org_members').select('user_id').whereRef('org_members.org_id', '=', 'repositories.owner_id').where('org_members.user_id', '=', viewerId)),
      ]),
    );
  } else if (!filter.viewerIsSiteAdmin) {
    q = q.where((eb) => {
      const visible = [eb('repositories.private', '=', 0)];
      if (viewerId !== null) {
        visible.push(
          eb('repositories.owner_id', '=', viewerId),
          eb.exists(eb.selectFrom('collaborators').select('user_id').whereRef('collaborators.repository_id', '=', 'repositories.id').where('collaborators.user_id', '=', viewerId)),
          eb.exists(eb.selectFrom('org_members').select('user_id').whereRef('org_members.org_id', '=', 'repositories.owner_id').where('org_members.user_id', '=', viewerId)),
        );
      }
      return eb.or(visible);
    });
  }
  const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await q
    .selectAll('repositories')
    .select('owner.login as owner_login')
    .orderBy('owner.login_lower')
    .orderBy('repositories.name_lower')
    .limit(limit)
    .offset(offset)
    .execute();
  return { rows, total: Number(totalRow?.n ?? 0) };
}

export async function countRepositories(db: Kysely<Database>, ownerId: number, privateOnly: boolean): Promise<number> {
  const row = await db
    .selectFrom('repositories')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner_id', '=', ownerId)
    .where('private', '=', privateOnly ? 1 : 0)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function findCollaboratorPermission(db: Kysely<Database>, repositoryId: number, userId: number): Promise<Permission | null> {
  const row = await db.selectFrom('collaborators').select('permission').where('repository_id', '=', repositoryId).where('user_id', '=', userId).executeTakeFirst();
  return row?.permission ?? null;
}

/** A viewer's roles on repositories: membership of the owning org and direct collaboration. */
export interface ViewerRoles {
  orgRole: 'admin' | 'member' | null;
  collaborator: Permission | null;
}

/** The viewer's roles on each of these repositories, in one query (lists check many at once). */
export async function findViewerRoles(db: Kysely<Database>, viewerId: number, repositoryIds: number[]): Promise<Map<number, ViewerRoles>> {
  const ids = [...new Set(repositoryIds)];
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('repositories')
    .leftJoin('collaborators', (join) => join.onRef('collaborators.repository_id', '=', 'repositories.id').on('collaborators.user_id', '=', viewerId))
    .leftJoin('org_members', (join) => join.onRef('org_members.org_id', '=', 'repositories.owner_id').on('org_members.user_id', '=', viewerId))
    .select(['repositories.id as id', 'collaborators.permission as collaborator', 'org_members.role as orgRole'])
    .where('repositories.id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, { orgRole: r.orgRole ?? null, collaborator: r.collaborator ?? null }]));
}

export async function upsertCollaborator(db: Kysely<Database>, repositoryId: number, userId: number, permission: Permission, now: string): Promise<'created' | 'updated'> {
  const existing = await findCollaboratorPermission(db, repositoryId, userId);
  await db
    .insertInto('collaborators')
    .values({ repository_id: repositoryId, user_id: userId, permission, created_at: now })
    .onConflict((oc) => oc.columns(['repository_id', 'user_id']).doUpdateSet({ permission }))
    .execute();
  return existing ? 'updated' : 'created';
}

export async function removeCollaborator(db: Kysely<Database>, repositoryId: number, userId: number): Promise<void> {
  await db.deleteFrom('collaborators').where('repository_id', '=', repositoryId).where('user_id', '=', userId).execute();
}

export async function listCollaborators(db: Kysely<Database>, repositoryId: number): Promise<Array<{ account: Account; permission: Permission }>> {
  const rows = await db
    .selectFrom('collaborators')
    .innerJoin('accounts', 'accounts.id', 'collaborators.user_id')
    .selectAll('accounts')
    .select('collaborators.permission')
    .where('collaborators.repository_id', '=', repositoryId)
    .orderBy('accounts.login_lower')
    .execute();
  return rows.map(({ permission, ...account }) => ({ account, permission }));
}
