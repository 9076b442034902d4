/**
 * @module http/routes/asset-downloads
 * Serving asset bytes, for the API (`Accept: application/octet-stream`) and for the browser URLs
 * at the web root (`web/asset-downloads`).
 *
 * With the file blob store Wharf streams the bytes itself (200/206). With S3 it checks access, then
 * answers 302 to a short-lived presigned URL (as GitHub redirects to its storage host), so bytes
 * flow from the bucket to the client; `WHARF_S3_PROXY_DOWNLOADS` keeps streaming through Wharf.
 * Behind a reverse proxy, `WHARF_SENDFILE_HEADER` hands the file to the proxy after the same
 * checks (see sendfile-downloads).
 * Bytes are always sent as `application/octet-stream` with `Content-Disposition: attachment` and a
 * sandboxing CSP, as GitHub's storage host does, so user HTML or SVG never renders on Wharf's origin.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Asset } from '../../db/schema.ts';
import { countDownload } from '../../services/assets.ts';
import { presignedDownloadUrl } from '../presigned-downloads.ts';
import { sendfileHeaderFor } from '../sendfile-downloads.ts';

interface Range {
  start: number;
  end: number;
}

/**
 * Parses a single-range `Range` header. Returns null to serve the whole body (absent, malformed
 * or multi-range headers: RFC 9110 lets a server ignore those), 'unsatisfiable' for a 416.
 */
export function parseRange(header: string | undefined, size: number): Range | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}

function etagOf(asset: Asset): string {
  return `"${asset.digest}"`;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === etag;
  });
}

/**
 * `attachment; filename=<name>` as GitHub sends it, quoted when the name is not an HTTP token
 * (`@` is allowed in asset names but is not a token character), plus the RFC 8187 form.
 */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const filename = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(ascii) ? ascii : `"${ascii}"`;
  return `attachment; filename=${filename}; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Sends an uploaded asset's bytes with Range, HEAD, ETag/304 and `Last-Modified`. A download is
 * counted once its last byte has been handed to the client (a full body, or the range that ends
 * the file), so HEADs, 304s, aborted transfers and mid-file chunks do not count.
 */
export async function sendAssetBytes(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, asset: Asset): Promise<FastifyReply> {
  const size = asset.size;
  const etag = etagOf(asset);
  reply.headers({
    'content-type': 'application/octet-stream',
    'content-disposition': contentDisposition(asset.name),
    'accept-ranges': 'bytes',
    etag,
    'last-modified': new Date(asset.updated_at).toUTCString(),
    'cache-control': request.principal ? 'private, max-age=300' : 'public, max-age=300',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  });
  if (matchesEtag(request.headers['if-none-match'], etag)) {
    reply.removeHeader('content-type');
    return reply.code(304).send();
  }
  let range = parseRange(request.headers.range, size);
  const ifRange = request.headers['if-range'];
  if (range && typeof ifRange === 'string' && ifRange.trim() !== etag) range = null; // the client's copy is stale: send all
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`);
    reply.removeHeader('content-type');
    return reply.code(416).type('text/plain').send('');
  }
  const presigned = await presignedDownloadUrl(ctx, asset);
  if (presigned) {
    // The object store serves the bytes (and honours the client's Range on the redirected
    // request); a download is counted when its whole file is asked for, as GitHub counts redirects.
    if (request.method === 'GET' && (!range || range.end === size - 1)) {
      await countDownload(ctx, asset.id);
    }
    reply.removeHeader('content-type');
    reply.removeHeader('accept-ranges');
    reply.header('cache-control', 'no-cache');
    return reply.code(302).header('location', presigned).type('text/html; charset=utf-8').send('');
  }
  const handOff = request.method === 'GET' ? sendfileHeaderFor(ctx, asset) : null;
  if (handOff) {
    // The proxy serves the file (and the client's Range, against the ETag above for If-Range);
    // it cannot tell Wharf when the last byte left, so the download counts when it is handed off.
    if (!range || range.end === size - 1) {
      await countDownload(ctx, asset.id);
    }
    reply.removeHeader('accept-ranges');
    return reply.header(handOff[0], handOff[1]).send('');
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);
  reply.header('content-length', String(end - start + 1));
  if (request.method === 'HEAD') return reply.send();

  const stream = await ctx.blobs.get(asset.blob_key!, range ? { start, end } : undefined);
  const completesFile = end === size - 1;
  reply.raw.once('finish', () => {
    if (!completesFile) return;
    void countDownload(ctx, asset.id);
  });
  return reply.send(stream);
}
