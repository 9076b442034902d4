/**
 * @module services/repository-lists
 * Lists of repositories as a caller may see them (`GET /user/repos`, `/users/{u}/repos`,
 * `/orgs/{o}/repos` and the owner page `/{owner}`): the visibility rules of `listRepositories`,
 * each repository's owner and, for a signed-in caller, its permission — a fixed number of queries
 * per page (the page, the owners, the permissions), not one per repository.
 */
import type { AppContext } from '../context.ts';
import { findAccountsByIds } from '../db/repos/accounts-repo.ts';
import { countRepositories, listRepositories, type RepositoryListFilter } from '../db/repos/repositories-repo.ts';
import type { Account, Permission, Repository } from '../db/schema.ts';
import type { Page } from '../domain/page.ts';
import { effectivePermissions, repositoryListViewer } from './permissions.ts';
import type { Principal } from './tokens.ts';

export interface ListedRepository {
  owner: Account;
  repo: Repository;
  /** The caller's permission; undefined for anonymous callers (GitHub then omits `permissions`). */
  permission: Permission | null | undefined;
}

export interface RepositoryListQuery {
  /** Only this owner's repositories. */
  ownerId?: number;
  /** Only those the caller owns, collaborates on or reaches through an org (`GET /user/repos`). */
  affiliatedOnly?: boolean;
  visibility?: 'all' | 'public' | 'private';
}

/** One page of the repositories `principal` may see, sorted by owner and name, with the total. */
export async function listVisibleRepositories(
  ctx: AppContext,
  principal: Principal | null,
  query: RepositoryListQuery,
  page: Pick<Page, 'perPage' | 'offset'>,
): Promise<{ items: ListedRepository[]; total: number }> {
  const viewer = repositoryListViewer(principal);
  // GitHub lists only the caller's own affiliations on `/user/repos`, site admin or not.
  const filter: RepositoryListFilter = { ...viewer, ...(query.affiliatedOnly ? { viewerIsSiteAdmin: false } : {}), ...query };
  const { rows, total } = await listRepositories(ctx.db, filter, page.perPage, page.offset);
  const repos: Repository[] = rows.map(({ owner_login: _ownerLogin, ...repo }) => repo);
  const owners = await findAccountsByIds(
    ctx.db,
    repos.map((r) => r.owner_id),
  );
  const entries = repos.map((repo) => ({ repo, owner: owners.get(repo.owner_id)! }));
  const permissions = principal ? await effectivePermissions(ctx.db, principal, entries) : null;
  const items = entries.map(({ repo, owner }) => ({ owner, repo, permission: permissions ? (permissions.get(repo.id) ?? null) : undefined }));
  return { items, total };
}

/** How many public (or private) repositories an account owns. */
export function countOwnedRepositories(ctx: AppContext, ownerId: number, privateOnly: boolean): Promise<number> {
  return countRepositories(ctx.db, ownerId, privateOnly);
}
