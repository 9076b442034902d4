/**
 * @module services/repositories
 * Repositories: a database row plus a bare git repository. Also the access check every
 * repository-scoped route goes through: a repository the caller may not see is "Not Found".
 */
import { bodyMembers } from '../domain/request-body.ts';
import { rm } from 'node:fs/promises';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Permission, Repository } from '../db/schema.ts';
import type { ReadOnlySources } from '../db/repos/mirrors-repo.ts';
import { findAccountById, findAccountByLogin, findOrgRole, listAdministeredOrganizations } from '../db/repos/accounts-repo.ts';
import { deleteRepository, findRepository, findRepositoryById, insertRepository, updateRepository } from '../db/repos/repositories-repo.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { isoSeconds } from '../util/time.ts';
import { isUniqueViolation } from './db-errors.ts';
import { isValidRepositoryName } from './names.ts';
import { actsAsSiteAdmin, requireScope } from './oauth-scopes.ts';
import { actorOf, actorOrSystem, auditRepo, recordAudit } from './audit.ts';
import { atLeast, effectivePermission } from './permissions.ts';
import { createRef } from './refs.ts';
import type { Principal } from './tokens.ts';

export interface RepoAccess {
  owner: Account;
  repo: Repository;
  /** The caller's effective permission (at least `pull`, or the repository would be Not Found). */
  permission: Permission;
  principal: Principal | null;
  /** Set by a pull mirror's sync and a bundle import only: they may write a read-only repository's releases (services/mirror-guard.ts). */
  viaMirror?: boolean;
  /** Whether the repository follows an upstream or an origin, when read with the access (else the mirror guard reads it). */
  readOnly?: ReadOnlySources;
}

/** Finds a repository the caller can see, or throws NotFound (never revealing that it exists). */
export async function getRepoAccess(ctx: AppContext, principal: Principal | null, ownerLogin: string, name: string): Promise<RepoAccess> {
  const owner = await findAccountByLogin(ctx.db, ownerLogin);
  if (!owner) throw new NotFoundError();
  const repo = await findRepository(ctx.db, owner.id, name.replace(/\.git$/i, ''));
  if (!repo) throw new NotFoundError();
  const permission = await effectivePermission(ctx.db, principal, repo, owner);
  if (!permission) throw new NotFoundError();
  return { owner, repo, permission, principal };
}

/**
 * `getRepoAccess` for a repository and owner already read (with the generations, for a write:
 * `http/cached-reads.ts`), carrying the repository's read-only sources read with them.
 */
export async function accessToWriteTarget(
  ctx: AppContext,
  principal: Principal | null,
  target: { owner: Account; repo: Repository; readOnly: ReadOnlySources },
): Promise<RepoAccess> {
  const { owner, repo, readOnly } = target;
  const permission = await effectivePermission(ctx.db, principal, repo, owner);
  if (!permission) throw new NotFoundError();
  return { owner, repo, permission, principal, readOnly };
}

/** Like `getRepoAccess`, for a repository named by its id (GraphQL node ids). */
export async function getRepoAccessById(ctx: AppContext, principal: Principal | null, id: number): Promise<RepoAccess> {
  const repo = await findRepositoryById(ctx.db, id);
  const owner = repo && (await findAccountById(ctx.db, repo.owner_id));
  if (!repo || !owner) throw new NotFoundError();
  const permission = await effectivePermission(ctx.db, principal, repo, owner);
  if (!permission) throw new NotFoundError();
  return { owner, repo, permission, principal };
}

/** Throws unless the caller holds `need`: 401 for anonymous callers, 403 for the others. */
export function requirePermission(access: RepoAccess, need: Permission): void {
  if (atLeast(access.permission, need)) return;
  if (!access.principal) throw new UnauthorizedError();
  throw new ForbiddenError(need === 'admin' ? 'Must have admin rights to Repository.' : `Must have ${need} access to repository.`);
}

export interface CreateRepositoryInput {
  name: unknown;
  description?: unknown;
  homepage?: unknown;
  private?: unknown;
  visibility?: unknown;
  auto_init?: unknown;
  default_branch?: unknown;
}

