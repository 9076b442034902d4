/**
 * @module http/route-scopes
 * The one table of OAuth scopes per API route: what GitHub sends as `X-Accepted-OAuth-Scopes`
 * and what a token must hold before the handler runs. Every route under `/api/v3` and
 * `/api/uploads` must have an entry; registering one without fails at start-up, so a new route
 * cannot silently skip the check.
 *
 * Two kinds of requirement:
 * - `account`: checked here, before the handler, for every authenticated caller (site
 *   administration needs `site_admin`, creating repositories `public_repo` or `repo`, deleting
 *   one `delete_repo`). A site administrator's role never replaces the scope.
 * - `repository`: the scope caps the caller's permission on the repository it names
 *   (`services/permissions.ts`: `repo` for everything, `public_repo` for public repositories,
 *   neither for reading public ones). Checked there, because whether the repository is private,
 *   and so whether the caller may even learn that it exists (404), is known only there.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { hasAnyScope, missingScope } from '../services/oauth-scopes.ts';
import type { HeaderTarget } from './api-headers.ts';

export interface ScopeRule {
  /** `X-Accepted-OAuth-Scopes`, as GitHub sends it for the route. */
  accepted: string;
  /** Scopes of which a token must hold one before the handler runs (empty: none). */
  required: readonly string[];
}

const NONE: ScopeRule = { accepted: '', required: [] };
/** Reading a repository's data: scope-capped per repository (`services/permissions.ts`). */
const REPO_READ: ScopeRule = { accepted: 'repo', required: [] };
/** Writing a repository's data: likewise, the cap lives with the repository's permission. */
const REPO_WRITE: ScopeRule = { accepted: 'repo', required: [] };
const SITE_ADMIN: ScopeRule = { accepted: 'site_admin', required: ['site_admin'] };
const REPO_HOOK: ScopeRule = { accepted: 'admin:repo_hook, read:repo_hook, repo, write:repo_hook', required: [] };
const ORG_HOOK: ScopeRule = { accepted: 'admin:org_hook', required: [] };
const GLOBAL_HOOK: ScopeRule = { accepted: 'site_admin', required: [] };
/** An organization's settings: its owners' (with `admin:org`, as GitHub asks for these routes). */
const ORG_ADMIN: ScopeRule = { accepted: 'admin:org', required: ['admin:org'] };
const CREATE_REPO: ScopeRule = { accepted: 'public_repo, repo', required: ['public_repo', 'repo'] };

/**
 * Keyed by method and route path with parameters written `{}` (so a route's parameter names do
 * not matter). HEAD follows GET.
 */
