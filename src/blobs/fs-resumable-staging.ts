/**
 * @module blobs/fs-resumable-staging
 * Resumable writes for the file store: one staging file per upload under `resumable/`, appended
 * in place. An append first truncates the file to the caller's durable offset (discarding bytes
 * a crashed or cut-off earlier append wrote but nobody recorded), writes, and fsyncs before it
 * reports the new length; completion renames the file to its content address, as `put` does.
 * The state is only the file's name, so any process on the same directory can continue.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BlobNotFoundError,
  BlobSizeMismatchError,
  BlobStorageFullError,
  BlobTooLargeError,
  type AppendInput,
  type ResumableStaging,
  type StagedAppend,
  type StoredBlob,
} from './blob-store.ts';

const ID = /^[0-9a-f]{32}$/;
/** Large reads when hashing a finished staging back (see READ_CHUNK_BYTES in fs-blob-store). */
const HASH_READ_BYTES = 1024 * 1024;

function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Lets at most `limit` bytes through; one more fails the stream. */
class ByteLimit extends Transform {
  #left: number;
  constructor(limit: number) {
    super();
    this.#left = limit;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#left -= chunk.length;
    if (this.#left < 0) done(new BlobTooLargeError('more bytes than the upload declared'));
    else done(null, chunk);
  }
}

export interface FsStagingHost {
  root: string;
  fileMode: number;
  /** Where the blob `key` lives (the store's content-addressed path). */
  pathOf(key: string): string;
  fsyncPath(p: string): Promise<void>;
}

export class FsResumableStaging implements ResumableStaging {
  readonly #dir: string;

  constructor(private readonly host: FsStagingHost) {
    this.#dir = path.join(host.root, 'resumable');
  }

  #file(id: string): string {
    if (!ID.test(id)) throw new Error(`invalid staging id ${JSON.stringify(id)}`);
    return path.join(this.#dir, id);
  }

  async begin(id: string): Promise<string> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    try {
      const handle = await open(this.#file(id), 'wx', this.host.fileMode);
      await handle.close();
      await this.host.fsyncPath(this.#dir);
    } catch (err) {
      if (isNoSpace(err)) throw new BlobStorageFullError('no space left for the upload');
      throw err;
    }
    return '{}';
  }

  async append(id: string, state: string, input: AppendInput): Promise<StagedAppend> {
    let handle;
    try {
      handle = await open(this.#file(id), 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(id);
      throw err;
    }
    try {
      await handle.truncate(input.offset);
      // A stream of its own on the file (fsync below, on any descriptor, covers its writes).
      const out = createWriteStream(this.#file(id), { flags: 'r+', start: input.offset, highWaterMark: HASH_READ_BYTES });
      try {
        await pipeline(input.source, new ByteLimit(input.length - input.offset), out, { signal: input.signal });
      } catch (err) {
        // Let a write in flight land before measuring what arrived.
        if (!out.closed) await once(out, 'close').catch(() => undefined);
        if (input.signal.aborted) throw input.signal.reason ?? err;
        if (err instanceof BlobTooLargeError) throw err;
        if (isNoSpace(err)) throw new BlobStorageFullError('no space left for the upload');
        // Otherwise the source was cut off (the client went away): keep what arrived.
      }
      await handle.sync();
      const size = (await handle.stat()).size;
      return { state, written: size - input.offset };
    } catch (err) {
      if (isNoSpace(err)) throw new BlobStorageFullError('no space left for the upload');
      throw err;
    } finally {
      await handle.close();
    }
  }

  async superseded(): Promise<void> {
    // One file, appended in place: nothing is ever superseded.
  }

  async digest(id: string, _state: string, size: number): Promise<string> {
    const file = this.#file(id);
    const hash = createHash('sha256');
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(id);
      throw err;
    }
    const stream = handle.createReadStream({ highWaterMark: HASH_READ_BYTES, autoClose: true });
    let read = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      read += chunk.length;
      hash.update(chunk);
    }
    if (read !== size) throw new BlobSizeMismatchError(`staged ${read} bytes, expected ${size}`);
    return hash.digest('hex');
  }

  async complete(id: string, _state: string, options: { size: number; sha256: string }): Promise<StoredBlob> {
    const file = this.#file(id);
    const final = this.host.pathOf(options.sha256);
    const staged = await stat(file).catch(() => null);
    if (staged) {
      if (staged.size !== options.size) throw new BlobSizeMismatchError(`staged ${staged.size} bytes, expected ${options.size}`);
      await mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      await rename(file, final); // same content under the same name: replacing is harmless
      await this.host.fsyncPath(path.dirname(final));
    } else {
      // A completion that crashed after the rename: the blob is already in place.
      const done = await stat(final).catch(() => null);
      if (done?.size !== options.size) throw new BlobNotFoundError(id);
    }
    return { key: options.sha256, size: options.size, sha256: options.sha256 };
  }

  async discard(id: string): Promise<void> {
    await rm(this.#file(id), { force: true });
  }

  async *list(): AsyncIterable<{ id: string; modifiedAt: Date }> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!ID.test(name)) continue;
      const s = await stat(path.join(this.#dir, name)).catch(() => null);
      if (s) yield { id: name, modifiedAt: s.mtime };
    }
  }
}
