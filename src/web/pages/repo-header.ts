/**
 * @module web/pages/repo-header
 * The heading every repository page shares: `owner / repo`, visibility, and the tabs (the
 * settings only for the repository's admins).
 */
import type { FastifyRequest } from 'fastify';
import { atLeast } from '../../services/permissions.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { repoPath, webPath } from '../format.ts';
import { html, type Html } from '../html.ts';

export type RepoTab = 'overview' | 'releases' | 'tags' | 'compare' | 'settings';

export function repoHeader(_request: FastifyRequest, access: RepoAccess, tab: RepoTab): Html {
  const { owner, repo } = access;
  const tabLink = (name: RepoTab, label: string, href: string) => html`<a href="${href}"${name === tab ? html` aria-current="page" class="current"` : ''}>${label}</a>`;
  return html`<div class="repo-head">
<p class="repo-name"><a href="${webPath(owner.login)}">${owner.login}</a> / <a href="${repoPath(owner.login, repo.name)}"><strong>${repo.name}</strong></a>
<span class="badge">${repo.private === 1 ? 'Private' : 'Public'}</span></p>
<nav class="tabs" aria-label="Repository">${tabLink('overview', 'Overview', repoPath(owner.login, repo.name))}${tabLink('releases', 'Releases', repoPath(owner.login, repo.name, 'releases'))}${tabLink(
    'tags',
    'Tags',
    repoPath(owner.login, repo.name, 'tags'),
  )}${access.principal && atLeast(access.permission, 'admin') ? tabLink('settings', 'Settings', repoPath(owner.login, repo.name, 'settings')) : ''}</nav>
</div>`;
}
