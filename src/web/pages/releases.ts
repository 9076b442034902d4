/**
 * @module web/pages/releases
 * `/{owner}/{repo}/releases` (newest first, ten a page), `/{owner}/{repo}/releases/tag/{tag}`
 * (a release's `html_url`, `untagged-…` for drafts) and `/{owner}/{repo}/releases/latest`.
 * Each page costs a fixed number of queries: one page of releases, one for all their assets,
 * one for all the people involved, one for the latest designation.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { mentionCandidates } from '../../render/mentions.ts';
import { existingLogins } from '../../services/accounts.ts';
import { getRef, type RefInfo } from '../../services/git-data.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { parsePage } from '../../domain/page.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { loadReleaseDetails } from '../../services/release-details.ts';
import { getReleaseByWebTag } from '../../services/release-pages.ts';
import { canSeeDrafts, getLatestRelease, latestReleaseId, listReleases } from '../../services/releases.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { repoPath } from '../format.ts';
import { html, type Html } from '../html.ts';
import { getLatestInLine, parseLineQuery, parseListFilter, type ReleaseListFilter } from '../../services/release-channels.ts';
import { sendPage } from '../layout.ts';
import { releaseAttestationSummary } from '../../services/attestations.ts';
import { archivePath, releaseTitle, pager, releaseCard, releasePagePath } from './release-views.ts';
import { repoHeader } from './repo-header.ts';

export const RELEASES_PER_PAGE = 10;

type TagParams = { owner: string; repo: string; '*': string };

/**
 * A tag without a published release still has a page (as on GitHub): the tag, its commit, and
 * links to its history and, for push users, to drafting a release from it. It says nothing about
 * drafts, which only push users may know about.
 */
function bareTagPage(request: FastifyRequest, reply: FastifyReply, access: RepoAccess, tag: RefInfo): FastifyReply {
  const { owner, repo } = access;
  const name = tag.ref.slice('refs/tags/'.length);
  const body = html`${repoHeader(request, access, 'releases')}
<p class="crumbs"><a href="${repoPath(owner.login, repo.name, 'releases')}">Releases</a> / ${name}</p>
<article class="card">
  <h1><span class="tag">${name}</span></h1>
  <p class="muted">This tag has no release. It points at <code>${tag.commitSha}</code>.</p>
  <div class="actions"><a class="button" href="${repoPath(owner.login, repo.name, 'commits', name)}">History</a>
  <a class="button" href="${archivePath(access, name, 'zip')}">Source code (zip)</a>
  <a class="button" href="${archivePath(access, name, 'tar.gz')}">Source code (tar.gz)</a>
  ${canSeeDrafts(access) ? html`<a class="button primary" href="${repoPath(owner.login, repo.name, 'releases', 'new')}?tag=${encodeURIComponent(name)}">Create a release from this tag</a>` : ''}</div>
</article>`;
  return sendPage(request, reply, { title: `${name} · ${owner.login}/${repo.name}`, body });
}

const KINDS = ['release', 'prerelease', 'draft'] as const;
type Kind = (typeof KINDS)[number];
const MAX_SEARCH_LENGTH = 256;

/**
 * The API's list filter (`channel`, `prefix`, `sort`) plus the pages' own: `q` (name or tag
 * contains) and `type` (full releases, pre-releases, drafts; drafts only for push users, as
 * everywhere else). Unknown `type` values show everything, as a form would never send them.
 */
function parsePageFilter(query: unknown, canWrite: boolean): ReleaseListFilter {
  const filter = parseListFilter(query);
  const q = (query ?? {}) as Record<string, unknown>;
  if (typeof q.q === 'string' && q.q.trim() !== '') filter.text = q.q.trim().slice(0, MAX_SEARCH_LENGTH);
  const kind = KINDS.find((k) => k === q.type);
  if (kind && (kind !== 'draft' || canWrite)) filter.kind = kind;
  return filter;
}

/** The list's own parameters, to keep them from page to page. */
function filterQuery(filter: ReleaseListFilter): string {
  const params = new URLSearchParams();
  if (filter.text) params.set('q', filter.text);
  if (filter.kind) params.set('type', filter.kind);
  if (filter.channels) params.set('channel', filter.channels.join(','));
  if (filter.prefix !== undefined) params.set('prefix', filter.prefix);
  if (filter.sort) params.set('sort', filter.sort);
  const text = params.toString();
  return text ? `${text}&` : '';
}

function narrowed(filter: ReleaseListFilter): boolean {
  return Boolean(filter.text || filter.kind || filter.channels || filter.prefix !== undefined);
}

/** Search, kind and order (a GET form, so results have shareable addresses), and the channel in force. */
function listControls(base: string, filter: ReleaseListFilter, canWrite: boolean): Html {
  const kindOption = (value: Kind | '', label: string) => html`<option value="${value}"${(filter.kind ?? '') === value ? html` selected` : ''}>${label}</option>`;
  const sortOption = (value: 'created' | 'version', label: string) =>
    html`<option value="${value}"${(filter.sort ?? 'created') === value ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="${base}" role="search" aria-label="Releases">
<label class="search"><span class="visually-hidden">Find a release by name or tag</span><input type="search" name="q" value="${filter.text ?? ''}" placeholder="Find a release by name or tag" maxlength="${MAX_SEARCH_LENGTH}"></label>
<label>Type <select name="type">${kindOption('', 'All')}${kindOption('release', 'Full releases')}${kindOption('prerelease', 'Pre-releases')}${canWrite ? kindOption('draft', 'Drafts') : ''}</select></label>
<label>Order <select name="sort">${sortOption('created', 'Newest')}${sortOption('version', 'Highest version')}</select></label>
${filter.channels ? html`<input type="hidden" name="channel" value="${filter.channels.join(',')}">` : ''}${filter.prefix !== undefined ? html`<input type="hidden" name="prefix" value="${filter.prefix}">` : ''}
<button type="submit">Search</button>
</form>
${
  narrowed(filter)
    ? html`<p class="list-controls muted">Showing ${filter.text ? html`releases matching <strong>${filter.text}</strong>` : 'releases'}${filter.channels ? html` in channel <strong>${filter.channels.join(', ')}</strong>` : ''}${
        filter.prefix !== undefined ? html` with prefix <strong>${filter.prefix}</strong>` : ''
      } · <a href="${base}">all releases</a></p>`
    : ''
}`;
}

