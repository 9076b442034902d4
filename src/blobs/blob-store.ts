/**
 * @module blobs/blob-store
 * The seam for asset bytes. Every byte Wharf stores or serves goes through this interface, as a
 * stream: the local directory now, S3-compatible storage later. Blobs are content-addressed by
 * sha256, which gives integrity checks and deduplication for free.
 */
import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Refuse (and discard) the blob once more than this many bytes arrive. */
  maxSize?: number;
  /** When given, a body of any other length is refused (a lying or truncated upload). */
  expectedSize?: number;
  signal?: AbortSignal;
  /**
   * Called once the bytes are durable and their key known, before they are stored under that
   * key: blob collection uses it to reference the key first (see services/blob-gc). Throwing
   * discards the bytes and fails the put.
   */
  beforeCommit?: (blob: StoredBlob) => Promise<void>;
}

export interface StoredBlob {
  key: string;
  size: number;
  /** sha256 of the bytes, lowercase hex. */
  sha256: string;
}

export interface BlobInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface ByteRange {
  start: number;
  /** Inclusive, as in HTTP. */
  end: number;
}

export interface BlobStoreCapabilities {
  /**
   * The store can hand out short-lived URLs that clients fetch directly, bypassing Wharf (S3
   * presigning). False for the file store, and for S3 when downloads are proxied because clients
   * cannot reach the bucket (`WHARF_S3_PROXY_DOWNLOADS`).
   */
  presign: boolean;
}

export interface PresignOptions {
  /** The name the client saves the file under (sent back as `Content-Disposition: attachment`). */
  filename: string;
  /** The `Content-Type` the object store answers with. */
  contentType: string;
  /** Lifetime of the URL in seconds; the store's configured default when omitted. */
  expiresIn?: number;
}

/** What one `ResumableStaging.append` made durable. */
export interface StagedAppend {
  /** The staging state to record (opaque to callers; only the store reads it). */
  state: string;
  /** Bytes of the source now durably staged after `offset` (fewer than sent when it was cut off). */
  written: number;
}

export interface AppendInput {
  /** The durable offset `state` describes; bytes past it from an interrupted earlier append are discarded. */
  offset: number;
  /** The whole upload's length: an append reaching it closes the staging (the last, short S3 part). */
  length: number;
  source: Readable;
  /** Aborting stops the append and throws: nothing it wrote may be recorded. */
  signal: AbortSignal;
}

/**
 * Writes that arrive in pieces over many requests, possibly on different nodes, and that survive
 * a crash at their last durable offset: the bytes of a resumable (tus) upload. The caller keeps
 * the returned state (in the database) and passes it back; the store keeps nothing in memory.
 * One writer at a time per `id` (the caller's lock); staging lives apart from `put`'s temporary
 * files, since an idle resumable upload may wait hours between requests.
 */
export interface ResumableStaging {
  /** Starts staging `id` (a caller-chosen unique token); returns its initial state. */
  begin(id: string): Promise<string>;
  /**
   * Appends the source at `offset` and resolves once those bytes are durable (fsync, or parts
   * acknowledged by the object store). A source that fails or ends early is not an error: the
   * bytes that arrived are kept and `written` says how many.
   */
  append(id: string, state: string, input: AppendInput): Promise<StagedAppend>;
  /** Removes what only `previous` referenced, once the caller durably recorded `next`. */
  superseded(id: string, previous: string, next: string): Promise<void>;
  /** The sha256 (lowercase hex) of the complete staging (`size` bytes), read back from the store. */
  digest(id: string, state: string, size: number): Promise<string>;
  /**
   * Stores the complete staging (`size` bytes whose sha256 is `sha256`) as a blob. Repeatable
   * after a crash (the blob may already be in place).
   */
  complete(id: string, state: string, options: { size: number; sha256: string }): Promise<StoredBlob>;
  /** Removes the staging of `id` and all its bytes (finished, terminated, expired or orphaned). */
  discard(id: string, state?: string): Promise<void>;
  /** Every staging present, for the sweeper to remove those no upload records. */
  list(): AsyncIterable<{ id: string; modifiedAt: Date }>;
}

export interface BlobStore {
  readonly capabilities: BlobStoreCapabilities;
  /** Chunked, resumable writes (tus uploads). */
  readonly resumable: ResumableStaging;
  /**
   * Streams `source` into the store, hashing it on the way. Resolves only once the bytes are
   * durable (fsync or the object store's acknowledgement). On any failure nothing is left behind.
   */
  put(source: Readable, options?: PutOptions): Promise<StoredBlob>;
  /** Opens the bytes (or a range of them) for reading. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | null>;
  delete(key: string): Promise<void>;
  /** Throws unless the store can be written now (readiness): the directory, or the bucket. */
  check(): Promise<void>;
  /** Every stored blob, for the sweeper and for migrations between stores. */
  list(): AsyncIterable<BlobInfo>;
  /**
   * Removes what interrupted writes left behind that is older than `olderThanMs` (temporary
   * files, temporary objects, unfinished multipart uploads); returns how many it removed.
   */
  cleanTemporary(olderThanMs: number): Promise<number>;
  /**
   * A short-lived URL from which anyone holding it can GET the blob's bytes without going
   * through Wharf, answering with `filename` and `contentType` (for a 302 download redirect, as
   * GitHub does). Call it only when `capabilities.presign` is true; otherwise serve `get()`.
   * It does not check that the blob exists (it signs locally, without a round trip).
   */
  presignGet?(key: string, options: PresignOptions): Promise<string>;
  /**
   * Where the blob lives under the store's directory (`ab/cd/<key>`), for a reverse proxy that
   * serves that directory itself (`X-Accel-Redirect`, `X-Sendfile`). Only stores on a local
   * filesystem have it.
   */
  relativePath?(key: string): string;
}

/** `get()` of a key the store does not hold. `code` matches Node's for callers that check it. */
export class BlobNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(key: string) {
    super(`no blob ${key}`);
  }
}

export class BlobTooLargeError extends Error {}
export class BlobSizeMismatchError extends Error {}
export class BlobStorageFullError extends Error {}
