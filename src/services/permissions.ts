/**
 * @module services/permissions
 * Who may do what on a repository. A user's role (owner, org admin/member, collaborator, site
 * admin, with the `site_admin` scope) gives a permission; the token's OAuth scopes then cap it, as on GitHub:
 * - `repo`: no cap;
 * - `public_repo`: full use of public repositories, no access to private ones;
 * - neither: read-only access to public repositories.
 */
import type { Kysely } from 'kysely';
import type { Account, Database, Permission, Repository } from '../db/schema.ts';
import { findOrgRole } from '../db/repos/accounts-repo.ts';
import { findCollaboratorPermission, findViewerRoles, type ViewerRoles } from '../db/repos/repositories-repo.ts';
import { actsAsSiteAdmin, hasScope } from './oauth-scopes.ts';
import type { Principal } from './tokens.ts';

const RANK: Record<Permission, number> = { pull: 1, triage: 2, push: 3, maintain: 4, admin: 5 };

export function atLeast(have: Permission | null, need: Permission): boolean {
  return have !== null && RANK[have] >= RANK[need];
}

function min(a: Permission | null, b: Permission | null): Permission | null {
  if (a === null || b === null) return null;
  return RANK[a] <= RANK[b] ? a : b;
}

function max(a: Permission | null, b: Permission | null): Permission | null {
  if (a === null) return b;
  if (b === null) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

/** The permission a user holds through ownership, organisation role or collaboration. */
function roleFrom(principal: Principal, owner: Account, roles: ViewerRoles): Permission | null {
  if (actsAsSiteAdmin(principal)) return 'admin';
  if (owner.id === principal.user.id) return 'admin';
  let perm: Permission | null = null;
  if (owner.type === 'Organization') {
    if (roles.orgRole === 'admin') return 'admin';
    if (roles.orgRole === 'member') perm = 'pull';
  }
  return max(perm, roles.collaborator);
}

async function rolePermission(db: Kysely<Database>, principal: Principal, repo: Repository, owner: Account): Promise<Permission | null> {
  const none: ViewerRoles = { orgRole: null, collaborator: null };
  if (actsAsSiteAdmin(principal) || owner.id === principal.user.id) return roleFrom(principal, owner, none);
  const orgRole = owner.type === 'Organization' ? await findOrgRole(db, owner.id, principal.user.id) : null;
  if (orgRole === 'admin') return 'admin';
  return roleFrom(principal, owner, { orgRole, collaborator: await findCollaboratorPermission(db, repo.id, principal.user.id) });
}

function scopeCap(principal: Principal, repo: Repository): Permission | null {
  if (hasScope(principal, 'repo')) return 'admin';
  if (repo.private === 1) return null;
  return hasScope(principal, 'public_repo') ? 'admin' : 'pull';
}

/**
 * Who lists repositories (`listRepositories`): the viewer's private repositories are listed only
 * when the token's scopes reach private repositories, as `effectivePermission` decides for each
 * one. Without this a `public_repo` token, or one without repository scope, saw the names of the
 * private repositories it could not open.
 */
export function repositoryListViewer(principal: Principal | null): { viewerId: number | null; viewerIsSiteAdmin: boolean; viewerReadsPrivate: boolean } {
  return {
    viewerId: principal?.user.id ?? null,
    viewerIsSiteAdmin: actsAsSiteAdmin(principal),
    viewerReadsPrivate: principal ? hasScope(principal, 'repo') : false,
  };
}

function combine(principal: Principal | null, repo: Repository, role: Permission | null): Permission | null {
  const publicRead: Permission | null = repo.private === 1 ? null : 'pull';
  if (!principal) return publicRead;
  return min(max(publicRead, role), scopeCap(principal, repo));
}

/** The caller's effective permission on a repository, or null when it may not even see it. */
export async function effectivePermission(db: Kysely<Database>, principal: Principal | null, repo: Repository, owner: Account): Promise<Permission | null> {
  return combine(principal, repo, principal ? await rolePermission(db, principal, repo, owner) : null);
}

/** `effectivePermission` for many repositories at once, in one query whatever their number (by repository id). */
export async function effectivePermissions(
  db: Kysely<Database>,
  principal: Principal | null,
  entries: ReadonlyArray<{ repo: Repository; owner: Account }>,
): Promise<Map<number, Permission | null>> {
  const roles = principal
    ? await findViewerRoles(
        db,
        principal.user.id,
        entries.map((e) => e.repo.id),
      )
    : new Map<number, ViewerRoles>();
  const none: ViewerRoles = { orgRole: null, collaborator: null };
  return new Map(entries.map(({ repo, owner }) => [repo.id, combine(principal, repo, principal ? roleFrom(principal, owner, roles.get(repo.id) ?? none) : null)]));
}

/**
 * A user's permission on a repository as a role, whatever token they use (what
 * `GET /repos/{o}/{r}/collaborators/{username}/permission` reports): a site administrator's is
 * admin, anyone else's their role, at least read on a public repository.
 */
export async function userPermission(db: Kysely<Database>, user: Account, repo: Repository, owner: Account): Promise<Permission | null> {
  if (user.site_admin === 1 || owner.id === user.id) return 'admin';
  const orgRole = owner.type === 'Organization' ? await findOrgRole(db, owner.id, user.id) : null;
  if (orgRole === 'admin') return 'admin';
  const publicRead: Permission | null = repo.private === 1 ? null : 'pull';
  const member: Permission | null = orgRole === 'member' ? 'pull' : null;
  return max(publicRead, max(member, await findCollaboratorPermission(db, repo.id, user.id)));
}

/** What of `account` beyond its public profile `viewer` may see (`http/serializers/users.ts`). */
export function accountDisclosure(viewer: Principal | null, account: Account): { email: boolean; suspendedAt: boolean } {
  const admin = actsAsSiteAdmin(viewer);
  return { email: admin || viewer?.user.id === account.id, suspendedAt: admin };
}
