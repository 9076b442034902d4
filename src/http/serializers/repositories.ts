/**
 * @module http/serializers/repositories
 * Repositories on the wire as GitHub's `full-repository` (single GET, create, update) and
 * `repository`/`minimal-repository` (lists), with every URL template GitHub documents.
 */
import type { Account, Permission, Repository } from '../../db/schema.ts';
import type { Urls } from '../urls.ts';
import { nodeId } from './node-id.ts';
import { simpleUser } from './users.ts';

export interface RepoPermissions {
  admin: boolean;
  maintain: boolean;
  push: boolean;
  triage: boolean;
  pull: boolean;
}

const RANK: Record<Permission, number> = { pull: 1, triage: 2, push: 3, maintain: 4, admin: 5 };

export function permissionsObject(permission: Permission | null): RepoPermissions {
  const r = permission ? RANK[permission] : 0;
  return { admin: r >= 5, maintain: r >= 4, push: r >= 3, triage: r >= 2, pull: r >= 1 };
}

export function repositoryUrls(owner: Account, repo: Repository, urls: Urls) {
  const full = `${encodeURIComponent(owner.login)}/${encodeURIComponent(repo.name)}`;
  const api = `${urls.api}/repos/${full}`;
  const web = `${urls.web}/${full}`;
  return { full, api, web };
}

/**
 * `repository` / `full-repository`. `permission` is the caller's access (omitted for anonymous
 * callers, as GitHub omits `permissions`).
 */
export function repositoryJson(owner: Account, repo: Repository, urls: Urls, permission: Permission | null | undefined) {
  const { api, web } = repositoryUrls(owner, repo, urls);
  const host = new URL(urls.web).host;
  const body = {
    id: repo.id,
    node_id: nodeId('Repository', repo.id),
    name: repo.name,
    full_name: `${owner.login}/${repo.name}`,
    private: repo.private === 1,
    owner: simpleUser(owner, urls),
    html_url: web,
    description: repo.description,
    fork: false,
    url: api,
    forks_url: `${api}/forks`,
    keys_url: `${api}/keys{/key_id}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    teams_url: `${api}/teams`,
    hooks_url: `${api}/hooks`,
    issue_events_url: `${api}/issues/events{/number}`,
    events_url: `${api}/events`,
    assignees_url: `${api}/assignees{/user}`,
    branches_url: `${api}/branches{/branch}`,
    tags_url: `${api}/tags`,
    blobs_url: `${api}/git/blobs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    trees_url: `${api}/git/trees{/sha}`,
    statuses_url: `${api}/statuses/{sha}`,
    languages_url: `${api}/languages`,
    stargazers_url: `${api}/stargazers`,
    contributors_url: `${api}/contributors`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    commits_url: `${api}/commits{/sha}`,
    git_commits_url: `${api}/git/commits{/sha}`,
    comments_url: `${api}/comments{/number}`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    contents_url: `${api}/contents/{+path}`,
    compare_url: `${api}/compare/{base}...{head}`,
    merges_url: `${api}/merges`,
    archive_url: `${api}/{archive_format}{/ref}`,
    downloads_url: `${api}/downloads`,
    issues_url: `${api}/issues{/number}`,
    pulls_url: `${api}/pulls{/number}`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    labels_url: `${api}/labels{/name}`,
    releases_url: `${api}/releases{/id}`,
    deployments_url: `${api}/deployments`,
    created_at: repo.created_at,
    updated_at: repo.updated_at,
    pushed_at: repo.pushed_at ?? repo.created_at,
    git_url: `git://${host}/${owner.login}/${repo.name}.git`,
    ssh_url: `git@${host}:${owner.login}/${repo.name}.git`,
    clone_url: `${web}.git`,
    svn_url: web,
    homepage: repo.homepage,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: false,
    has_projects: false,
    has_downloads: true,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: 0,
    license: null,
    allow_forking: false,
    is_template: false,
    topics: [] as string[],
    visibility: repo.private === 1 ? 'private' : 'public',
    forks: 0,
    open_issues: 0,
    watchers: 0,
    default_branch: repo.default_branch,
    network_count: 0,
    subscribers_count: 0,
    ...(permission !== undefined ? { permissions: permissionsObject(permission) } : {}),
  };
  return body;
}
