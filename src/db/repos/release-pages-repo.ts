/**
 * @module db/repos/release-pages-repo
 * Release lookups only the web pages need: a draft by its `untagged-…` key, and the newest
 * published releases of public repositories across the instance (the home page).
 */
import type { Kysely } from 'kysely';
import type { Database, Release } from '../schema.ts';

export async function findReleaseByUntaggedKey(db: Kysely<Database>, repositoryId: number, key: string): Promise<Release | undefined> {
  return db.selectFrom('releases').selectAll().where('repository_id', '=', repositoryId).where('untagged_key', '=', key).executeTakeFirst();
}

export interface PublicReleaseRow {
  release: Release;
  ownerLogin: string;
  repoName: string;
}

/** Newest first by publication; one query whatever the limit. */
export async function listRecentPublicReleases(db: Kysely<Database>, limit: number): Promise<PublicReleaseRow[]> {
  const rows = await db
    .selectFrom('releases')
    .innerJoin('repositories', 'repositories.id', 'releases.repository_id')
    .innerJoin('accounts', 'accounts.id', 'repositories.owner_id')
    .selectAll('releases')
    .select(['accounts.login as owner_login', 'repositories.name as repo_name'])
    .where('repositories.private', '=', 0)
    .where('releases.draft', '=', 0)
    .orderBy('releases.published_at', 'desc')
    .orderBy('releases.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(({ owner_login, repo_name, ...release }) => ({ release, ownerLogin: owner_login, repoName: repo_name }));
}
