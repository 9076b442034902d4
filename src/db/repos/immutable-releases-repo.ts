/**
 * @module db/repos/immutable-releases-repo
 * SQL for the immutable-release settings (repository and organization) and the tag names
 * immutable releases have reserved.
 */
import type { Kysely } from 'kysely';
import type { Database, ImmutableReleasesPolicy, Repository } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

// Asked by every release's creation and publication: compiled once (`db/compiled-once.ts`).
const policyOfOrg = compiledOnce('wharf_immutable_policy_of_org', (db, orgId: number) => db.selectFrom('immutable_release_policies').select('policy').where('org_id', '=', orgId));
const reservedAmong = compiledOnce('wharf_reserved_tags_among', (db, ownerId: number, nameLower: string, tags: string[]) =>
  db.selectFrom('immutable_tags').select('tag').where('owner_id', '=', ownerId).where('repository_name_lower', '=', nameLower).where('tag', 'in', tags),
);
const selectedByOrg = compiledOnce('wharf_immutable_selected_repository', (db, orgId: number, repositoryId: number) =>
  db.selectFrom('immutable_release_repositories').select('repository_id').where('org_id', '=', orgId).where('repository_id', '=', repositoryId),
);

export async function setRepositoryImmutable(db: Kysely<Database>, repositoryId: number, enabled: boolean): Promise<void> {
  await db
    .updateTable('repositories')
    .set({ immutable_releases: enabled ? 1 : 0 })
    .where('id', '=', repositoryId)
    .execute();
}

/** Whether the repository's owner (an organization; users have no policy row) enforces immutable releases on it. */
export async function enforcedByOwner(db: Kysely<Database>, repo: Pick<Repository, 'id' | 'owner_id'>): Promise<boolean> {
  const policy = await orgPolicy(db, repo.owner_id);
  if (policy === 'all') return true;
  if (policy !== 'selected') return false;
  return (await selectedByOrg(db, repo.owner_id, repo.id)).rows.length > 0;
}

export async function orgPolicy(db: Kysely<Database>, orgId: number): Promise<ImmutableReleasesPolicy> {
  const [row] = (await policyOfOrg(db, orgId)).rows;
  return row?.policy ?? 'none';
}

export async function setOrgPolicy(db: Kysely<Database>, orgId: number, policy: ImmutableReleasesPolicy): Promise<void> {
  await db
    .insertInto('immutable_release_policies')
    .values({ org_id: orgId, policy })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ policy }))
    .execute();
}

export async function selectedRepositories(db: Kysely<Database>, orgId: number): Promise<Repository[]> {
  return db
    .selectFrom('immutable_release_repositories')
    .innerJoin('repositories', 'repositories.id', 'immutable_release_repositories.repository_id')
    .selectAll('repositories')
    .where('immutable_release_repositories.org_id', '=', orgId)
    .orderBy('repositories.id')
    .execute();
}

/** Replaces the selected repositories (`ids` already checked to be the organization's). */
export async function setSelectedRepositories(db: Kysely<Database>, orgId: number, ids: readonly number[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('immutable_release_repositories').where('org_id', '=', orgId).execute();
    if (ids.length) {
      await trx
        .insertInto('immutable_release_repositories')
        .values(ids.map((repository_id) => ({ org_id: orgId, repository_id })))
        .execute();
    }
  });
}

export async function addSelectedRepository(db: Kysely<Database>, orgId: number, repositoryId: number): Promise<void> {
  await db
    .insertInto('immutable_release_repositories')
    .values({ org_id: orgId, repository_id: repositoryId })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function removeSelectedRepository(db: Kysely<Database>, orgId: number, repositoryId: number): Promise<void> {
  await db.deleteFrom('immutable_release_repositories').where('org_id', '=', orgId).where('repository_id', '=', repositoryId).execute();
}

/** Reserves `tag` in the repository for good (idempotent). */
export async function reserveTag(db: Kysely<Database>, repo: Pick<Repository, 'owner_id' | 'name_lower'>, tag: string): Promise<void> {
  await db
    .insertInto('immutable_tags')
    .values({ owner_id: repo.owner_id, repository_name_lower: repo.name_lower, tag })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Which of `tags` immutable releases have used in the repository. */
export async function reservedTags(db: Kysely<Database>, repo: Pick<Repository, 'owner_id' | 'name_lower'>, tags: readonly string[]): Promise<Set<string>> {
  if (tags.length === 0) return new Set();
  const { rows } = await reservedAmong(db, repo.owner_id, repo.name_lower, [...tags]);
  return new Set(rows.map((r) => r.tag));
}

/** Which of `tags` a published immutable release of the repository has now. */
export async function immutableReleaseTags(db: Kysely<Database>, repositoryId: number, tags: readonly string[]): Promise<Set<string>> {
  if (tags.length === 0) return new Set();
  const rows = await db
    .selectFrom('releases')
    .select('published_tag')
    .where('repository_id', '=', repositoryId)
    .where('immutable', '=', 1)
    .where('published_tag', 'in', [...tags])
    .execute();
  return new Set(rows.map((r) => r.published_tag!));
}
