/**
 * @module blobs/s3-resumable-staging
 * Resumable writes for the S3 store: each upload is one S3 multipart upload of
 * `resumable/<id>/data`, with parts of exactly `PART_SIZE` bytes (S3 wants at least 5 MiB for every
 * part but the last). Bytes that do not fill a part when a request ends (a small tus chunk, a cut
 * connection) are kept durable as a tail object `resumable/<id>/tail-<uuid>` in the bucket, never
 * only in memory; the next append reads the tail back and continues filling the part. The state
 * (multipart upload id, parts with their ETags, the tail) is recorded by the caller, so any node
 * can continue. Completion assembles the multipart upload, hashes the object back if asked, and
 * copies it to its content address, as `put` does.
 *
 * Memory: one part (8 MiB) per upload being appended to. Clients whose chunks are multiples of
 * 8 MiB never write a tail except when cut off.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BlobSizeMismatchError, BlobTooLargeError, type AppendInput, type ResumableStaging, type StagedAppend, type StoredBlob } from './blob-store.ts';

const ID = /^[0-9a-f]{32}$/;
const PREFIX = 'resumable/';
export const RESUMABLE_PART_SIZE = 8 * 1024 * 1024;

interface Part {
  n: number;
  etag: string;
  size: number;
}

interface S3StagingState {
  uploadId: string;
  parts: Part[];
  tail: { key: string; size: number } | null;
}

function parseState(state: string): S3StagingState {
  const parsed = JSON.parse(state) as S3StagingState;
  if (typeof parsed.uploadId !== 'string' || !Array.isArray(parsed.parts)) throw new Error('not an S3 staging state');
  return parsed;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404;
}

/** The server does not implement the call (s3rver cannot abort multipart uploads, for one). */
function isUnsupported(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NotImplemented' || e?.name === 'MethodNotAllowed' || e?.$metadata?.httpStatusCode === 501 || e?.$metadata?.httpStatusCode === 405;
}

/** Marks a failure of the source (the client), as opposed to one of the bucket. */
class SourceCut extends Error {
  constructor(cause: unknown) {
    super('the source failed', { cause });
  }
}

export interface S3StagingHost {
  client: S3Client;
  bucket: string;
  /** The object key of blob `key` (content-addressed). */
  objectKey(key: string): string;
  stat(key: string): Promise<{ size: number } | null>;
}

export class S3ResumableStaging implements ResumableStaging {
  constructor(private readonly host: S3StagingHost) {}

