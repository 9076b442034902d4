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
  /** The store can hand out short-lived URLs that bypass Wharf (S3 presigning). */
  presign: boolean;
}

export interface BlobStore {
  readonly capabilities: BlobStoreCapabilities;
  /**
   * Streams `source` into the store, hashing it on the way. Resolves only once the bytes are
   * durable (fsync or the object store's acknowledgement). On any failure nothing is left behind.
   */
  put(source: Readable, options?: PutOptions): Promise<StoredBlob>;
  /** Opens the bytes (or a range of them) for reading. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | null>;
  delete(key: string): Promise<void>;
  /** Every stored blob, for the sweeper and for migrations between stores. */
  list(): AsyncIterable<BlobInfo>;
  /** Removes temporary files older than `olderThanMs` left by interrupted writes. */
  cleanTemporary(olderThanMs: number): Promise<number>;
}

export class BlobTooLargeError extends Error {}
export class BlobSizeMismatchError extends Error {}
export class BlobStorageFullError extends Error {}
