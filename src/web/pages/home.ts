/**
 * @module web/pages/home
 * `/` (the newest public releases on this instance) and `/{owner}` (the owner's repositories the
 * visitor may see: the same service, and so the same rules, as `GET /users/{owner}/repos`).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { releaseWebTag } from '../../http/serializers/assets.ts';
import { parsePage } from '../../domain/page.ts';
import { getAccount } from '../../services/accounts.ts';
import { recentPublicReleases } from '../../services/release-pages.ts';
import { listVisibleRepositories } from '../../services/repository-lists.ts';
import { repoPath, timeTag, webPath } from '../format.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { pager } from './release-views.ts';

const REPOS_PER_PAGE = 30;

export function homePages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/', async (request, reply) => {
    const recent = await recentPublicReleases(ctx, 30);
    const items = recent.map(
      ({ release, ownerLogin, repoName }) => html`<li>
  <a class="repo" href="${repoPath(ownerLogin, repoName)}">${ownerLogin}/${repoName}</a>
  <a href="${repoPath(ownerLogin, repoName, 'releases', 'tag', releaseWebTag(release))}"><strong>${release.name || release.tag_name}</strong></a>
  ${release.prerelease === 1 ? html`<span class="badge pre">Pre-release</span>` : ''}
  <span class="muted">${release.tag_name} · ${timeTag(release.published_at)}</span>
</li>`,
    );
    const body = html`<h1>Recent releases</h1>
${items.length ? html`<ul class="list card">${items}</ul>` : html`<p class="empty card">No public releases yet.</p>`}`;
    return sendPage(request, reply, { title: 'Recent releases', body });
  });

  app.get<{ Params: { owner: string } }>('/:owner', async (request, reply) => {
    const owner = await getAccount(ctx, request.params.owner);
    const page = parsePage({ page: (request.query as Record<string, unknown>).page, per_page: String(REPOS_PER_PAGE) });
    const { items: listed, total } = await listVisibleRepositories(ctx, request.principal, { ownerId: owner.id }, page);
    const items = listed.map(
      ({ repo }) => html`<li>
  <a class="repo" href="${repoPath(owner.login, repo.name)}"><strong>${repo.name}</strong></a>
  ${repo.private === 1 ? html`<span class="badge">Private</span>` : ''}
  ${repo.description ? html`<p class="muted">${repo.description}</p>` : ''}
  <span class="muted">Updated ${timeTag(repo.pushed_at ?? repo.updated_at)}</span>
</li>`,
    );
    const body = html`<h1>${owner.name ? html`${owner.name} <span class="muted">${owner.login}</span>` : owner.login}</h1>
<h2>Repositories</h2>
${items.length ? html`<ul class="list card">${items}</ul>` : html`<p class="empty card">No repositories to show.</p>`}
${pager(webPath(owner.login), page.page, page.offset + listed.length < total)}`;
    return sendPage(request, reply, { title: owner.login, body });
  });
}