export function releasePages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/releases', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const page = parsePage({ page: (request.query as Record<string, unknown>).page, per_page: String(RELEASES_PER_PAGE) });
    const canWrite = canSeeDrafts(access);
    const filter = parsePageFilter(request.query, canWrite);
    const [{ releases, total }, latestId] = await Promise.all([listReleases(ctx, access, page, filter), latestReleaseId(ctx, access.repo)]);
    const [details, mentions] = await Promise.all([
      loadReleaseDetails(ctx, releases, { includeIncompleteAssets: canWrite }),
      existingLogins(
        ctx,
        releases.flatMap((release) => mentionCandidates(release.body)),
      ),
    ]);
    const r = { owner: access.owner, repo: access.repo };
    const base = repoPath(access.owner.login, access.repo.name, 'releases');
    const cards = releases.map((release) =>
      releaseCard(request, r, release, details.assets.get(release.id) ?? [], details.accounts.get(release.author_id), { latestId, canWrite, heading: 'h2', mentions }),
    );
    const body = html`${repoHeader(request, access, 'releases')}
<div class="toolbar"><h1 class="grow">Releases</h1>
${canWrite ? html`<a class="button primary" href="${repoPath(access.owner.login, access.repo.name, 'releases', 'new')}">Draft a new release</a>` : ''}
<a class="button" href="${base}.atom">Atom feed</a></div>
${listControls(base, filter, canWrite)}
${cards.length ? cards : html`<p class="empty card">${narrowed(filter) ? 'No releases match.' : 'There are no releases yet.'}</p>`}
${pager(base, page.page, page.offset + releases.length < total, filterQuery(filter))}`;
    const feed = html`<link rel="alternate" type="application/atom+xml" title="Releases" href="${base}.atom">`;
    return sendPage(request, reply, { title: `Releases · ${access.owner.login}/${access.repo.name}`, body, head: feed });
  });

  // Browsers are sent to the latest release's page. `Accept: application/json` gets what GitHub's
  // web answers there (electron-updater reads `tag_name` from it); `?channel=&major=&prefix=`
  // ask for the latest of one line (docs/channels.md).
  app.get('/:owner/:repo/releases/latest', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const line = parseLineQuery(request.query);
    const wantsJson = /\bapplication\/json\b/.test(request.headers.accept ?? '');
    try {
      const latest = line ? await getLatestInLine(ctx, access, line) : await getLatestRelease(ctx, access);
      const page = releasePagePath(access, latest);
      if (wantsJson) {
        const edit = repoPath(access.owner.login, access.repo.name, 'releases', 'edit', latest.tag_name);
        return reply.header('cache-control', 'no-cache').send({ id: latest.id, tag_name: latest.tag_name, update_url: page, delete_url: page, edit_url: edit });
      }
      return reply.redirect(page, 302);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      if (wantsJson) return reply.code(404).send({ error: 'Not Found' });
      return reply.redirect(repoPath(access.owner.login, access.repo.name, 'releases'), 302);
    }
  });

  app.get<{ Params: TagParams }>('/:owner/:repo/releases/tag/*', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const release = await getReleaseByWebTag(ctx, access, request.params['*']).catch(async (err: unknown) => {
      if (err instanceof NotFoundError && !request.params['*'].startsWith('untagged-')) {
        const tag = await getRef(ctx, access.repo, `refs/tags/${request.params['*']}`).catch(() => null);
        if (tag) return { bareTag: tag };
      }
      throw err;
    });
    if ('bareTag' in release) return bareTagPage(request, reply, access, release.bareTag);
    // A published release reached through its old `untagged-…` address moves to its tag.
    if (release.draft === 0 && request.params['*'] !== release.tag_name) return reply.redirect(releasePagePath(access, release), 301);
    const canWrite = canSeeDrafts(access);
    const [details, latestId, attestation, mentions] = await Promise.all([
      loadReleaseDetails(ctx, [release], { includeIncompleteAssets: canWrite }),
      latestReleaseId(ctx, access.repo),
      releaseAttestationSummary(ctx, release),
      existingLogins(ctx, mentionCandidates(release.body)),
    ]);
    const card = releaseCard(request, access, release, details.assets.get(release.id) ?? [], details.accounts.get(release.author_id), {
      latestId,
      canWrite,
      heading: 'h1',
      attestation,
      mentions,
    });
    const body = html`${repoHeader(request, access, 'releases')}
<p class="crumbs"><a href="${repoPath(access.owner.login, access.repo.name, 'releases')}">Releases</a> / ${release.tag_name}</p>
${card}`;
    return sendPage(request, reply, { title: `${releaseTitle(release)} · ${access.owner.login}/${access.repo.name}`, body });
  });
}
