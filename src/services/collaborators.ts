/**
 * @module services/collaborators
 * A repository's collaborators: who may list and check them, add, change and remove them, and
 * what permission a user holds. The access rules follow GitHub's descriptions of the endpoints
 * (GHES 3.19; the table in `test/reliability/authorization-matrix.test.ts` quotes them):
 * - list: "write, maintain, or admin privileges" (others 403, as github.com answers);
 * - check one user: "must have push access" (others 404: the endpoint answers only 204 or 404);
 * - add or change: admin;
 * - remove: "an administrator of the repository or target themselves for removal";
 * - a user's permission: anyone who can see the repository.
 * Anonymous callers are asked to authenticate (401) where a signed-in caller would be refused.
 */
import type { AppContext } from '../context.ts';
import type { Account, Permission } from '../db/schema.ts';
import { findAccountByLogin } from '../db/repos/accounts-repo.ts';
import { findCollaboratorPermission, listCollaborators, removeCollaborator as deleteCollaboratorRow, upsertCollaborator } from '../db/repos/repositories-repo.ts';
import { bodyMembers } from '../domain/request-body.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { actorOrSystem, auditRepo, recordAudit } from './audit.ts';
import { atLeast, userPermission } from './permissions.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';

export interface Collaborator {
  account: Account;
  permission: Permission;
}

const PERMISSIONS: Permission[] = ['pull', 'triage', 'push', 'maintain', 'admin'];

/** GitHub also accepts the older role names when adding a collaborator; no value means push. */
function parsePermission(value: unknown): Permission | null {
  if (value === undefined || value === null) return 'push';
  if (value === 'read') return 'pull';
  if (value === 'write') return 'push';
  return PERMISSIONS.includes(value as Permission) ? (value as Permission) : null;
}

/** A user by login; organisations and unknown names are not users that can collaborate. */
async function findUser(ctx: AppContext, login: string): Promise<Account> {
  const user = await findAccountByLogin(ctx.db, login);
  if (!user || user.type !== 'User') throw new NotFoundError();
  return user;
}

/** The owner (of a user-owned repository) first, as admin, then the collaborators. */
export async function listRepositoryCollaborators(ctx: AppContext, access: RepoAccess): Promise<Collaborator[]> {
  if (!atLeast(access.permission, 'push')) {
    if (!access.principal) throw new UnauthorizedError();
    throw new ForbiddenError('Must have push access to view repository collaborators.');
  }
  const owner: Collaborator[] = access.owner.type === 'User' ? [{ account: access.owner, permission: 'admin' }] : [];
  return [...owner, ...(await listCollaborators(ctx.db, access.repo.id))];
}

/** Passes when `login` is a collaborator (or the owner); NotFound otherwise, and to callers without push access. */
export async function checkCollaborator(ctx: AppContext, access: RepoAccess, login: string): Promise<void> {
  if (!atLeast(access.permission, 'push')) {
    if (!access.principal) throw new UnauthorizedError();
    throw new NotFoundError();
  }
  const user = await findUser(ctx, login);
  if (user.id === access.owner.id) return;
  if (!(await findCollaboratorPermission(ctx.db, access.repo.id, user.id))) throw new NotFoundError();
}

/** What `login` may do on the repository, as a role (null: nothing). */
export async function permissionOfUser(ctx: AppContext, access: RepoAccess, login: string): Promise<{ user: Account; permission: Permission | null }> {
  const user = await findUser(ctx, login);
  return { user, permission: await userPermission(ctx.db, user, access.repo, access.owner) };
}

/** Adds a collaborator or changes their permission (directly: Wharf has no invitations). */
export async function addCollaborator(ctx: AppContext, access: RepoAccess, login: string, body: unknown): Promise<void> {
  requirePermission(access, 'admin');
  const user = await findUser(ctx, login);
  const permission = parsePermission(bodyMembers(body).permission);
  if (!permission) throw new ValidationError([{ resource: 'Repository', field: 'permission', code: 'invalid' }]);
  if (user.id === access.owner.id) {
    throw new ValidationError([{ resource: 'Repository', field: 'collaborator', code: 'custom', message: 'Repository owner cannot be a collaborator' }]);
  }
  await ctx.db.transaction().execute(async (trx) => {
    const before = await findCollaboratorPermission(trx, access.repo.id, user.id);
    if (before === permission) return;
    await upsertCollaborator(trx, access.repo.id, user.id, permission, isoSeconds());
    await recordAudit(trx, {
      action: before ? 'repo.update_member' : 'repo.add_member',
      actor: actorOrSystem(access.principal),
      user,
      repo: auditRepo(access.owner, access.repo),
      data: before ? { permission, old_permission: before } : { permission },
    });
  });
}

/** Removes a collaborator: an administrator may remove anyone, a collaborator themselves. */
export async function removeCollaborator(ctx: AppContext, access: RepoAccess, login: string): Promise<void> {
  const self = access.principal !== null && access.principal.user.login_lower === login.toLowerCase();
  if (!self) requirePermission(access, 'admin');
  const user = await findAccountByLogin(ctx.db, login);
  if (!user) throw new NotFoundError();
  await ctx.db.transaction().execute(async (trx) => {
    const before = await findCollaboratorPermission(trx, access.repo.id, user.id);
    await deleteCollaboratorRow(trx, access.repo.id, user.id);
    if (before)
      await recordAudit(trx, {
        action: 'repo.remove_member',
        actor: actorOrSystem(access.principal),
        user,
        repo: auditRepo(access.owner, access.repo),
        data: { old_permission: before },
      });
  });
}
