/**
 * @module web/pages/tags
 * `/{owner}/{repo}/tags`: every tag in the tag order (`services/git-data`, as `GET /tags` and the
 * repository page list them), ten a page as on GitHub, each with its commit, date, subject and
 * source archives. The tag links to its release page, which shows the tag bare when no release
 * is published for it.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { parsePage } from '../../domain/page.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { listTags } from '../../services/git-data.ts';
import { repoPath, timeTag } from '../format.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { archivePath, pager } from './release-views.ts';
import { repoHeader } from './repo-header.ts';

export const TAGS_PER_PAGE = 10;

export function tagPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/tags', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { owner, repo } = access;
    const page = parsePage({ page: (request.query as Record<string, unknown>).page, per_page: String(TAGS_PER_PAGE) });
    const all = await listTags(ctx, repo);
    const tags = all.slice(page.offset, page.offset + page.perPage);
    const base = repoPath(owner.login, repo.name, 'tags');
    const items = tags.map(
      (t) => html`<li class="tag-row">
  <h2><a href="${repoPath(owner.login, repo.name, 'releases', 'tag', t.name)}">${t.name}</a></h2>
  <p class="muted">${timeTag(t.date)} · <a href="${repoPath(owner.login, repo.name, 'commit', t.commitSha)}"><code>${t.commitSha.slice(0, 7)}</code></a>${t.subject ? html` · ${t.subject}` : ''}</p>
  <p class="actions"><a class="button" href="${archivePath(access, t.name, 'zip')}">zip<span class="visually-hidden"> of ${t.name}</span></a>
  <a class="button" href="${archivePath(access, t.name, 'tar.gz')}">tar.gz<span class="visually-hidden"> of ${t.name}</span></a></p>
</li>`,
    );
    const body = html`${repoHeader(request, access, 'tags')}
<div class="toolbar"><h1 class="grow">Tags</h1><a class="button" href="${base}.atom">Atom feed</a></div>
${items.length ? html`<ul class="list card tags">${items}</ul>` : html`<p class="empty card">${page.page > 1 ? 'No more tags.' : 'There are no tags yet.'}</p>`}
${pager(base, page.page, page.offset + tags.length < all.length)}`;
    const feed = html`<link rel="alternate" type="application/atom+xml" title="Tags" href="${base}.atom">`;
    return sendPage(request, reply, { title: `Tags · ${owner.login}/${repo.name}`, body, head: feed });
  });
}
