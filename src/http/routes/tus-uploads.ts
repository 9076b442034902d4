/**
 * @module http/routes/tus-uploads
 * Resumable uploads of release assets with the tus 1.0 protocol (https://tus.io/protocols/resumable-upload),
 * a documented Wharf extension on the uploads host:
 *
 *   OPTIONS {uploads}/repos/{o}/{r}/releases/{id}/assets/resumable        what the server supports
 *   POST    {uploads}/repos/{o}/{r}/releases/{id}/assets/resumable        create (Upload-Length,
 *           Upload-Metadata: name, label, content_type); with a body: creation-with-upload
 *   HEAD    {Location}                                                    durable offset
 *   PATCH   {Location}   application/offset+octet-stream, Upload-Offset   append (Upload-Checksum: sha256)
 *   DELETE  {Location}                                                    termination
 *
 * Extensions: creation, creation-with-upload, expiration, checksum (sha256; a mismatch is 460),
 * termination. Authentication, permissions and error bodies are the classic upload's (a private
 * repository is 404, missing push access 403, a taken name 422 `already_exists`); tus's own
 * statuses (409 offset mismatch, 412 version, 415 media type, 423 locked, 460 checksum) carry
 * the same JSON body. The protocol is written here rather than with `@tus/server`: see
 * docs/assets.md ("Why not @tus/server").
 */
import { closeAfterAnswer } from '../progress-deadline.ts';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { BadRequestError } from '../../domain/errors.ts';
import { getRepoAccess } from '../../services/repositories.ts';
import { appendToResumableUpload, createResumableUpload, getResumableUpload, terminateResumableUpload, type ResumableUploadState } from '../../services/resumable-uploads.ts';
import { sendError } from '../errors.ts';
import { acceptRawBodies, declaredContentType } from '../raw-body.ts';
import { parsePathId } from '../route-helpers.ts';
import { ruleOfRequest, type ScopeRule } from '../route-scopes.ts';
import { requestUrls } from '../urls.ts';
import { rewriteErrorBody } from './asset-uploads.ts';
import { leaveAdmission } from '../admission.ts';

const TUS_VERSION = '1.0.0';
const EXTENSIONS = 'creation,creation-with-upload,expiration,checksum,termination';
const CHUNK_TYPE = 'application/offset+octet-stream';

type ReleaseParams = { owner: string; repo: string; release_id: string };
type UploadParams = ReleaseParams & { upload_id: string };

/** `Upload-Metadata`: comma-separated `key base64value` pairs (a key alone means an empty value). */
export function parseUploadMetadata(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const pair of header.split(',')) {
    const [key, value, extra] = pair.trim().split(' ');
    if (!key || extra !== undefined) throw new BadRequestError('Bad Request: malformed Upload-Metadata');
    if (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new BadRequestError('Bad Request: malformed Upload-Metadata');
    out.set(key, value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8'));
  }
  return out;
}

/** A non-negative integer header, or a 400 naming it. */
function integerHeader(request: FastifyRequest, name: string): number | null {
  const raw = request.headers[name];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !/^\d{1,16}$/.test(raw)) throw new BadRequestError(`Bad Request: invalid ${name}`);
  return Number(raw);
}

