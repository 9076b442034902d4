/**
 * @module http/presigned-downloads
 * Downloads straight from the object store: when the blob store can presign (S3, unless
 * `WHARF_S3_PROXY_DOWNLOADS`), an asset download answers `302 Found` with a short-lived URL, as
 * GitHub redirects to its storage host, so the bytes never pass through Wharf. gh, Octokit,
 * PyGithub and goreleaser follow the redirect; fetch-based clients drop the `Authorization`
 * header on the cross-origin hop, which S3 requires (a request may not carry two signatures).
 * The caller checks access first: the URL is the only credential the client then needs.
 */
import type { AppContext } from '../context.ts';
import type { Asset } from '../db/schema.ts';

/** The presigned URL for an uploaded asset's bytes, or null when downloads are served by Wharf. */
export async function presignedDownloadUrl(ctx: Pick<AppContext, 'blobs' | 'config'>, asset: Pick<Asset, 'name' | 'blob_key'>): Promise<string | null> {
  const { blobs } = ctx;
  if (!blobs.capabilities.presign || !blobs.presignGet || !asset.blob_key) return null;
  return blobs.presignGet(asset.blob_key, {
    filename: asset.name,
    // Bytes are always sent as octet-stream, as GitHub's storage host does, so nothing renders.
    contentType: 'application/octet-stream',
    expiresIn: ctx.config.s3?.presignTtlSeconds,
  });
}