  #dataKey(id: string): string {
    if (!ID.test(id)) throw new Error(`invalid staging id ${JSON.stringify(id)}`);
    return `${PREFIX}${id}/data`;
  }

  async begin(id: string): Promise<string> {
    const res = await this.host.client.send(new CreateMultipartUploadCommand({ Bucket: this.host.bucket, Key: this.#dataKey(id) }));
    if (!res.UploadId) throw new Error('S3 returned no multipart upload id');
    const state: S3StagingState = { uploadId: res.UploadId, parts: [], tail: null };
    return JSON.stringify(state);
  }

  async #readObject(key: string, signal: AbortSignal): Promise<Buffer> {
    const res = await this.host.client.send(new GetObjectCommand({ Bucket: this.host.bucket, Key: key }), { abortSignal: signal });
    if (!(res.Body instanceof Readable)) throw new Error('the S3 client returned no stream');
    const chunks: Buffer[] = [];
    for await (const chunk of res.Body as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async append(id: string, state: string, input: AppendInput): Promise<StagedAppend> {
    const st = parseState(state);
    const key = this.#dataKey(id);
    const parts = [...st.parts];
    const staged = parts.reduce((sum, p) => sum + p.size, 0) + (st.tail?.size ?? 0);
    if (staged !== input.offset) throw new Error(`staging of ${id} holds ${staged} bytes, not ${input.offset}`);
    let pending: Buffer[] = st.tail ? [await this.#readObject(st.tail.key, input.signal)] : [];
    let pendingBytes = st.tail?.size ?? 0;
    const sendPart = async (bytes: Buffer) => {
      const n = parts.length + 1;
      const res = await this.host.client.send(
        new UploadPartCommand({ Bucket: this.host.bucket, Key: key, UploadId: st.uploadId, PartNumber: n, Body: bytes, ContentLength: bytes.length }),
        { abortSignal: input.signal },
      );
      if (!res.ETag) throw new Error('S3 returned no ETag for a part');
      parts.push({ n, etag: res.ETag, size: bytes.length });
    };

    let seen = 0;
    const source = input.source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        const next = await source.next().catch((err: unknown) => {
          throw new SourceCut(err);
        });
        if (next.done) break;
        if (input.signal.aborted) throw input.signal.reason;
        seen += next.value.length;
        if (input.offset + seen > input.length) throw new BlobTooLargeError('more bytes than the upload declared');
        pending.push(next.value);
        pendingBytes += next.value.length;
        while (pendingBytes >= RESUMABLE_PART_SIZE) {
          const all = Buffer.concat(pending);
          await sendPart(all.subarray(0, RESUMABLE_PART_SIZE));
          const rest = all.subarray(RESUMABLE_PART_SIZE);
          pending = rest.length ? [rest] : [];
          pendingBytes = rest.length;
        }
      }
    } catch (err) {
      if (!(err instanceof SourceCut)) {
        await source.return?.().catch(() => undefined);
        throw err;
      }
      if (input.signal.aborted) throw input.signal.reason;
      // The client went away: what arrived is kept below.
    }

    const end = input.offset + seen;
    let tail: S3StagingState['tail'] = null;
    if (end === input.length) {
      // The last part may be short.
      if (pendingBytes > 0) await sendPart(Buffer.concat(pending));
    } else if (pendingBytes > 0) {
      const tailKey = `${PREFIX}${id}/tail-${randomUUID()}`;
      const body = Buffer.concat(pending);
      await this.host.client.send(new PutObjectCommand({ Bucket: this.host.bucket, Key: tailKey, Body: body, ContentLength: body.length }), { abortSignal: input.signal });
      tail = { key: tailKey, size: body.length };
    }
    const next: S3StagingState = { uploadId: st.uploadId, parts, tail };
    return { state: JSON.stringify(next), written: seen };
  }

  async superseded(_id: string, previous: string, next: string): Promise<void> {
    const before = parseState(previous).tail;
    if (before && before.key !== parseState(next).tail?.key) {
      await this.host.client.send(new DeleteObjectCommand({ Bucket: this.host.bucket, Key: before.key })).catch(() => undefined);
    }
  }

  /** Assembles the multipart upload into `resumable/<id>/data` unless an earlier attempt did. */
  async #assemble(id: string, state: string, size: number): Promise<string> {
    const key = this.#dataKey(id);
    const existing = await this.#head(key);
    if (existing !== null) {
      if (existing !== size) throw new BlobSizeMismatchError(`staged ${existing} bytes, expected ${size}`);
      return key;
    }
    const st = parseState(state);
    const staged = st.parts.reduce((sum, p) => sum + p.size, 0);
    if (staged !== size || st.tail) throw new BlobSizeMismatchError(`staged ${staged} bytes, expected ${size}`);
    try {
      await this.host.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.host.bucket,
          Key: key,
          UploadId: st.uploadId,
          MultipartUpload: { Parts: st.parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      // Completed by an attempt whose answer was lost: the object is there now.
      if (!isNotFound(err) || (await this.#head(key)) !== size) throw err;
    }
    return key;
  }

  async #head(key: string): Promise<number | null> {
    try {
      const head = await this.host.client.send(new HeadObjectCommand({ Bucket: this.host.bucket, Key: key }));
      return Number(head.ContentLength ?? 0);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async digest(id: string, state: string, size: number): Promise<string> {
    const key = await this.#assemble(id, state, size);
    const res = await this.host.client.send(new GetObjectCommand({ Bucket: this.host.bucket, Key: key }));
    if (!(res.Body instanceof Readable)) throw new Error('the S3 client returned no stream');
    const hash = createHash('sha256');
    let read = 0;
    for await (const chunk of res.Body as AsyncIterable<Buffer>) {
      read += chunk.length;
      hash.update(chunk);
    }
    if (read !== size) throw new BlobSizeMismatchError(`read ${read} bytes, expected ${size}`);
    return hash.digest('hex');
  }

  async complete(id: string, state: string, options: { size: number; sha256: string }): Promise<StoredBlob> {
    const key = await this.#assemble(id, state, options.size);
    const existing = await this.host.stat(options.sha256);
    // The same content is already stored (content addressing): nothing to copy.
    if (!existing || existing.size !== options.size) {
      await this.host.client.send(new CopyObjectCommand({ Bucket: this.host.bucket, CopySource: `${this.host.bucket}/${key}`, Key: this.host.objectKey(options.sha256) }));
    }
    return { key: options.sha256, size: options.size, sha256: options.sha256 };
  }

  async discard(id: string, state?: string): Promise<void> {
    const key = this.#dataKey(id);
    const uploadIds = new Set<string>();
    if (state) uploadIds.add(parseState(state).uploadId);
    try {
      const page = await this.host.client.send(new ListMultipartUploadsCommand({ Bucket: this.host.bucket, Prefix: key }));
      for (const upload of page.Uploads ?? []) if (upload.Key === key && upload.UploadId) uploadIds.add(upload.UploadId);
    } catch {
      // Some S3-compatible servers cannot list multipart uploads; the recorded one is aborted below.
    }
    for (const uploadId of uploadIds) {
      await this.host.client.send(new AbortMultipartUploadCommand({ Bucket: this.host.bucket, Key: key, UploadId: uploadId })).catch((err: unknown) => {
        // Without abort, the parts stay until the bucket's `AbortIncompleteMultipartUpload` rule.
        if (!isNotFound(err) && !isUnsupported(err)) throw err;
      });
    }
    for await (const object of this.#objects(`${PREFIX}${id}/`)) {
      if (object.Key) await this.host.client.send(new DeleteObjectCommand({ Bucket: this.host.bucket, Key: object.Key }));
    }
  }

  async *#objects(prefix: string): AsyncIterable<{ Key?: string; LastModified?: Date }> {
    let token: string | undefined;
    do {
      const page = await this.host.client.send(new ListObjectsV2Command({ Bucket: this.host.bucket, Prefix: prefix, ContinuationToken: token }));
      yield* page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(): AsyncIterable<{ id: string; modifiedAt: Date }> {
    const newest = new Map<string, number>();
    const note = (key: string | undefined, time: Date | undefined) => {
      const id = key?.slice(PREFIX.length).split('/')[0] ?? '';
      if (ID.test(id)) newest.set(id, Math.max(newest.get(id) ?? 0, time?.getTime() ?? 0));
    };
    for await (const object of this.#objects(PREFIX)) note(object.Key, object.LastModified);
    try {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await this.host.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.host.bucket, Prefix: PREFIX, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const upload of page.Uploads ?? []) note(upload.Key, upload.Initiated);
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch {
      // Not every S3-compatible server lists multipart uploads; objects were listed above.
    }
    for (const [id, time] of newest) yield { id, modifiedAt: new Date(time) };
  }
}
