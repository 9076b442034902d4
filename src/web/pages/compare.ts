/**
 * @module web/pages/compare
 * `/{owner}/{repo}/compare/{base}...{head}`: the commits reachable from `head` but not from
 * `base`, newest first (the target of the "Full Changelog" link in generated release notes).
 * `base..head` is accepted too. Git ref names cannot contain `..`, so the split is unambiguous.
 * Also `/{owner}/{repo}/commits/{ref}`: the history of one ref, 50 commits a page (the target of
 * "Full Changelog" for a first release, which has nothing to compare with), and
 * `/{owner}/{repo}/commit/{sha}`: one commit (the API's commit `html_url`).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { parsePage } from '../../domain/page.ts';
import * as gitData from '../../services/git-data.ts';
import type { CommitInfo } from '../../services/git-data.ts';
import { repoPath, timeTag } from '../format.ts';
import { html, type Html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { pager } from './release-views.ts';
import { repoHeader } from './repo-header.ts';

/** More than this many commits is summarised; a page of 250 is what GitHub shows too. */
export const COMPARE_LIMIT = 250;

export function parseRange(spec: string): { base: string; head: string } | null {
  const three = spec.indexOf('...');
  const [base, head] = three >= 0 ? [spec.slice(0, three), spec.slice(three + 3)] : spec.split('..', 2);
  if (!base || !head) return null;
  return { base, head };
}

const HISTORY_PER_PAGE = 50;

function commitList(access: RepoAccess, commits: CommitInfo[]): Html {
  return html`<ol class="list card commits">${commits.map((c) => {
    const subject = c.message.split('\n', 1)[0] ?? '';
    return html`<li class="commit"><a href="${repoPath(access.owner.login, access.repo.name, 'commit', c.sha)}"><code title="${c.sha}">${c.sha.slice(0, 7)}</code></a> <span class="subject">${subject}</span>
  <span class="muted">${c.authorName} · ${timeTag(c.authorDate)}</span></li>`;
  })}</ol>`;
}

export function comparePages(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { owner: string; repo: string; '*': string } }>('/:owner/:repo/compare/*', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const range = parseRange(request.params['*']);
    if (!range) throw new NotFoundError();
    const [baseSha, headSha] = await Promise.all([gitData.resolveCommit(ctx, access.repo, range.base), gitData.resolveCommit(ctx, access.repo, range.head)]);
    if (!baseSha || !headSha) throw new NotFoundError();
    const commits = await gitData.listCommits(ctx, access.repo, { to: headSha, from: baseSha, maxCount: COMPARE_LIMIT + 1 });
    const shown = commits.slice(0, COMPARE_LIMIT);
    const body = html`${repoHeader(request, access, 'compare')}
<h1>Comparing <span class="tag">${range.base}</span> … <span class="tag">${range.head}</span></h1>
<p class="muted">${commits.length > COMPARE_LIMIT ? `Showing the ${COMPARE_LIMIT} newest commits of more.` : `${shown.length} ${shown.length === 1 ? 'commit' : 'commits'}`}</p>
${shown.length ? commitList(access, shown) : html`<p class="empty card">There isn't anything to compare: ${range.head} has no commits that ${range.base} lacks.</p>`}`;
    return sendPage(request, reply, { title: `Comparing ${range.base}...${range.head} · ${access.owner.login}/${access.repo.name}`, body });
  });
  app.get<{ Params: { owner: string; repo: string; '*': string } }>('/:owner/:repo/commits/*', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const ref = request.params['*'] || access.repo.default_branch;
    const head = await gitData.resolveCommit(ctx, access.repo, ref);
    if (!head) throw new NotFoundError();
    const page = parsePage({ page: (request.query as Record<string, unknown>).page, per_page: String(HISTORY_PER_PAGE) });
    const commits = await gitData.listCommits(ctx, access.repo, { to: head, skip: page.offset, maxCount: page.perPage + 1 });
    const shown = commits.slice(0, page.perPage);
    const base = repoPath(access.owner.login, access.repo.name, 'commits', ref);
    const body = html`${repoHeader(request, access, 'compare')}
<h1>Commits on <span class="tag">${ref}</span></h1>
${shown.length ? commitList(access, shown) : html`<p class="empty card">No commits on this page.</p>`}
${pager(base, page.page, commits.length > page.perPage)}`;
    return sendPage(request, reply, { title: `Commits on ${ref} · ${access.owner.login}/${access.repo.name}`, body });
  });
  app.get<{ Params: { owner: string; repo: string; sha: string } }>('/:owner/:repo/commit/:sha', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { owner, repo } = access;
    const commit = await gitData.getCommit(ctx, repo, request.params.sha);
    if (!commit) throw new NotFoundError();
    const [subject = '', ...rest] = commit.message.split('\n');
    const body = html`${repoHeader(request, access, 'compare')}
<article class="card commit-page">
  <h1>${subject}</h1>
  ${rest.join('\n').trim() ? html`<pre class="message">${rest.join('\n').trim()}</pre>` : ''}
  <p class="muted">${commit.authorName} authored ${timeTag(commit.authorDate)}${
    commit.committerName !== commit.authorName ? html` · ${commit.committerName} committed ${timeTag(commit.committerDate)}` : ''
  }</p>
  <p>Commit <code>${commit.sha}</code></p>
  ${
    commit.parents.length
      ? html`<p>${commit.parents.length === 1 ? 'Parent' : 'Parents'} ${commit.parents.map(
          (p) => html`<a href="${repoPath(owner.login, repo.name, 'commit', p)}"><code>${p.slice(0, 7)}</code></a> `,
        )}</p>`
      : ''
  }
  <p><a href="${repoPath(owner.login, repo.name, 'commits', commit.sha)}">History from here</a></p>
</article>`;
    return sendPage(request, reply, { title: `${subject} · ${owner.login}/${repo.name}@${commit.sha.slice(0, 7)}`, body });
  });
}
