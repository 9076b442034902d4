/**
 * @module http/routes/meta
 * The API root (gh reads `X-OAuth-Scopes` from it at login), `/rate_limit` and `/meta`.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { ENTERPRISE_VERSION } from '../api-headers.ts';
import { peek } from '../rate-limit.ts';

export function metaRoutes(app: FastifyInstance, ctx: AppContext): void {
  const root = async (request: import('fastify').FastifyRequest) => {
    const api = request.urls.api;
    return {
      current_user_url: `${api}/user`,
      current_user_authorizations_html_url: `${request.urls.web}/settings/connections/applications{/client_id}`,
      authorizations_url: `${api}/authorizations`,
      code_search_url: `${api}/search/code?q={query}{&page,per_page,sort,order}`,
      commit_search_url: `${api}/search/commits?q={query}{&page,per_page,sort,order}`,
      emails_url: `${api}/user/emails`,
      emojis_url: `${api}/emojis`,
      events_url: `${api}/events`,
      feeds_url: `${api}/feeds`,
      followers_url: `${api}/user/followers`,
      following_url: `${api}/user/following{/target}`,
      gists_url: `${api}/gists{/gist_id}`,
      hub_url: `${api}/hub`,
      issue_search_url: `${api}/search/issues?q={query}{&page,per_page,sort,order}`,
      issues_url: `${api}/issues`,
      keys_url: `${api}/user/keys`,
      label_search_url: `${api}/search/labels?q={query}&repository_id={repository_id}{&page,per_page}`,
      notifications_url: `${api}/notifications`,
      organization_url: `${api}/orgs/{org}`,
      organization_repositories_url: `${api}/orgs/{org}/repos{?type,page,per_page,sort}`,
      organization_teams_url: `${api}/orgs/{org}/teams`,
      public_gists_url: `${api}/gists/public`,
      rate_limit_url: `${api}/rate_limit`,
      repository_url: `${api}/repos/{owner}/{repo}`,
      repository_search_url: `${api}/search/repositories?q={query}{&page,per_page,sort,order}`,
      current_user_repositories_url: `${api}/user/repos{?type,page,per_page,sort}`,
      starred_url: `${api}/user/starred{/owner}{/repo}`,
      starred_gists_url: `${api}/gists/starred`,
      user_url: `${api}/users/{user}`,
      user_organizations_url: `${api}/user/orgs`,
      user_repositories_url: `${api}/users/{user}/repos{?type,page,per_page,sort}`,
      user_search_url: `${api}/search/users?q={query}{&page,per_page,sort,order}`,
    };
  };
  app.get('/', root);

  app.get('/rate_limit', async (request) => {
    if (!ctx.config.rateLimit.enabled) throw new NotFoundError('Rate limiting is not enabled.');
    const state = await peek(ctx, request.principal, request.ip);
    const core = { limit: state.limit, remaining: state.remaining, reset: state.reset, used: Math.min(state.used, state.limit), resource: 'core' };
    // Only the core resource is counted by Wharf; the others are reported with the same numbers
    // scaled to GitHub's defaults so that clients reading them see well-formed, truthful limits.
    const fresh = (limit: number, resource: string) => ({ limit, remaining: limit, reset: state.reset, used: 0, resource });
    return {
      resources: {
        core,
        search: fresh(30, 'search'),
        graphql: fresh(state.limit, 'graphql'),
        integration_manifest: fresh(5000, 'integration_manifest'),
        code_search: fresh(10, 'code_search'),
      },
      rate: core,
    };
  });

  app.get('/meta', async () => ({
    verifiable_password_authentication: false,
    installed_version: ENTERPRISE_VERSION,
  }));
}
