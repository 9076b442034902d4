/**
 * @module domain/oauth-scopes
 * The scope names GitHub gives classic personal access tokens (docs: "Scopes for OAuth apps",
 * plus GHES's `site_admin` and `admin:enterprise`). Tokens carry only these names, so clients that
 * read `X-OAuth-Scopes` see what GitHub would send; a name outside the list is a typo.
 */
export const GITHUB_SCOPES = [
  'repo',
  'repo:status',
  'repo_deployment',
  'public_repo',
  'repo:invite',
  'security_events',
  'admin:repo_hook',
  'write:repo_hook',
  'read:repo_hook',
  'admin:org',
  'write:org',
  'read:org',
  'admin:public_key',
  'write:public_key',
  'read:public_key',
  'admin:org_hook',
  'gist',
  'notifications',
  'user',
  'read:user',
  'user:email',
  'user:follow',
  'project',
  'read:project',
  'delete_repo',
  'write:packages',
  'read:packages',
  'delete:packages',
  'admin:gpg_key',
  'write:gpg_key',
  'read:gpg_key',
  'admin:ssh_signing_key',
  'write:ssh_signing_key',
  'read:ssh_signing_key',
  'codespace',
  'workflow',
  'write:discussion',
  'read:discussion',
  'admin:enterprise',
  'manage_runners:enterprise',
  'read:enterprise',
  'audit_log',
  'read:audit_log',
  'site_admin',
] as const;

/** The names in `scopes` that GitHub does not know. */
export function unknownScopes(scopes: readonly string[]): string[] {
  const known = new Set<string>(GITHUB_SCOPES);
  return scopes.filter((s) => !known.has(s));
}