function optionalString(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError([{ resource: 'Repository', field, code: 'invalid' }]);
  return value;
}

function optionalBool(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ValidationError([{ resource: 'Repository', field, code: 'invalid' }]);
  return value;
}

/**
 * Creates a repository for `owner` on behalf of `caller`. A private repository needs the `repo`
 * scope (`public_repo` reaches public repositories only, so such a token could create a
 * repository it could then not even read).
 */
export async function createRepository(ctx: AppContext, owner: Account, caller: Principal, input: CreateRepositoryInput): Promise<Repository> {
  const creator = caller.user;
  if (input.name === undefined || input.name === null || input.name === '') {
    throw new ValidationError([{ resource: 'Repository', field: 'name', code: 'missing_field' }]);
  }
  if (!isValidRepositoryName(input.name)) {
    throw new ValidationError([{ resource: 'Repository', field: 'name', code: 'invalid', message: 'name is invalid' }]);
  }
  const description = optionalString(input.description, 'description');
  const homepage = optionalString(input.homepage, 'homepage');
  let isPrivate = optionalBool(input.private, 'private') ?? false;
  if (input.visibility !== undefined) {
    if (input.visibility !== 'public' && input.visibility !== 'private' && input.visibility !== 'internal') {
      throw new ValidationError([{ resource: 'Repository', field: 'visibility', code: 'invalid' }]);
    }
    isPrivate = input.visibility !== 'public';
  }
  if (isPrivate) requireScope(caller, 'repo');
  const autoInit = optionalBool(input.auto_init, 'auto_init') ?? false;
  const defaultBranch = optionalString(input.default_branch, 'default_branch') ?? 'main';
  if (!(await git.isValidBranchName(defaultBranch))) {
    throw new ValidationError([{ resource: 'Repository', field: 'default_branch', code: 'invalid' }]);
  }

  let repo: Repository;
  try {
    repo = await insertRepository(ctx.db, { ownerId: owner.id, name: input.name, description, homepage, private: isPrivate, defaultBranch, now: isoSeconds() });
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ValidationError([{ resource: 'Repository', field: 'name', code: 'custom', message: 'name already exists on this account' }]);
    }
    throw err;
  }
  // The row exists first so the name is claimed; if git fails, the row goes again.
  const gitDir = gitDirFor(ctx, repo);
  try {
    git.stopResidentGit(gitDir);
    await rm(gitDir, { recursive: true, force: true });
    await git.initBare(gitDir, defaultBranch);
    if (autoInit) {
      const readme = `# ${repo.name}\n${description ? `\n${description}\n` : ''}`;
      const commit = await git.writeInitialCommit(
        gitDir,
        { 'README.md': readme },
        { name: creator.name ?? creator.login, email: creator.email ?? `${creator.login}@users.noreply.wharf` },
        'Initial commit',
      );
      await createRef(ctx, repo, `refs/heads/${defaultBranch}`, commit, { user: creator, via: 'repository' });
      repo = (await findRepositoryById(ctx.db, repo.id))!;
    }
  } catch (err) {
    await deleteRepository(ctx.db, repo.id);
    git.stopResidentGit(gitDir);
    await rm(gitDir, { recursive: true, force: true });
    throw err;
  }
  // Recorded once the repository exists in full (row and git), as the last step of creating it.
  await recordAudit(ctx.db, { action: 'repo.create', actor: actorOf(caller), repo: auditRepo(owner, repo), data: { visibility: repo.private ? 'private' : 'public' } });
  return repo;
}

/**
 * Who may create repositories in an organization: its admins (and site admins); members get 403,
 * others 404. Checked before the request body is read.
 */
export async function requireOrgRepositoryCreator(ctx: AppContext, org: Account, caller: Principal): Promise<void> {
  if (org.type !== 'Organization') throw new NotFoundError();
  const role = actsAsSiteAdmin(caller) ? 'admin' : await findOrgRole(ctx.db, org.id, caller.user.id);
  if (!role) throw new NotFoundError();
  if (role !== 'admin') throw new ForbiddenError('You need admin access to the organization to create repositories.');
}

