/**
 * @module http/routes/asset-uploads
 * `POST {web}/api/uploads/repos/{o}/{r}/releases/{release_id}/assets?name=…&label=…` — the address
 * a release's `upload_url` template expands to. The body is the raw file, streamed to the blob
 * store as it arrives (never buffered), and it must announce its length up front: a missing,
 * malformed or chunked length is 400 `Bad Content-Length: `, a length over the limit is refused
 * before a byte is read, and the connection is then closed rather than drained.
 *
 * Clients' query strings are messy (an empty `label=`, a trailing `&`, `+` for spaces, raw
 * unencoded names), so the query is read leniently here. Errors take the upload host's shapes:
 * `request_id` in every body, `documentation_url` pointing at the generic REST docs, and low-level
 * failures as `{message, request_id}` only.
 */
import { closeAfterAnswer } from '../progress-deadline.ts';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { uploadAsset } from '../../services/assets.ts';
import { getRepoAccess } from '../../services/repositories.ts';
import { assetsJson } from './release-assets.ts';
import { parsePathId } from '../route-helpers.ts';
import { acceptRawBodies, declaredContentType, uploadBody } from '../raw-body.ts';
import { uploadRule } from '../client-errors.ts';

const UPLOAD_DOCS_URL = 'https://docs.github.com/rest';

/** Decodes one query component leniently: `+` is a space, and undecodable text is kept as sent. */
function decodeComponent(value: string): string {
  const spaced = value.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

export function parseUploadQuery(rawUrl: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = rawUrl.indexOf('?');
  if (q < 0) return out;
  for (const part of rawUrl.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(key)) out.set(key, eq < 0 ? '' : decodeComponent(part.slice(eq + 1)));
  }
  return out;
}

/** Errors whose body GitHub's upload host sends without a documentation link. */
const LOW_LEVEL = /^(Bad Content-Length|Error saving asset)/;

export function rewriteErrorBody(request: FastifyRequest, payload: unknown): unknown {
  if (typeof payload !== 'string') return payload;
  let parsed: { message?: string; errors?: unknown };
  try {
    parsed = JSON.parse(payload) as typeof parsed;
  } catch {
    return payload;
  }
  const message = parsed.message ?? 'Error';
  const body: Record<string, unknown> = { message, request_id: request.id };
  if (!LOW_LEVEL.test(message)) body.documentation_url = UPLOAD_DOCS_URL;
  if (parsed.errors) body.errors = parsed.errors;
  return JSON.stringify(body);
}

export function assetUploadRoutes(app: FastifyInstance, ctx: AppContext): void {
  // Its own context: the raw-body parser and the upload host's error shapes stay local.
  app.register(async (uploads) => {
    acceptRawBodies(uploads);
    uploads.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
      if (reply.statusCode < 400) return payload;
      // An unread body (refused early) is not drained: a 2 GiB upload would otherwise still arrive.
      closeAfterAnswer(request, reply);
      return rewriteErrorBody(request, payload);
    });

    uploads.post<{ Params: { owner: string; repo: string; release_id: string } }>(
      '/repos/:owner/:repo/releases/:release_id/assets',
      { bodyLimit: Math.max(ctx.config.maxAssetSize, 1) + 1 },
      async (request, reply) => {
        const query = parseUploadQuery(request.raw.url ?? '');
        const upload = uploadBody(request, uploadRule(ctx));
        const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
        const name = query.get('name');
        const label = query.get('label');
        const { asset, release, replayed } = await uploadAsset(ctx, access, {
          releaseId: parsePathId(request.params.release_id),
          // A missing name is refused by the service, after the permission check.
          name: name ?? '',
          // GitHub stores an empty `label=` (gh always sends one) as "", and no label as null.
          label: label ?? null,
          contentType: declaredContentType(request),
          // A documented extension (docs/assets.md): swap an uploaded asset's bytes in place.
          replace: query.get('replace') === 'true',
          // Another documented extension: a retry with the same key gets this request's answer.
          idempotencyKey: request.headers['idempotency-key'],
          ...upload,
        });
        if (replayed) reply.header('idempotent-replayed', 'true');
        const [json] = await assetsJson(ctx, request, access, release, [asset]);
        // uploads.github.com answers its 201 with a weak ETag and Last-Modified (no Location).
        const payload = JSON.stringify(json);
        reply.header('etag', `W/"${createHash('sha256').update(payload).digest('hex').slice(0, 32)}"`);
        reply.header('last-modified', new Date(asset.updated_at).toUTCString());
        return reply.code(201).type('application/json; charset=utf-8').send(payload);
      },
    );
  });
}
