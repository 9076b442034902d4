/**
 * @module services/oauth-scopes
 * GitHub's classic OAuth scopes: which scope implies which (`repo` covers `public_repo`,
 * `admin:org` covers `write:org` and `read:org`, …), and whether a token holds one. Every check
 * of a token's scopes goes through `hasScope`, so a scope counts the same everywhere.
 */
import { ForbiddenError } from '../domain/errors.ts';
import type { Principal } from './tokens.ts';

/** A scope and the narrower scopes it grants too (GitHub's "Available scopes" table). */
const IMPLIES: Record<string, readonly string[]> = {
  repo: ['public_repo', 'repo:status', 'repo_deployment', 'repo:invite', 'security_events'],
  'admin:org': ['write:org', 'read:org'],
  'write:org': ['read:org'],
  'admin:repo_hook': ['write:repo_hook', 'read:repo_hook'],
  'write:repo_hook': ['read:repo_hook'],
  'admin:public_key': ['write:public_key', 'read:public_key'],
  'write:public_key': ['read:public_key'],
  user: ['read:user', 'user:email', 'user:follow'],
  'write:packages': ['read:packages'],
};

/** True when the principal's token holds `scope`, directly or through a wider scope. */
export function hasScope(principal: Principal, scope: string): boolean {
  if (principal.scopes.has(scope)) return true;
  for (const granted of principal.scopes) if (IMPLIES[granted]?.includes(scope)) return true;
  return false;
}

/** True when the token holds at least one of `scopes` (an empty list asks for nothing). */
export function hasAnyScope(principal: Principal, scopes: readonly string[]): boolean {
  return scopes.length === 0 || scopes.some((s) => hasScope(principal, s));
}

/**
 * The refusal for a token that lacks a scope. 403, as GitHub answers a classic token missing a
 * scope; the route's `X-Accepted-OAuth-Scopes` names what would have worked (gh turns it into
 * a "run `gh auth refresh -s …`" hint).
 */
export function missingScope(scopes: readonly string[]): ForbiddenError {
  return new ForbiddenError(
    `Your token has not been granted the required scopes to execute this request. This request requires one of the following scopes: ${scopes.join(', ')}.`,
  );
}

/** Throws `missingScope` unless the token holds one of `scopes`. */
export function requireScope(principal: Principal, ...scopes: string[]): void {
  if (!hasAnyScope(principal, scopes)) throw missingScope(scopes);
}

/**
 * A site administrator's powers (every repository, the admin API, other users' tokens) come
 * with the `site_admin` scope only, as on GitHub Enterprise Server: the same person's everyday
 * `repo` token acts as an ordinary user.
 */
export function actsAsSiteAdmin(principal: Principal | null): boolean {
  return principal !== null && principal.user.site_admin === 1 && hasScope(principal, 'site_admin');
}
