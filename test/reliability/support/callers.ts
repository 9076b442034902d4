/**
 * The callers of the authorization matrix, and the permission Wharf's documented rules give each
 * of them on a repository (docs/api.md "Permissions"): role, capped by the token's scopes.
 */
import { call } from '../../support/http.ts';
import { addCollaborator, createUser, uniqueName, type TestUser } from '../../support/fixtures.ts';
import { ADMIN_TOKEN, type TestServer } from '../../support/server.ts';

export type Perm = 'pull' | 'triage' | 'push' | 'maintain' | 'admin';
const RANK: Record<Perm, number> = { pull: 1, triage: 2, push: 3, maintain: 4, admin: 5 };

export function atLeast(have: Perm | null, need: Perm): boolean {
  return have !== null && RANK[have] >= RANK[need];
}

export interface Caller {
  name: string;
  /** Null for anonymous. */
  token: string | null;
  /** The user's login (to sign in on the web pages with the token); null for anonymous and the bad token. */
  login: string | null;
  /** The token does not resolve (401 on every route). */
  badToken?: boolean;
  /** Role on the matrix repositories (before scopes). */
  role: Perm | null;
  scopes: 'repo' | 'public_repo' | 'none';
}

/** Effective permission: public repositories are readable by all; scopes cap the role. */
export function permissionOf(caller: Caller, isPrivate: boolean): Perm | null {
  if (caller.badToken) return null;
  const publicRead: Perm | null = isPrivate ? null : 'pull';
  if (!caller.token) return publicRead;
  const role = caller.role && publicRead ? (RANK[caller.role] >= RANK[publicRead] ? caller.role : publicRead) : (caller.role ?? publicRead);
  if (caller.scopes === 'repo') return role;
  if (isPrivate) return null;
  return caller.scopes === 'public_repo' ? role : role ? 'pull' : null;
}

async function tokenWith(server: TestServer, user: TestUser, scopes: string[]): Promise<string> {
  const res = await call('POST', `${server.api}/admin/users/${user.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes } });
  if (res.status !== 201) throw new Error(`token: ${res.status}`);
  return res.body.token;
}

/**
 * Creates one user per role and adds them as collaborators on every repository given, plus the
 * scope-limited variants: an admin collaborator holding a `public_repo` token, and one holding a
 * token without any repository scope.
 */
export async function makeCallers(server: TestServer, owner: TestUser, repos: string[]): Promise<Caller[]> {
  const callers: Caller[] = [
    { name: 'anonymous', token: null, login: null, role: null, scopes: 'none' },
    { name: 'bad token', token: 'wharf_this_token_does_not_exist_000000000000', badToken: true, login: null, role: null, scopes: 'repo' },
  ];
  const stranger = await createUser(server, uniqueName('stranger'));
  callers.push({ name: 'no access', token: stranger.token, login: stranger.login, role: null, scopes: 'repo' });
  for (const role of ['pull', 'triage', 'push', 'maintain', 'admin'] as Perm[]) {
    const user = await createUser(server, uniqueName(role));
    for (const repo of repos) await addCollaborator(server, owner, repo, user, role);
    callers.push({ name: role, token: user.token, login: user.login, role, scopes: 'repo' });
    if (role === 'admin') {
      callers.push({ name: 'admin, public_repo token', token: await tokenWith(server, user, ['public_repo']), login: user.login, role, scopes: 'public_repo' });
      callers.push({ name: 'admin, token without repo scope', token: await tokenWith(server, user, ['read:org']), login: user.login, role, scopes: 'none' });
    }
  }
  callers.push({ name: 'owner', token: owner.token, login: owner.login, role: 'admin', scopes: 'repo' });
  callers.push({ name: 'site admin', token: ADMIN_TOKEN, login: server.config.adminLogin, role: 'admin', scopes: 'repo' });
  return callers;
}
