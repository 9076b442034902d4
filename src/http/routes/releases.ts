/**
 * @module http/routes/releases
 * GitHub's Releases endpoints (reference §3.1–3.7). Handlers only do HTTP: read parameters, call
 * one service, serialize.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Release } from '../../db/schema.ts';
import { createdReleaseDetails, loadReleaseDetails, type ReleaseDetails } from '../../services/release-details.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { createReleaseIdempotently, deleteRelease, getLatestRelease, getReleaseById, getReleaseByTag, listReleases, updateRelease } from '../../services/releases.ts';
import { cachedRepoAccess, sendCached } from '../cached-reads.ts';
import { docsConfig } from '../errors.ts';
import { parsePage } from '../../domain/page.ts';
import { parsePathId, repoAccess, sendPage } from '../route-helpers.ts';
import { bodyFormatFromAccept, releaseJson, releasesJson } from '../serializers/releases.ts';
import { getLatestInLine, getReleaseRules, listChannels, parseLineQuery, parseListFilter, updateReleaseRules } from '../../services/release-channels.ts';

type IdParams = { owner: string; repo: string; release_id: string };

async function sendOne(ctx: AppContext, access: RepoAccess, request: FastifyRequest, reply: FastifyReply, release: Release, status = 200) {
  return reply.code(status).send(await renderOne(ctx, access, request, reply, release));
}

/** One release as JSON, with its `X-GitHub-Media-Type` and `Last-Modified` set on `reply`. */
async function renderOne(ctx: AppContext, access: RepoAccess, request: FastifyRequest, reply: FastifyReply, release: Release) {
  return renderWith(access, request, reply, release, await loadReleaseDetails(ctx, [release], { reactions: true }));
}

/** `renderOne` with the release's details at hand. */
function renderWith(access: RepoAccess, request: FastifyRequest, reply: FastifyReply, release: Release, details: ReleaseDetails) {
  const format = bodyFormatFromAccept(request.headers.accept);
  reply.header('x-github-media-type', format.mediaType);
  const json = releaseJson(access, release, details, request.urls, format);
  // The embedded assets are part of the representation: an upload or an asset edit changes it
  // without touching the release row, so `If-Modified-Since` must see their times too.
  // So is the reactions rollup, whose changes leave `updated_at` alone (reactions_changed_at).
  const reacted = release.reactions_changed_at ? Date.parse(release.reactions_changed_at) : 0;
  const modified = Math.max(Date.parse(release.updated_at), reacted, ...json.assets.map((a) => Date.parse(a.updated_at)));
  reply.header('last-modified', new Date(modified).toUTCString());
  return json;
}

export function releaseRoutes(app: FastifyInstance, ctx: AppContext): void {
  // The reads below are remembered per repository generation (http/cached-reads.ts).
  app.get('/repos/:owner/:repo/releases', async (request, reply) => {
    const cached = await cachedRepoAccess(ctx, request);
    const { access } = cached;
    const page = parsePage(request.query);
    const filter = parseListFilter(request.query);
    return sendCached(ctx, request, reply, cached, async () => {
      const { releases, total } = await listReleases(ctx, access, page, filter);
      const format = bodyFormatFromAccept(request.headers.accept);
      reply.header('x-github-media-type', format.mediaType);
      const details = await loadReleaseDetails(ctx, releases, { reactions: true });
      return sendPage(request, reply, page, total, releasesJson(access, releases, details, request.urls, format));
    });
  });

  app.post('/repos/:owner/:repo/releases', docsConfig('releases/releases#create-a-release'), async (request, reply) => {
    const access = await repoAccess(ctx, request);
    // `Idempotency-Key` (a documented extension): a retry of this request gets the same release back.
    const { release, replayed } = await createReleaseIdempotently(ctx, access, request.body, request.headers['idempotency-key'], { webUrl: request.urls.web });
    if (replayed) reply.header('idempotent-replayed', 'true');
    reply.header('location', `${request.urls.api}/repos/${encodeURIComponent(access.owner.login)}/${encodeURIComponent(access.repo.name)}/releases/${release.id}`);
    // A release created now shows what created it (no assets, the caller as author): not read back.
    // A replayed one may have changed since: read as any release is.
    const author = access.principal!.user;
    if (replayed || release.author_id !== author.id) return sendOne(ctx, access, request, reply, release, 201);
    return reply.code(201).send(renderWith(access, request, reply, release, createdReleaseDetails(release, author)));
  });

  // `?channel=beta&major=2&prefix=cli-` (Wharf's extension) asks for the latest of one line.
  app.get('/repos/:owner/:repo/releases/latest', async (request, reply) => {
    const cached = await cachedRepoAccess(ctx, request);
    const { access } = cached;
    const line = parseLineQuery(request.query);
    return sendCached(ctx, request, reply, cached, async () =>
      renderOne(ctx, access, request, reply, line ? await getLatestInLine(ctx, access, line) : await getLatestRelease(ctx, access)),
    );
  });

  app.get('/repos/:owner/:repo/releases/channels', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const format = bodyFormatFromAccept(request.headers.accept);
    const channels = await listChannels(ctx, access);
    const details = await loadReleaseDetails(
      ctx,
      channels.map((c) => c.latest),
      { reactions: true },
    );
    const latest = releasesJson(
      access,
      channels.map((c) => c.latest),
      details,
      request.urls,
      format,
    );
    return reply.send(channels.map((c, i) => ({ channel: c.channel, prefix: c.prefix, releases: c.releases, latest: latest[i] })));
  });

  app.get('/repos/:owner/:repo/releases/rules', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    return reply.send(getReleaseRules(access));
  });

  app.patch('/repos/:owner/:repo/releases/rules', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    return reply.send(await updateReleaseRules(ctx, access, request.body));
  });

  // The tag is multi-segment: `release/1.0` arrives raw or as `release%2F1.0`.
  app.get<{ Params: { owner: string; repo: string; '*': string } }>('/repos/:owner/:repo/releases/tags/*', async (request, reply) => {
    const cached = await cachedRepoAccess(ctx, request);
    const { access } = cached;
    return sendCached(ctx, request, reply, cached, async () => renderOne(ctx, access, request, reply, await getReleaseByTag(ctx, access, request.params['*'])));
  });

  app.get<{ Params: IdParams }>('/repos/:owner/:repo/releases/:release_id', async (request, reply) => {
    const cached = await cachedRepoAccess(ctx, request);
    const { access } = cached;
    const id = parsePathId(request.params.release_id);
    return sendCached(ctx, request, reply, cached, async () => renderOne(ctx, access, request, reply, await getReleaseById(ctx, access, id)));
  });

  app.patch<{ Params: IdParams }>('/repos/:owner/:repo/releases/:release_id', docsConfig('releases/releases#update-a-release'), async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const release = await updateRelease(ctx, access, parsePathId(request.params.release_id), request.body);
    return sendOne(ctx, access, request, reply, release);
  });

  app.delete<{ Params: IdParams }>('/repos/:owner/:repo/releases/:release_id', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    await deleteRelease(ctx, access, parsePathId(request.params.release_id));
    return reply.code(204).send();
  });
}
