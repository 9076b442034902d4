/**
 * @module services/immutable-releases
 * Immutable releases, as GitHub has them (docs/immutable-releases.md): a repository setting, or
 * an organization's enforcement on all or selected repositories. A release published while it is
 * on is `immutable`: its assets and its tag are frozen, and its tag name is reserved in the
 * repository forever. Drafts stay mutable: draft, upload, then publish.
 *
 * Who may change the settings: repository administrators (the repository's), organization owners
 * and site administrators (the organization's). Others get 404 for the organization's, as for
 * its hooks.
 */
import type { AppContext } from '../context.ts';
import type { Account, ImmutableReleasesPolicy, Repository } from '../db/schema.ts';
import {
  addSelectedRepository,
  enforcedByOwner,
  orgPolicy,
  removeSelectedRepository,
  selectedRepositories,
  setOrgPolicy,
  setRepositoryImmutable,
  setSelectedRepositories,
} from '../db/repos/immutable-releases-repo.ts';
import { findRepositoryById } from '../db/repos/repositories-repo.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';
import { reservedTagsOnce } from './immutable-tags.ts';
import type { WriteReads } from './write-reads.ts';

export interface ImmutableStatus {
  enabled: boolean;
  enforced_by_owner: boolean;
}

/**
 * Whether releases published now in `repo` become immutable, and whether its owner enforces it.
 * `owner`: the repository's owner when the caller has it; a user's repositories are never
 * enforced (only organizations have a policy), so then nothing is read.
 */
export async function immutableStatus(ctx: Pick<AppContext, 'db'>, repo: Repository, owner?: Pick<Account, 'id' | 'type'>): Promise<ImmutableStatus> {
  const enforced = owner?.id === repo.owner_id && owner.type === 'User' ? false : await enforcedByOwner(ctx.db, repo);
  return { enabled: enforced || repo.immutable_releases === 1, enforced_by_owner: enforced };
}

/** `GET /repos/{owner}/{repo}/immutable-releases`: the status, or 404 when off (GitHub's answer). */
export async function checkRepositoryImmutable(ctx: AppContext, access: RepoAccess): Promise<ImmutableStatus> {
  requirePermission(access, 'admin');
  const status = await immutableStatus(ctx, access.repo);
  if (!status.enabled) throw new NotFoundError();
  return status;
}

/** `PUT`/`DELETE …/immutable-releases`. Turning it off while the owner enforces it is a 409. */
export async function setRepositoryImmutableReleases(ctx: AppContext, access: RepoAccess, enabled: boolean): Promise<void> {
  requirePermission(access, 'admin');
  if (!enabled && (await enforcedByOwner(ctx.db, access.repo))) {
    throw new ConflictError('Immutable releases are enforced by the organization and cannot be disabled for this repository.');
  }
  await setRepositoryImmutable(ctx.db, access.repo.id, enabled);
}

export async function organizationPolicy(ctx: AppContext, org: Account): Promise<{ enforced_repositories: ImmutableReleasesPolicy }> {
  return { enforced_repositories: await orgPolicy(ctx.db, org.id) };
}

const POLICIES: readonly string[] = ['all', 'none', 'selected'];

/** `PUT /orgs/{org}/settings/immutable-releases`: `enforced_repositories`, and with `selected` optionally the ids. */
export async function setOrganizationPolicy(ctx: AppContext, org: Account, body: Record<string, unknown>): Promise<void> {
  const policy = body.enforced_repositories;
  if (typeof policy !== 'string' || !POLICIES.includes(policy)) {
    throw new ValidationError([{ resource: 'ImmutableReleasesSettings', field: 'enforced_repositories', code: 'invalid' }]);
  }
  const ids = body.selected_repository_ids;
  if (ids !== undefined && policy !== 'selected') {
    throw new ValidationError([], 'selected_repository_ids can only be provided when enforced_repositories is selected');
  }
  const checked = ids === undefined ? null : await organizationRepositoryIds(ctx, org, ids);
  await setOrgPolicy(ctx.db, org.id, policy as ImmutableReleasesPolicy);
  if (checked) await setSelectedRepositories(ctx.db, org.id, checked);
}

export async function listSelectedRepositories(ctx: AppContext, org: Account): Promise<Repository[]> {
  return selectedRepositories(ctx.db, org.id);
}

/** `PUT …/repositories`: replaces the selection (the policy must be `selected`, as on GitHub). */
export async function replaceSelectedRepositories(ctx: AppContext, org: Account, body: Record<string, unknown>): Promise<void> {
  await requireSelectedPolicy(ctx, org);
  await setSelectedRepositories(ctx.db, org.id, await organizationRepositoryIds(ctx, org, body.selected_repository_ids));
}

export async function selectRepository(ctx: AppContext, org: Account, repositoryId: number, selected: boolean): Promise<void> {
  await requireSelectedPolicy(ctx, org);
  await organizationRepositoryIds(ctx, org, [repositoryId]);
  if (selected) await addSelectedRepository(ctx.db, org.id, repositoryId);
  else await removeSelectedRepository(ctx.db, org.id, repositoryId);
}

async function requireSelectedPolicy(ctx: AppContext, org: Account): Promise<void> {
  if ((await orgPolicy(ctx.db, org.id)) !== 'selected') throw new ConflictError('enforced_repositories must be selected to choose repositories.');
}

/** Checks that every id names a repository of the organization; 422 otherwise. */
async function organizationRepositoryIds(ctx: AppContext, org: Account, ids: unknown): Promise<number[]> {
  if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) {
    throw new ValidationError([{ resource: 'ImmutableReleasesSettings', field: 'selected_repository_ids', code: 'invalid' }]);
  }
  for (const id of ids as number[]) {
    const repo = await findRepositoryById(ctx.db, id);
    if (!repo || repo.owner_id !== org.id) throw new ValidationError([{ resource: 'ImmutableReleasesSettings', field: 'selected_repository_ids', code: 'invalid' }]);
  }
  return [...new Set(ids as number[])];
}

/** GitHub's 422 for a release on a tag name an immutable release has used. `reads`: the request's, shared with the refs door. */
export async function refuseReservedTag(ctx: Pick<AppContext, 'db'>, repo: Repository, tag: string, reads?: WriteReads): Promise<void> {
  if ((await reservedTagsOnce(ctx.db, repo, [tag], reads)).has(tag)) {
    throw new ValidationError([{ resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name was used by an immutable release' }]);
  }
}
