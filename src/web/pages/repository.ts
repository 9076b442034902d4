/**
 * @module web/pages/repository
 * `/{owner}/{repo}`: description, clone URL, latest release and the first tags in the tag order
 * (`services/git-data`), as `GET /tags` lists them.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { listTags } from '../../services/git-data.ts';
import { getLatestRelease } from '../../services/releases.ts';
import type { Release } from '../../db/schema.ts';
import { repoPath, timeTag } from '../format.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { releasePagePath, releaseTitle } from './release-views.ts';
import { repoHeader } from './repo-header.ts';

const TAGS_SHOWN = 10;

export function repositoryPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { owner, repo } = access;
    const [latest, tags] = await Promise.all([
      getLatestRelease(ctx, access).catch((err: unknown): Release | null => {
        if (err instanceof NotFoundError) return null;
        throw err;
      }),
      listTags(ctx, repo).then((all) => all.slice(0, TAGS_SHOWN)),
    ]);
    const cloneUrl = `${request.urls.web}${repoPath(owner.login, repo.name)}.git`;
    const tagItems = tags.map(
      (t) =>
        html`<li><a class="tag" href="${repoPath(owner.login, repo.name, 'releases', 'tag', t.name)}">${t.name}</a> <code>${t.commitSha.slice(0, 7)}</code> <span class="muted">${t.subject} · ${timeTag(t.date)}</span></li>`,
    );
    const body = html`${repoHeader(request, access, 'overview')}
${repo.description ? html`<p class="description">${repo.description}</p>` : ''}
<section class="card">
  <h2>Clone</h2>
  <p class="clone"><code id="clone-url">${cloneUrl}</code> <button type="button" class="copy" data-copy="${cloneUrl}">Copy</button></p>
  <p><a href="${repoPath(owner.login, repo.name, 'commits', repo.default_branch)}">History of ${repo.default_branch}</a></p>
</section>
<section class="card">
  <h2>Latest release</h2>
  ${
    latest
      ? html`<p><a href="${releasePagePath(access, latest)}"><strong>${releaseTitle(latest)}</strong></a> <span class="badge latest">Latest</span>
      <span class="muted">${latest.tag_name} · ${timeTag(latest.published_at)}</span></p>`
      : html`<p class="muted">No release yet.</p>`
  }
  <p><a href="${repoPath(owner.login, repo.name, 'releases')}">All releases</a></p>
</section>
<section class="card">
  <h2>Tags</h2>
  ${tagItems.length ? html`<ul class="plain">${tagItems}</ul>` : html`<p class="muted">No tags yet.</p>`}
  <p><a href="${repoPath(owner.login, repo.name, 'tags')}">All tags</a> · <a href="${repoPath(owner.login, repo.name, 'tags.atom')}">Tags feed</a></p>
</section>`;
    return sendPage(request, reply, { title: `${owner.login}/${repo.name}`, body });
  });
}
