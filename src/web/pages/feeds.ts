/**
 * @module web/pages/feeds
 * Atom feeds (RFC 4287): `/{owner}/{repo}/releases.atom` (the ten newest published releases with
 * their rendered notes; drafts never, whoever asks) and `/{owner}/{repo}/tags.atom` (the first
 * twenty tags in the tag order of `services/git-data`, as `GET /tags` lists them). A private repository's feeds need the same access as its pages; feed readers
 * can send a token in the `Authorization` header.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../../context.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { renderNotes } from '../notes-cache.ts';
import { listTags } from '../../services/git-data.ts';
import { loadReleaseDetails } from '../../services/release-details.ts';
import { listReleases } from '../../services/releases.ts';
import { toIsoSeconds } from '../../util/time.ts';
import { repoPath } from '../format.ts';
import { html, type Html } from '../html.ts';
import { releasePagePath, releaseTitle } from './release-views.ts';

const RELEASES_IN_FEED = 10;
const TAGS_IN_FEED = 20;

interface Entry {
  id: string;
  title: string;
  updated: string;
  link: string;
  author: string;
  /** HTML, escaped once more by the template as Atom `type="html"` content requires. */
  content: string;
}

function atom(self: string, alternate: string, id: string, title: string, entries: Entry[], fallbackUpdated: string): Html {
  const updated =
    entries
      .map((e) => e.updated)
      .sort()
      .at(-1) ?? fallbackUpdated;
  return html`<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US">
  <id>${id}</id>
  <link type="text/html" rel="alternate" href="${alternate}"/>
  <link type="application/atom+xml" rel="self" href="${self}"/>
  <title>${title}</title>
  <updated>${updated}</updated>
${entries.map(
  (e) => html`  <entry>
    <id>${e.id}</id>
    <updated>${e.updated}</updated>
    <link rel="alternate" type="text/html" href="${e.link}"/>
    <title>${e.title}</title>
    <content type="html">${e.content}</content>
    <author><name>${e.author}</name></author>
  </entry>
`,
)}</feed>
`;
}

function sendFeed(reply: FastifyReply, feed: Html): FastifyReply {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cache-control', 'no-cache, private');
  reply.header('vary', 'Authorization');
  // XML 1.0 cannot carry most control characters at all, even escaped; names and notes might.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return reply.type('application/atom+xml; charset=utf-8').send(feed.value.replace(/[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/g, ''));
}

/**
 * Ids follow GitHub's feeds (`tag:github.com,2008:…`, RFC 4151): the tagging authority is the
 * host name without a port, which a tag URI does not allow.
 */
function tagAuthority(web: string): string {
  return `tag:${new URL(web).hostname},2008:`;
}

export function feedRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/releases.atom', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    // Feeds are shared and cached by readers: published releases only, even for push users.
    const readerView = { ...access, permission: 'pull' as const };
    const { releases } = await listReleases(ctx, readerView, { page: 1, perPage: RELEASES_IN_FEED, offset: 0 });
    const details = await loadReleaseDetails(ctx, releases);
    const web = request.urls.web;
    const tag = tagAuthority(web);
    const entries = releases.map((release) => ({
      id: `${tag}Repository/${access.repo.id}/${release.tag_name}`,
      title: releaseTitle(release),
      updated: toIsoSeconds(release.published_at ?? release.updated_at),
      link: web + releasePagePath(access, release),
      author: details.accounts.get(release.author_id)?.login ?? 'unknown',
      content: renderNotes(release.body, { context: { web: request.urls.web, owner: access.owner.login, repo: access.repo.name } }) || `<p>${release.tag_name}</p>`,
    }));
    const base = web + repoPath(access.owner.login, access.repo.name);
    const feed = atom(`${base}/releases.atom`, `${base}/releases`, `${tag}${base}/releases`, `Releases from ${access.repo.name}`, entries, access.repo.updated_at);
    return sendFeed(reply, feed);
  });

  app.get('/:owner/:repo/tags.atom', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const tags = (await listTags(ctx, access.repo)).slice(0, TAGS_IN_FEED);
    const web = request.urls.web;
    const tag = tagAuthority(web);
    const base = web + repoPath(access.owner.login, access.repo.name);
    const entries = tags.map((t) => ({
      id: `${tag}Repository/${access.repo.id}/${t.name}`,
      title: t.name,
      updated: toIsoSeconds(t.date),
      link: web + repoPath(access.owner.login, access.repo.name, 'releases', 'tag', t.name),
      author: access.owner.login,
      content: html`<p>${t.subject}</p><p><code>${t.commitSha}</code></p>`.value,
    }));
    const feed = atom(`${base}/tags.atom`, base, `${tag}${base}/tags`, `Tags from ${access.repo.name}`, entries, access.repo.updated_at);
    return sendFeed(reply, feed);
  });
}