const TABLE: Record<string, ScopeRule> = {
  'GET /': NONE,
  'GET /rate_limit': NONE,
  'GET /meta': NONE,
  'GET /user': NONE,
  'GET /users/{}': NONE,
  'GET /user/repos': REPO_READ,
  'GET /users/{}/repos': REPO_READ,
  'GET /orgs/{}': NONE,
  'GET /orgs/{}/repos': REPO_READ,
  'POST /user/repos': CREATE_REPO,
  'POST /orgs/{}/repos': CREATE_REPO,

  'GET /repos/{}/{}/attestations/{}': REPO_READ,
  'POST /repos/{}/{}/attestations': REPO_WRITE,

  // Pull mirrors (a Wharf extension): the repository's administrators, capped like any repository write.
  'GET /repos/{}/{}/mirror': REPO_WRITE,
  'PUT /repos/{}/{}/mirror': REPO_WRITE,
  'DELETE /repos/{}/{}/mirror': REPO_WRITE,
  'POST /repos/{}/{}/mirror/sync': REPO_WRITE,

  'GET /repos/{}/{}/immutable-releases': REPO_WRITE,
  'PUT /repos/{}/{}/immutable-releases': REPO_WRITE,
  'DELETE /repos/{}/{}/immutable-releases': REPO_WRITE,
  'GET /orgs/{}/settings/immutable-releases': ORG_ADMIN,
  'PUT /orgs/{}/settings/immutable-releases': ORG_ADMIN,
  'GET /orgs/{}/settings/immutable-releases/repositories': ORG_ADMIN,
  'PUT /orgs/{}/settings/immutable-releases/repositories': ORG_ADMIN,
  'PUT /orgs/{}/settings/immutable-releases/repositories/{}': ORG_ADMIN,
  'DELETE /orgs/{}/settings/immutable-releases/repositories/{}': ORG_ADMIN,

  'POST /admin/users': SITE_ADMIN,
  'POST /admin/users/{}/authorizations': SITE_ADMIN,
  'DELETE /admin/users/{}/authorizations': SITE_ADMIN,
  'POST /admin/organizations': SITE_ADMIN,
  'GET /enterprises/{}/audit-log': SITE_ADMIN,
  // Revoking one's own tokens: the rule (a token cannot revoke a token holding scopes it lacks)
  // is in `services/tokens.ts`, since it compares two tokens.
  'DELETE /authorizations/{}': NONE,

  'GET /repos/{}/{}': REPO_READ,
  'PATCH /repos/{}/{}': REPO_WRITE,
  'DELETE /repos/{}/{}': { accepted: 'delete_repo', required: ['delete_repo'] },
  'GET /repos/{}/{}/collaborators': REPO_READ,
  'GET /repos/{}/{}/collaborators/{}': REPO_READ,
  'GET /repos/{}/{}/collaborators/{}/permission': REPO_READ,
  'PUT /repos/{}/{}/collaborators/{}': REPO_WRITE,
  'DELETE /repos/{}/{}/collaborators/{}': REPO_WRITE,

  'GET /repos/{}/{}/tags': REPO_READ,
  'GET /repos/{}/{}/branches': REPO_READ,
  'GET /repos/{}/{}/git/ref/*': REPO_READ,
  'GET /repos/{}/{}/git/matching-refs/*': REPO_READ,
  'POST /repos/{}/{}/git/refs': REPO_WRITE,
  'DELETE /repos/{}/{}/git/refs/*': REPO_WRITE,
  'GET /repos/{}/{}/commits': REPO_READ,
  'GET /repos/{}/{}/commits/*': REPO_READ,
  'GET /repos/{}/{}/tarball': REPO_READ,
  'GET /repos/{}/{}/tarball/*': REPO_READ,
  'GET /repos/{}/{}/zipball': REPO_READ,
  'GET /repos/{}/{}/zipball/*': REPO_READ,

  'GET /repos/{}/{}/releases': REPO_READ,
  'POST /repos/{}/{}/releases': REPO_WRITE,
  'GET /repos/{}/{}/releases/latest': REPO_READ,
  'GET /repos/{}/{}/releases/channels': REPO_READ,
  'GET /repos/{}/{}/releases/rules': REPO_READ,
  'PATCH /repos/{}/{}/releases/rules': REPO_WRITE,
  'GET /repos/{}/{}/releases/tags/*': REPO_READ,
  'GET /repos/{}/{}/releases/{}': REPO_READ,
  'PATCH /repos/{}/{}/releases/{}': REPO_WRITE,
  'DELETE /repos/{}/{}/releases/{}': REPO_WRITE,
  'POST /repos/{}/{}/releases/generate-notes': REPO_WRITE,
  'GET /repos/{}/{}/releases/{}/assets': REPO_READ,
  'POST /repos/{}/{}/releases/{}/assets': REPO_WRITE,
  // Resumable (tus) uploads; HEAD of an upload is keyed as GET.
  'OPTIONS /repos/{}/{}/releases/{}/assets/resumable': NONE,
  'OPTIONS /repos/{}/{}/releases/{}/assets/resumable/{}': NONE,
  'POST /repos/{}/{}/releases/{}/assets/resumable': REPO_WRITE,
  'GET /repos/{}/{}/releases/{}/assets/resumable/{}': REPO_WRITE,
  'PATCH /repos/{}/{}/releases/{}/assets/resumable/{}': REPO_WRITE,
  'DELETE /repos/{}/{}/releases/{}/assets/resumable/{}': REPO_WRITE,
  'GET /repos/{}/{}/releases/assets/{}': REPO_READ,
  'PATCH /repos/{}/{}/releases/assets/{}': REPO_WRITE,
  'DELETE /repos/{}/{}/releases/assets/{}': REPO_WRITE,
  'GET /repos/{}/{}/releases/{}/reactions': REPO_READ,
  'POST /repos/{}/{}/releases/{}/reactions': REPO_WRITE,
  'DELETE /repos/{}/{}/releases/{}/reactions/{}': REPO_WRITE,

  // Webhooks: who may act is decided by the handler (repository admin, organization owner, site
  // administrator; 404 for everyone else), so no scope is demanded before it runs.
  'GET /repos/{}/{}/hooks': REPO_HOOK,
  'POST /repos/{}/{}/hooks': REPO_HOOK,
  'GET /repos/{}/{}/hooks/{}': REPO_HOOK,
  'PATCH /repos/{}/{}/hooks/{}': REPO_HOOK,
  'DELETE /repos/{}/{}/hooks/{}': REPO_HOOK,
  'POST /repos/{}/{}/hooks/{}/pings': REPO_HOOK,
  'POST /repos/{}/{}/hooks/{}/tests': REPO_HOOK,
  'GET /repos/{}/{}/hooks/{}/config': REPO_HOOK,
  'PATCH /repos/{}/{}/hooks/{}/config': REPO_HOOK,
  'GET /repos/{}/{}/hooks/{}/deliveries': REPO_HOOK,
  'GET /repos/{}/{}/hooks/{}/deliveries/{}': REPO_HOOK,
  'POST /repos/{}/{}/hooks/{}/deliveries/{}/attempts': REPO_HOOK,
  'GET /orgs/{}/hooks': ORG_HOOK,
  'POST /orgs/{}/hooks': ORG_HOOK,
  'GET /orgs/{}/hooks/{}': ORG_HOOK,
  'PATCH /orgs/{}/hooks/{}': ORG_HOOK,
  'DELETE /orgs/{}/hooks/{}': ORG_HOOK,
  'POST /orgs/{}/hooks/{}/pings': ORG_HOOK,
  'GET /orgs/{}/hooks/{}/config': ORG_HOOK,
  'PATCH /orgs/{}/hooks/{}/config': ORG_HOOK,
  'GET /orgs/{}/hooks/{}/deliveries': ORG_HOOK,
  'GET /orgs/{}/hooks/{}/deliveries/{}': ORG_HOOK,
  'POST /orgs/{}/hooks/{}/deliveries/{}/attempts': ORG_HOOK,
  'GET /admin/hooks': GLOBAL_HOOK,
  'POST /admin/hooks': GLOBAL_HOOK,
  'GET /admin/hooks/{}': GLOBAL_HOOK,
  'PATCH /admin/hooks/{}': GLOBAL_HOOK,
  'DELETE /admin/hooks/{}': GLOBAL_HOOK,
  'POST /admin/hooks/{}/pings': GLOBAL_HOOK,
};

