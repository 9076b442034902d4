/**
 * @module http/sendfile-downloads
 * Downloads handed to the reverse proxy: with `WHARF_SENDFILE_HEADER`, Wharf still resolves the
 * asset, checks access, answers conditional and unsatisfiable requests and counts the download,
 * but instead of streaming the bytes it answers with `X-Accel-Redirect` (nginx) or `X-Sendfile`
 * (Apache, lighttpd) naming the blob under `WHARF_SENDFILE_PREFIX`. The proxy then serves the file
 * from its internal location with sendfile, handling `Range` itself, and keeps the headers Wharf
 * chose (docs/deploy.md has the nginx configuration that does so). The internal location must
 * be unreachable from outside, so access is only ever granted by Wharf's answer.
 */
import type { AppContext } from '../context.ts';
import type { Asset } from '../db/schema.ts';

/** The header and value that hand an asset's bytes to the proxy, or null to stream them. */
export function sendfileHeaderFor(ctx: Pick<AppContext, 'blobs' | 'config'>, asset: Pick<Asset, 'blob_key'>): [string, string] | null {
  const { sendfileHeader, sendfilePrefix } = ctx.config;
  if (!sendfileHeader || !asset.blob_key || !ctx.blobs.relativePath) return null;
  return [sendfileHeader, `${sendfilePrefix}${ctx.blobs.relativePath(asset.blob_key)}`];
}