/** The owners a caller may create repositories for: themselves, then the organizations they administer. */
export async function repositoryOwnersFor(ctx: AppContext, caller: Principal): Promise<Account[]> {
  return [caller.user, ...(await listAdministeredOrganizations(ctx.db, caller.user.id))];
}

export interface UpdateRepositoryInput {
  name?: unknown;
  description?: unknown;
  homepage?: unknown;
  private?: unknown;
  visibility?: unknown;
  default_branch?: unknown;
}

export async function updateRepositorySettings(ctx: AppContext, access: RepoAccess, body: unknown): Promise<Repository> {
  requirePermission(access, 'admin');
  const input: UpdateRepositoryInput = bodyMembers(body);
  const update: Parameters<typeof updateRepository>[2] = {};
  if (input.name !== undefined) {
    if (!isValidRepositoryName(input.name)) throw new ValidationError([{ resource: 'Repository', field: 'name', code: 'invalid' }]);
    update.name = input.name;
  }
  if (input.description !== undefined) update.description = optionalString(input.description, 'description');
  if (input.homepage !== undefined) update.homepage = optionalString(input.homepage, 'homepage');
  const priv = optionalBool(input.private, 'private');
  if (priv !== undefined) update.private = priv ? 1 : 0;
  if (input.visibility !== undefined) {
    if (input.visibility !== 'public' && input.visibility !== 'private' && input.visibility !== 'internal') {
      throw new ValidationError([{ resource: 'Repository', field: 'visibility', code: 'invalid' }]);
    }
    update.private = input.visibility === 'public' ? 0 : 1;
  }
  // Making a repository private takes it out of a `public_repo` token's reach: only `repo` may.
  if (update.private === 1 && access.principal) requireScope(access.principal, 'repo');
  if (input.default_branch !== undefined) {
    const branch = optionalString(input.default_branch, 'default_branch');
    if (!branch || !(await git.resolveCommit(gitDirFor(ctx, access.repo), `refs/heads/${branch}`))) {
      throw new ValidationError([{ resource: 'Repository', field: 'default_branch', code: 'invalid' }]);
    }
    await git.setHead(gitDirFor(ctx, access.repo), branch);
    update.default_branch = branch;
  }
  update.updated_at = isoSeconds();
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const updated = await updateRepository(trx, access.repo.id, update);
      const actor = actorOrSystem(access.principal);
      const repo = auditRepo(access.owner, updated);
      if (updated.private !== access.repo.private) {
        // GitHub's `repo.access`: the visibility changed.
        const visibility = (priv: number) => (priv ? 'private' : 'public');
        await recordAudit(trx, { action: 'repo.access', actor, repo, data: { visibility: visibility(updated.private), previous_visibility: visibility(access.repo.private) } });
      }
      if (updated.name !== access.repo.name) await recordAudit(trx, { action: 'repo.rename', actor, repo, data: { old_name: `${access.owner.login}/${access.repo.name}` } });
      return updated;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ValidationError([{ resource: 'Repository', field: 'name', code: 'custom', message: 'name already exists on this account' }]);
    throw err;
  }
}

/** Deletes the row (releases and assets cascade) and the bare repository; orphaned blobs go to the sweeper. */
export async function deleteRepositoryAndData(ctx: AppContext, access: RepoAccess): Promise<void> {
  requirePermission(access, 'admin');
  // Also in the route table; a site administrator needs the scope as much as anyone.
  if (access.principal) requireScope(access.principal, 'delete_repo');
  await ctx.db.transaction().execute(async (trx) => {
    await deleteRepository(trx, access.repo.id);
    await recordAudit(trx, { action: 'repo.destroy', actor: actorOrSystem(access.principal), repo: auditRepo(access.owner, access.repo) });
  });
  git.stopResidentGit(gitDirFor(ctx, access.repo));
  await rm(gitDirFor(ctx, access.repo), { recursive: true, force: true });
}
