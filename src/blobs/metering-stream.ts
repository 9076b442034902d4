/**
 * @module blobs/metering-stream
 * The pass-through every blob store puts between a body and its storage: it counts and hashes
 * the bytes on the way and fails as soon as the body is longer than allowed or promised, so an
 * oversized upload is cut off before it fills the disk or the bucket.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BlobSizeMismatchError, BlobTooLargeError, type PutOptions } from './blob-store.ts';

export class MeteringStream extends Transform {
  #size = 0;
  readonly #hash = createHash('sha256');
  readonly #maxSize: number | undefined;
  readonly #expectedSize: number | undefined;

  constructor(options: Pick<PutOptions, 'maxSize' | 'expectedSize'>) {
    super();
    this.#maxSize = options.maxSize;
    this.#expectedSize = options.expectedSize;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#maxSize !== undefined && this.#size > this.#maxSize) return done(new BlobTooLargeError(`blob larger than ${this.#maxSize} bytes`));
    if (this.#expectedSize !== undefined && this.#size > this.#expectedSize) {
      return done(new BlobSizeMismatchError(`body longer than ${this.#expectedSize} bytes`));
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** Once the body has ended: throws on a short body, else the bytes' sha256 in hex. */
  finish(): string {
    if (this.#expectedSize !== undefined && this.#size !== this.#expectedSize) {
      throw new BlobSizeMismatchError(`body has ${this.#size} bytes, expected ${this.#expectedSize}`);
    }
    return this.#hash.digest('hex');
  }
}