function keyOf(method: string, path: string): string {
  const m = method === 'HEAD' ? 'GET' : method;
  return `${m} ${path.replace(/:[^/]+/g, '{}') || '/'}`;
}

/** The rule for a route (path relative to its prefix), or undefined when the table lacks it. */
export function scopeRuleFor(method: string, path: string): ScopeRule | undefined {
  return TABLE[keyOf(method, path)];
}

/**
 * Makes every route registered on `app` (prefix `prefix`) carry its rule, and refuses to start
 * when one has none. Must be called before the routes are registered.
 */
export function requireScopeRules(app: FastifyInstance, prefix: string): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const path = route.url.startsWith(prefix) ? route.url.slice(prefix.length) : route.url;
    for (const method of methods) {
      if (!scopeRuleFor(method, path)) throw new Error(`No OAuth scope rule for ${method} ${route.url}: add it to src/http/route-scopes.ts`);
    }
  });
}

/** The rule of the route a request matched (none for unmatched paths). */
export function ruleOfRequest(request: FastifyRequest, prefix: string): ScopeRule | undefined {
  const url = request.routeOptions.url;
  if (!url) return undefined;
  return scopeRuleFor(request.method, url.startsWith(prefix) ? url.slice(prefix.length) : url);
}

/** GitHub names the route's accepted scopes on every answer it gives, errors included. */
export function sendAcceptedScopes(reply: HeaderTarget, rule: ScopeRule | undefined): void {
  if (rule) reply.header('x-accepted-oauth-scopes', rule.accepted);
}

/**
 * Refuses a token without the scope the route needs, before the handler runs. Anonymous callers
 * pass: the handler decides (401, or 404 for what they may not see).
 */
export function enforceScopes(request: FastifyRequest, rule: ScopeRule | undefined): void {
  if (rule && request.principal && !hasAnyScope(request.principal, rule.required)) throw missingScope(rule.required);
}