/** `Upload-Checksum: sha256 <base64>`, the only algorithm offered. */
function parseChecksum(request: FastifyRequest): Buffer | null {
  const raw = request.headers['upload-checksum'];
  if (raw === undefined) return null;
  const m = typeof raw === 'string' ? /^(\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(raw.trim()) : null;
  if (!m) throw new BadRequestError('Bad Request: invalid Upload-Checksum');
  if (m[1]!.toLowerCase() !== 'sha256') throw new BadRequestError('Bad Request: unsupported checksum algorithm (use sha256)');
  return Buffer.from(m[2]!, 'base64');
}

function setStateHeaders(reply: FastifyReply, state: ResumableUploadState): void {
  // A Wharf extension: the asset the upload fills, so a client can rename it or read its digest.
  reply.header('x-wharf-asset-id', String(state.assetId));
  reply.header('upload-offset', String(state.offset));
  reply.header('upload-expires', new Date(state.expiresAt).toUTCString());
}

function uploadLocation(ctx: AppContext, request: FastifyRequest, p: ReleaseParams, id: string): string {
  const seg = (s: string) => encodeURIComponent(s);
  return `${requestUrls(ctx.config, request).uploads}/repos/${seg(p.owner)}/${seg(p.repo)}/releases/${seg(p.release_id)}/assets/resumable/${id}`;
}

function isChunk(request: FastifyRequest): boolean {
  return declaredContentType(request).split(';')[0]!.trim().toLowerCase() === CHUNK_TYPE;
}

export interface TusRouteOptions {
  /**
   * Identifies callers the uploads host's `Authorization` header did not (the web uploader's
   * signed-in session with its CSRF proof); runs before every request but `OPTIONS`.
   */
  authenticate?: (request: FastifyRequest, rule: ScopeRule | undefined) => Promise<void>;
}

export function tusUploadRoutes(app: FastifyInstance, ctx: AppContext, routeOptions: TusRouteOptions = {}): void {
  app.register(async (tus) => {
    acceptRawBodies(tus);
    tus.addHook('onRequest', async (request, reply) => {
      reply.header('tus-resumable', TUS_VERSION);
      // Browsers (the web uploader) must be able to read tus's headers.
      reply.header(
        'access-control-expose-headers',
        'Location, Upload-Offset, Upload-Length, Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, X-Wharf-Asset-Id',
      );
      if (request.method === 'OPTIONS') return;
      if (request.headers['tus-resumable'] !== TUS_VERSION) {
        reply.header('tus-version', TUS_VERSION);
        return sendError(reply, 412, 'Precondition Failed: Tus-Resumable must be 1.0.0');
      }
      await routeOptions.authenticate?.(request, ruleOfRequest(request, '/api/uploads'));
    });
    tus.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode < 400) return payload;
      // A refused body is not drained: a large chunk would otherwise still arrive.
      closeAfterAnswer(request, reply);
      return rewriteErrorBody(request, payload);
    });

    const options = async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.header('tus-version', TUS_VERSION);
      reply.header('tus-extension', EXTENSIONS);
      reply.header('tus-checksum-algorithm', 'sha256');
      reply.header('tus-max-size', String(ctx.config.maxAssetSize));
      return reply.code(204).send();
    };
    tus.options('/repos/:owner/:repo/releases/:release_id/assets/resumable', options);
    tus.options('/repos/:owner/:repo/releases/:release_id/assets/resumable/:upload_id', options);

    tus.post<{ Params: ReleaseParams }>(
      '/repos/:owner/:repo/releases/:release_id/assets/resumable',
      { bodyLimit: Math.max(ctx.config.maxAssetSize, 1) + 1 },
      async (request, reply) => {
        if (request.headers['upload-defer-length'] !== undefined) throw new BadRequestError('Bad Request: Upload-Defer-Length is not supported; send Upload-Length');
        const length = integerHeader(request, 'upload-length');
        const bodyLength = integerHeader(request, 'content-length') ?? 0;
        const withUpload = bodyLength > 0 || request.headers['transfer-encoding'] !== undefined;
        if (withUpload && !isChunk(request)) return sendError(reply, 415, `Unsupported Media Type: a body must be ${CHUNK_TYPE}`);
        const metadata = parseUploadMetadata(request.headers['upload-metadata'] as string | undefined);
        const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
        if (length === null) throw new BadRequestError('Bad Request: Upload-Length is required');
        const releaseId = parsePathId(request.params.release_id);
        const { state } = await createResumableUpload(ctx, access, {
          releaseId,
          length,
          name: metadata.get('name') || metadata.get('filename'),
          label: metadata.has('label') ? metadata.get('label')! : null,
          contentType: metadata.get('content_type') || metadata.get('filetype') || 'application/octet-stream',
        });
        reply.header('location', uploadLocation(ctx, request, request.params, state.id));
        let current: ResumableUploadState = state;
        if (withUpload) {
          leaveAdmission(request);
          current = await appendToResumableUpload(ctx, access, releaseId, state.id, {
            offset: 0,
            body: (request.body as Readable | undefined) ?? request.raw,
            declaredLength: integerHeader(request, 'content-length'),
            checksum: parseChecksum(request),
          });
        }
        setStateHeaders(reply, current);
        return reply.code(201).send();
      },
    );

    tus.head<{ Params: UploadParams }>('/repos/:owner/:repo/releases/:release_id/assets/resumable/:upload_id', async (request, reply) => {
      const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
      const state = await getResumableUpload(ctx, access, parsePathId(request.params.release_id), request.params.upload_id);
      setStateHeaders(reply, state);
      reply.header('upload-length', String(state.length));
      reply.header('cache-control', 'no-store');
      return reply.code(200).send();
    });

    tus.patch<{ Params: UploadParams }>(
      '/repos/:owner/:repo/releases/:release_id/assets/resumable/:upload_id',
      { bodyLimit: Math.max(ctx.config.maxAssetSize, 1) + 1 },
      async (request, reply) => {
        if (!isChunk(request)) return sendError(reply, 415, `Unsupported Media Type: use ${CHUNK_TYPE}`);
        const offset = integerHeader(request, 'upload-offset');
        if (offset === null) throw new BadRequestError('Bad Request: Upload-Offset is required');
        const checksum = parseChecksum(request);
        const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
        // The chunk streams from here on, bounded by the connection limit and the body watch.
        leaveAdmission(request);
        const state = await appendToResumableUpload(ctx, access, parsePathId(request.params.release_id), request.params.upload_id, {
          offset,
          body: (request.body as Readable | undefined) ?? request.raw,
          declaredLength: integerHeader(request, 'content-length'),
          checksum,
        });
        setStateHeaders(reply, state);
        return reply.code(204).send();
      },
    );

    tus.delete<{ Params: UploadParams }>('/repos/:owner/:repo/releases/:release_id/assets/resumable/:upload_id', async (request, reply) => {
      const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
      await terminateResumableUpload(ctx, access, parsePathId(request.params.release_id), request.params.upload_id);
      return reply.code(204).send();
    });
  });
}
