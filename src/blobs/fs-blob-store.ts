/**
 * @module blobs/fs-blob-store
 * Blobs as files under one directory: `ab/cd/<sha256>`. A write goes to `tmp/` first, is hashed
 * and fsynced, then renamed into place (and the directory fsynced), so a crash leaves either the
 * whole blob or a temporary file the sweeper removes.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, BlobStorageFullError, type BlobInfo, type BlobStore, type ByteRange, type PutOptions, type StoredBlob } from './blob-store.ts';
import { FileReadStream } from './file-read-stream.ts';
import { FsResumableStaging } from './fs-resumable-staging.ts';
import { MeteringStream } from './metering-stream.ts';
import { fsyncPath } from '../util/fsync.ts';

const KEY = /^[0-9a-f]{64}$/;

/**
 * Bytes per read when serving a blob. Node's default (64 KiB) spends most of a download's CPU on
 * per-chunk work (a read, a stream event, a socket write each): measured on a 1 GiB download,
 * about 3 CPU-seconds at 64 KiB against 0.7–1 s from 512 KiB to 2 MiB with a fresh buffer per
 * read, and 0.45–0.6 s at 1 MiB with the two reused buffers of `FileReadStream` (2 MiB gains
 * little more). A stream holds two such buffers: 32 MiB for 16 concurrent downloads.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

export class FsBlobStore implements BlobStore {
  readonly capabilities = { presign: false };
  readonly #root: string;
  readonly #tmp: string;

  readonly #fileMode: number;
  readonly resumable: FsResumableStaging;

  /**
   * `fileMode`: blobs are private (0600, whatever the umask); 0640 lets a proxy in Wharf's group
   * read them when downloads are handed to it (`WHARF_SENDFILE_HEADER`).
   */
  constructor(root: string, options: { fileMode?: number } = {}) {
    this.#root = path.resolve(root);
    this.#tmp = path.join(this.#root, 'tmp');
    this.#fileMode = options.fileMode ?? 0o600;
    this.resumable = new FsResumableStaging({ root: this.#root, fileMode: this.#fileMode, pathOf: (key) => this.pathOf(key), fsyncPath });
  }

  /** The file of a key; keys are validated so no value can escape the root. */
  pathOf(key: string): string {
    return path.join(this.#root, this.relativePath(key));
  }

  relativePath(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return `${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`;
  }

  async put(source: Readable, options: PutOptions = {}): Promise<StoredBlob> {
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    const tmpFile = path.join(this.#tmp, `${randomUUID()}.part`);
    const meter = new MeteringStream(options);
    try {
      await pipeline(source, meter, createWriteStream(tmpFile, { flags: 'wx', mode: this.#fileMode }), { signal: options.signal });
      const key = meter.finish();
      await fsyncPath(tmpFile);
      await options.beforeCommit?.({ key, size: meter.size, sha256: key });
      const final = this.pathOf(key);
      await mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      await rename(tmpFile, final); // same content under the same name: replacing is harmless
      await fsyncPath(path.dirname(final));
      return { key, size: meter.size, sha256: key };
    } catch (err) {
      await rm(tmpFile, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC' || (err as NodeJS.ErrnoException).code === 'EDQUOT') {
        throw new BlobStorageFullError('no space left for the blob');
      }
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.pathOf(key);
    // Open first so a missing blob is an error here, not an 'error' event later.
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(key);
      throw err;
    }
    // The stream owns the FileHandle (passing its numeric fd would let GC close it a second time).
    try {
      const end = range?.end ?? (await handle.stat()).size - 1;
      return new FileReadStream(handle, { start: range?.start ?? 0, end, chunkBytes: READ_CHUNK_BYTES });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async check(): Promise<void> {
    // Writing a file is the honest test (access() says yes to root on a read-only mount).
    await mkdir(this.#root, { recursive: true });
    const probe = path.join(this.#root, `.ready-${process.pid}`);
    await writeFile(probe, '');
    await unlink(probe);
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const s = await stat(this.pathOf(key));
      return { key, size: s.size, modifiedAt: s.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    const level = async (dir: string) => {
      try {
        return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory() && /^[0-9a-f]{2}$/.test(d.name));
      } catch {
        return [];
      }
    };
    for (const a of await level(this.#root)) {
      for (const b of await level(path.join(this.#root, a.name))) {
        const dir = path.join(this.#root, a.name, b.name);
        for (const name of await readdir(dir)) {
          if (!KEY.test(name)) continue;
          const s = await stat(path.join(dir, name)).catch(() => null);
          if (s) yield { key: name, size: s.size, modifiedAt: s.mtime };
        }
      }
    }
  }

  async cleanTemporary(olderThanMs: number): Promise<number> {
    let removed = 0;
    const names = await readdir(this.#tmp).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(this.#tmp, name);
      const s = await stat(file).catch(() => null);
      if (s && Date.now() - s.mtimeMs > olderThanMs) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
