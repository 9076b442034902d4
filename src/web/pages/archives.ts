/**
 * @module web/pages/archives
 * Source archives as the release pages link them: `/{owner}/{repo}/archive/refs/tags/{tag}.zip`
 * (or `.tar.gz`, or any ref). The repository's visibility applies, so a private repository's
 * archives are 404 to anyone without access, as its pages are. The archive's top folder and file
 * name follow GitHub's web archives: `{repo}-{tag without a leading v}`.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { attachmentDisposition } from '../../http/content-disposition.ts';
import { countExpensiveRequest } from '../../http/rate-limit.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import * as gitData from '../../services/git-data.ts';

export function parseArchivePath(path: string): { ref: string; format: 'zip' | 'tar.gz' } | null {
  const format = path.endsWith('.tar.gz') ? 'tar.gz' : path.endsWith('.zip') ? 'zip' : null;
  if (!format) return null;
  const ref = path.slice(0, -(format.length + 1));
  if (!ref) return null;
  return { ref, format };
}

/** GitHub's `{version}` in `{repo}-{version}`: the ref's short name, a leading `v` before a digit dropped. */
function archiveVersion(resolvedName: string): string {
  return resolvedName.replace(/^v(?=\d)/, '').replace(/\//g, '-');
}

export function archiveRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: { owner: string; repo: string; '*': string } }>('/:owner/:repo/archive/*', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const parsed = parseArchivePath(request.params['*']);
    if (!parsed) throw new NotFoundError();
    const resolved = await gitData.resolveArchiveRef(ctx, access.repo, parsed.ref);
    if (!resolved) throw new NotFoundError();
    const { sha } = resolved;
    const top = `${access.repo.name}-${archiveVersion(resolved.name)}`;
    reply.header('content-type', parsed.format === 'zip' ? 'application/zip' : 'application/x-gzip');
    reply.header('content-disposition', attachmentDisposition(`${top}.${parsed.format}`));
    reply.header('x-content-type-options', 'nosniff');
    reply.header('etag', `"${sha}-${parsed.format}"`);
    if (request.method === 'HEAD') return reply.send();
    // An archive is expensive: it counts against the caller's rate limit, as API requests do.
    await countExpensiveRequest(ctx, request.principal, request.ip);
    const { stream, stop } = await gitData.archive(ctx, access.repo, sha, parsed.format, top);
    // Stopped when the client goes away; stopping a finished archive does nothing.
    reply.raw.on('close', stop);
    return reply.send(stream);
  });
}
