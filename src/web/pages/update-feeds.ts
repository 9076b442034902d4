/**
 * @module web/pages/update-feeds
 * Update feeds for desktop apps, generated from a channel's releases (docs/update-feeds.md), at
 * `/{owner}/{repo}/releases/feeds/{channel}/…` (`?prefix=` for a monorepo's product):
 * - `tauri.json`: Tauri's static update JSON (`version`, `notes`, `pub_date`, `platforms`);
 *   `tauri/{target}/{arch}/{current_version}`: Tauri's dynamic answer, 204 when up to date;
 * - `appcast.xml`: a Sparkle appcast of the channel's recent releases;
 * - `squirrel-mac.json`: Squirrel.Mac's static JSON; `squirrel-mac?version=`: its server answer
 *   (204 when up to date);
 * - `squirrel-windows/RELEASES` and `squirrel-windows/{package}`: Squirrel.Windows' update
 *   directory.
 * Same access rules as the release pages: a private repository's feeds need a token or session.
 * Signatures are the developer's own (uploaded beside the artifacts), never made by Wharf.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import semver from 'semver';
import type { AppContext } from '../../context.ts';
import type { Asset, Release } from '../../db/schema.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { sparkleArtifact, squirrelMacArtifact, squirrelWindowsFiles, tauriArtifacts } from '../../domain/update-platforms.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { assetJson } from '../../http/serializers/assets.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { APPCAST_ITEMS, MAX_RELEASES_FILE_BYTES, channelReleases, feedQuery, readAssetText, type FeedRelease } from '../../services/update-feeds.ts';
import { renderNotes } from '../notes-cache.ts';
import { html } from '../html.ts';
import { releasePagePath } from './release-views.ts';

type FeedParams = { owner: string; repo: string; channel: string };

function downloadUrl(request: FastifyRequest, access: RepoAccess, release: Release, asset: Asset): string {
  return assetJson(asset, { owner: access.owner, repo: access.repo, release, accounts: new Map(), urls: request.urls }).browser_download_url;
}

/** Feeds change when a release does; clients poll them, caches may keep them a minute. */
function sendJson(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.header('cache-control', 'max-age=60').type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/** Whether `latest` is newer than what the client runs (semver when both are, else digit runs numerically). */
export function isNewer(latest: string, current: string): boolean {
  const a = semver.valid(semver.clean(latest) ?? latest);
  const b = semver.valid(semver.clean(current) ?? current);
  if (a && b) return semver.gt(a, b);
  const runs = (v: string) => (v.match(/\d+/g) ?? []).map(Number);
  const [x, y] = [runs(latest), runs(current)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
}

async function latestOf(ctx: AppContext, request: FastifyRequest<{ Params: FeedParams }>): Promise<{ access: RepoAccess; latest: FeedRelease }> {
  const access = await repoAccess(ctx, request);
  const [latest] = await channelReleases(ctx, access, feedQuery(request.params.channel, request.query), 1);
  if (!latest) throw new NotFoundError();
  return { access, latest };
}

const pubDate = (r: Release) => r.published_at ?? r.updated_at;

export function updateFeedRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: FeedParams }>('/:owner/:repo/releases/feeds/:channel/tauri.json', async (request, reply) => {
    const { access, latest } = await latestOf(ctx, request);
    const { artifacts } = tauriArtifacts(latest.assets);
    const platforms: Record<string, { url: string; signature: string }> = {};
    for (const a of artifacts) {
      const signature = await readAssetText(ctx, a.signature);
      if (signature) platforms[a.platform] = { url: downloadUrl(request, access, latest.release, a.asset), signature };
    }
    return sendJson(reply, { version: latest.release.version, notes: latest.release.body ?? '', pub_date: pubDate(latest.release), platforms });
  });

  app.get<{ Params: FeedParams & { target: string; arch: string; current: string } }>(
    '/:owner/:repo/releases/feeds/:channel/tauri/:target/:arch/:current',
    async (request, reply) => {
      const { access, latest } = await latestOf(ctx, request);
      if (!latest.release.version || !isNewer(latest.release.version, request.params.current)) return reply.code(204).send();
      const artifact = tauriArtifacts(latest.assets).artifacts.find((a) => a.platform === `${request.params.target}-${request.params.arch}`);
      const signature = artifact ? await readAssetText(ctx, artifact.signature) : null;
      if (!artifact || !signature) return reply.code(204).send();
      return sendJson(reply, {
        version: latest.release.version,
        notes: latest.release.body ?? '',
        pub_date: pubDate(latest.release),
        url: downloadUrl(request, access, latest.release, artifact.asset),
        signature,
      });
    },
  );

  app.get<{ Params: FeedParams }>('/:owner/:repo/releases/feeds/:channel/appcast.xml', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const feed = feedQuery(request.params.channel, request.query);
    const releases = await channelReleases(ctx, access, feed, APPCAST_ITEMS);
    const items = [];
    for (const { release, assets } of releases) {
      const { artifact } = sparkleArtifact(assets);
      if (!artifact || !release.version) continue;
      const signature = await readAssetText(ctx, artifact.signature);
      if (!signature) continue;
      items.push(html`  <item>
    <title>${release.name || release.tag_name}</title>
    <link>${request.urls.web + releasePagePath(access, release)}</link>
    <pubDate>${new Date(pubDate(release)).toUTCString()}</pubDate>
    <sparkle:version>${release.version}</sparkle:version>
    <sparkle:shortVersionString>${release.version}</sparkle:shortVersionString>
${feed.channel !== 'stable' ? html`    <sparkle:channel>${feed.channel}</sparkle:channel>\n` : ''}    <description>${renderNotes(release.body, { context: { web: request.urls.web, owner: access.owner.login, repo: access.repo.name } })}</description>
    <enclosure url="${downloadUrl(request, access, release, artifact.asset)}" length="${artifact.asset.size}" type="application/octet-stream" sparkle:edSignature="${signature}"/>
  </item>
`);
    }
    const body = html`<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:sparkle="http://www.andymatuschak.org/xml-namespaces/sparkle" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>${access.repo.name} (${feed.channel})</title>
  <link>${request.urls.web}/${access.owner.login}/${access.repo.name}/releases</link>
  <description>Updates of ${access.owner.login}/${access.repo.name} on the ${feed.channel} channel</description>
  <language>en</language>
${items}</channel>
</rss>
`;
    return reply.header('cache-control', 'max-age=60').type('application/rss+xml; charset=utf-8').send(String(body));
  });

  app.get<{ Params: FeedParams }>('/:owner/:repo/releases/feeds/:channel/squirrel-mac.json', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const releases = await channelReleases(ctx, access, feedQuery(request.params.channel, request.query), APPCAST_ITEMS);
    const entries = releases
      .map(({ release, assets }) => ({ release, zip: squirrelMacArtifact(assets) }))
      .filter((e): e is { release: Release; zip: Asset } => e.zip !== null && e.release.version !== null)
      .map(({ release, zip }) => ({
        version: release.version!,
        updateTo: {
          version: release.version!,
          pub_date: pubDate(release),
          notes: release.body ?? '',
          name: release.name || release.tag_name,
          url: downloadUrl(request, access, release, zip),
        },
      }));
    if (entries.length === 0) throw new NotFoundError();
    return sendJson(reply, { currentRelease: entries[0]!.version, releases: entries });
  });

  app.get<{ Params: FeedParams; Querystring: { version?: string } }>('/:owner/:repo/releases/feeds/:channel/squirrel-mac', async (request, reply) => {
    const { access, latest } = await latestOf(ctx, request);
    const zip = squirrelMacArtifact(latest.assets);
    const current = request.query.version;
    if (!zip || !latest.release.version || (current && !isNewer(latest.release.version, current))) return reply.code(204).send();
    return sendJson(reply, {
      url: downloadUrl(request, access, latest.release, zip),
      name: latest.release.name || latest.release.tag_name,
      notes: latest.release.body ?? '',
      pub_date: pubDate(latest.release),
    });
  });

  app.get<{ Params: FeedParams & { file: string } }>('/:owner/:repo/releases/feeds/:channel/squirrel-windows/:file', async (request, reply) => {
    const { access, latest } = await latestOf(ctx, request);
    const files = squirrelWindowsFiles(latest.assets);
    // Squirrel asks for RELEASES (with its own query parameters), then for the packages it names.
    if (request.params.file === 'RELEASES') {
      if (!files.releases) throw new NotFoundError();
      const text = await readAssetText(ctx, files.releases, MAX_RELEASES_FILE_BYTES);
      if (text === null) throw new NotFoundError();
      return reply.header('cache-control', 'max-age=60').type('text/plain; charset=utf-8').send(`${text}\n`);
    }
    const pkg = files.packages.find((p) => p.name === request.params.file);
    if (!pkg) throw new NotFoundError();
    return reply
      .code(302)
      .header('location', downloadUrl(request, access, latest.release, pkg))
      .header('cache-control', 'no-cache')
      .send('');
  });
}
