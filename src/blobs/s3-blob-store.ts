/**
 * @module blobs/s3-blob-store
 * Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2), through the AWS SDK.
 *
 * Keys are content-addressed, but the sha256 is known only once the last byte has arrived, so a
 * write streams (multipart, a few parts in memory at a time) to `tmp/<uuid>`, is hashed on the
 * way, and is then copied server-side to `blobs/<sha256>` and the temporary object deleted. The
 * object becomes visible under its final key only whole, and only after S3 acknowledged it.
 * A failed or aborted write aborts its multipart upload; whatever a crashed node leaves under
 * `tmp/` (objects or unfinished multipart uploads) is removed by `cleanTemporary`.
 *
 * SDK errors are translated here: a missing object is `null` from `stat`, a no-op for `delete`
 * and a `BlobNotFoundError` from `get`.
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BlobNotFoundError, type BlobInfo, type BlobStore, type ByteRange, type PresignOptions, type PutOptions, type StoredBlob } from './blob-store.ts';
import { MeteringStream } from './metering-stream.ts';
import { S3ResumableStaging } from './s3-resumable-staging.ts';

const KEY = /^[0-9a-f]{64}$/;
const BLOB_PREFIX = 'blobs/';
const TMP_PREFIX = 'tmp/';
/** S3's smallest part (except the last) is 5 MiB; 8 MiB × 2 in flight bounds memory per upload at 16 MiB. */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;
/**
 * A part is sent per 8 MiB received, so a slow client's live upload can go minutes without one;
 * unfinished multipart uploads younger than this are never aborted.
 */
const MULTIPART_MIN_AGE_MS = 60 * 60 * 1000;

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  endpoint?: string | null;
  forcePathStyle?: boolean;
  /** Default lifetime of presigned URLs, in seconds. */
  presignTtlSeconds?: number;
  /** When true, `capabilities.presign` is false: downloads go through Wharf. */
  proxyDownloads?: boolean;
  /** Explicit credentials (tests); otherwise the SDK's default chain (AWS_ACCESS_KEY_ID, profiles, instance roles…). */
  credentials?: S3ClientConfig['credentials'];
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function isNotImplemented(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NotImplemented' || e?.name === 'MethodNotAllowed' || e?.$metadata?.httpStatusCode === 501 || e?.$metadata?.httpStatusCode === 405;
}

/** `Content-Disposition: attachment` with an RFC 6266 filename (ASCII fallback plus UTF-8). */
function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export class S3BlobStore implements BlobStore {
  readonly capabilities: { presign: boolean };
  readonly client: S3Client;
  readonly #bucket: string;
  readonly #presignTtl: number;
  readonly resumable: S3ResumableStaging;

  constructor(options: S3BlobStoreOptions) {
    this.#bucket = options.bucket;
    this.#presignTtl = options.presignTtlSeconds ?? 300;
    this.capabilities = { presign: !options.proxyDownloads };
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Checksums on every request (the SDK's newer default) are not understood by all
      // S3-compatible servers; ask for them only where the API requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.resumable = new S3ResumableStaging({ client: this.client, bucket: this.#bucket, objectKey: (key) => this.#objectKey(key), stat: (key) => this.stat(key) });
  }

  #objectKey(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return `${BLOB_PREFIX}${key}`;
  }

  async put(source: Readable, options: PutOptions = {}): Promise<StoredBlob> {
    const tmpKey = `${TMP_PREFIX}${randomUUID()}`;
    const meter = new MeteringStream(options);
    // The SDK reads from its own stream, so a failure of the source or the meter reaches it as
    // an ended-with-error body, while the original error is what we report.
    const body = new PassThrough();
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.#bucket, Key: tmpKey, Body: body },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort().catch(() => undefined);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let uploaded = false;
    try {
      // Whichever side fails first stops the other, so neither waits forever on the other.
      const feeding = pipeline(source, meter, body, { signal: options.signal }).catch((err: unknown) => {
        void upload.abort().catch(() => undefined);
        throw err;
      });
      const sending = upload.done().catch((err: unknown) => {
        body.destroy(err as Error);
        throw err;
      });
      const results = await Promise.allSettled([feeding, sending]);
      if (results[0].status === 'rejected') throw results[0].reason;
      if (results[1].status === 'rejected') throw results[1].reason;
      uploaded = true;
      const key = meter.finish();
      await options.beforeCommit?.({ key, size: meter.size, sha256: key });
      const existing = await this.stat(key);
      // The same content is already stored (content addressing): nothing to copy.
      if (!existing || existing.size !== meter.size) {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.#bucket,
            CopySource: `${this.#bucket}/${tmpKey}`,
            Key: this.#objectKey(key),
          }),
        );
      }
      return { key, size: meter.size, sha256: key };
    } catch (err) {
      if (!uploaded) await upload.abort().catch(() => undefined);
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      // The temporary object exists only if the upload completed; deleting a missing key is a no-op.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: tmpKey })).catch(() => undefined);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const stream = res.Body;
      if (!(stream instanceof Readable)) throw new Error('the S3 client returned no stream');
      return stream;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key);
      throw err;
    }
  }

  async check(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }));
      return { key, size: Number(head.ContentLength ?? 0), modifiedAt: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async *#objects(prefix: string): AsyncIterable<{ Key?: string; Size?: number; LastModified?: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }));
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(): AsyncIterable<BlobInfo> {
    for await (const object of this.#objects(BLOB_PREFIX)) {
      const key = object.Key?.slice(BLOB_PREFIX.length) ?? '';
      if (KEY.test(key)) yield { key, size: Number(object.Size ?? 0), modifiedAt: object.LastModified ?? new Date(0) };
    }
  }

  async cleanTemporary(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for await (const object of this.#objects(TMP_PREFIX)) {
      if (object.Key && (object.LastModified?.getTime() ?? 0) < cutoff) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: object.Key }));
        removed++;
      }
    }
    removed += await this.#abortStaleMultipartUploads(Date.now() - Math.max(olderThanMs, MULTIPART_MIN_AGE_MS));
    return removed;
  }

  /**
   * Unfinished multipart uploads are invisible to listings yet billed; a node killed mid-upload
   * leaves one. (A bucket lifecycle rule `AbortIncompleteMultipartUpload` does the same job.)
   * Unlike a temporary file, an upload in progress on another node shows no activity between
   * parts, so one is aborted only when both it and its newest part are older than `cutoff`.
   */
  async #abortStaleMultipartUploads(cutoff: number): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: TMP_PREFIX, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId || (upload.Initiated?.getTime() ?? 0) >= cutoff) continue;
          if ((await this.#newestPartTime(upload.Key, upload.UploadId)) >= cutoff) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: upload.Key, UploadId: upload.UploadId })).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
          removed++;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      // Some S3-compatible servers cannot list multipart uploads; they clean up on their own.
      if (!isNotImplemented(err)) throw err;
    }
    return removed;
  }

  async #newestPartTime(key: string, uploadId: string): Promise<number> {
    let newest = 0;
    let marker: string | undefined;
    do {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const part of page.Parts ?? []) newest = Math.max(newest, part.LastModified?.getTime() ?? 0);
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    return newest;
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key: this.#objectKey(key),
      ResponseContentDisposition: attachmentDisposition(options.filename),
      ResponseContentType: options.contentType,
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresIn ?? this.#presignTtl });
  }

  /** Releases the HTTP agent's sockets. */
  destroy(): void {
    this.client.destroy();
  }
}
