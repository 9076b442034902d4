/**
 * @module http/serializers/users
 * Accounts on the wire: `simple-user` (authors, uploaders, owners), `public-user`/`private-user`
 * (`GET /users/{u}`, `GET /user`) and `organization-simple`, with every URL GitHub fills.
 */
import type { Account } from '../../db/schema.ts';
import type { Urls } from '../urls.ts';
import { nodeId } from './node-id.ts';

export interface SimpleUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string;
  url: string;
  html_url: string;
  followers_url: string;
  following_url: string;
  gists_url: string;
  starred_url: string;
  subscriptions_url: string;
  organizations_url: string;
  repos_url: string;
  events_url: string;
  received_events_url: string;
  type: string;
  site_admin: boolean;
  user_view_type: string;
}

export function simpleUser(account: Account, urls: Urls): SimpleUser {
  const login = encodeURIComponent(account.login);
  const api = `${urls.api}/users/${login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(account.type === 'Organization' ? 'Organization' : 'User', account.id),
    avatar_url: `${urls.web}/avatars/u/${account.id}?`,
    gravatar_id: '',
    url: api,
    html_url: `${urls.web}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: account.type,
    site_admin: account.site_admin === 1,
    user_view_type: 'public',
  };
}

export interface UserCounts {
  publicRepos: number;
  privateRepos?: number;
}

/**
 * What of an account a caller may see beyond its public profile. Wharf has no "public e-mail"
 * setting, so an address counts as private, as on GitHub: shown to its owner and to site
 * administrators only; `suspended_at` to site administrators only.
 */
export interface AccountDisclosure {
  email: boolean;
  suspendedAt: boolean;
}

export function publicUser(account: Account, urls: Urls, counts: UserCounts, disclose: AccountDisclosure) {
  return {
    ...simpleUser(account, urls),
    name: account.name,
    company: null,
    blog: '',
    location: null,
    email: disclose.email ? account.email : null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: counts.publicRepos,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: account.created_at,
    updated_at: account.updated_at,
    ...(disclose.suspendedAt && account.suspended_at ? { suspended_at: account.suspended_at } : {}),
  };
}

export function privateUser(account: Account, urls: Urls, counts: UserCounts, disclose: AccountDisclosure) {
  return {
    ...publicUser(account, urls, counts, disclose),
    private_gists: 0,
    total_private_repos: counts.privateRepos ?? 0,
    owned_private_repos: counts.privateRepos ?? 0,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: false,
  };
}

export function organizationSimple(account: Account, urls: Urls) {
  const login = encodeURIComponent(account.login);
  const api = `${urls.api}/orgs/${login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId('Organization', account.id),
    url: api,
    repos_url: `${api}/repos`,
    events_url: `${api}/events`,
    hooks_url: `${api}/hooks`,
    issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`,
    avatar_url: `${urls.web}/avatars/u/${account.id}?`,
    description: null,
  };
}
