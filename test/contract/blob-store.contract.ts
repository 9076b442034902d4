/**
 * The behaviour every BlobStore must have, whatever keeps the bytes. Each store's test file calls
 * `blobStoreContract` with a factory; the suite runs against a fresh store per case.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobNotFoundError, BlobSizeMismatchError, BlobTooLargeError, type BlobStore } from '../../src/blobs/blob-store.ts';

export interface ContractSubject {
  store: BlobStore;
  /** Leaves what a node killed mid-write would leave behind (a temporary file or object). */
  leaveTemporary(): Promise<void>;
  close(): Promise<void>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A stream that yields `data` in chunks, optionally failing after `failAfter` bytes. */
function chunked(data: Buffer, chunkSize = 64 * 1024, failAfter?: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && offset >= failAfter) {
        this.destroy(new Error('client went away'));
        return;
      }
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const end = Math.min(data.length, offset + chunkSize);
      this.push(data.subarray(offset, end));
      offset = end;
    },
  });
}

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list()) out.push(info.key);
  return out.sort();
}

export function blobStoreContract(name: string, makeSubject: () => Promise<ContractSubject>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: BlobStore;
    beforeEach(async () => {
      subject = await makeSubject();
      store = subject.store;
    });
    afterEach(() => subject.close());

    it('stores bytes under their sha256 and reads them back whole and by range', async () => {
      const data = randomBytes(100_000);
      const stored = await store.put(chunked(data), { expectedSize: data.length });
      expect(stored).toEqual({ key: sha256(data), size: data.length, sha256: sha256(data) });
      expect(await buffer(await store.get(stored.key))).toEqual(data);
      expect(await buffer(await store.get(stored.key, { start: 10, end: 19 }))).toEqual(data.subarray(10, 20));
      const info = await store.stat(stored.key);
      expect(info?.size).toBe(data.length);
      expect(info?.modifiedAt.getTime()).toBeGreaterThan(Date.now() - 3_600_000);
      expect(await keys(store)).toEqual([stored.key]);
    });

    it('stores the same content once, and an empty blob like any other', async () => {
      const data = Buffer.from('same bytes\n');
      const a = await store.put(Readable.from([data]));
      const b = await store.put(Readable.from([data]));
      expect(b.key).toBe(a.key);
      const empty = await store.put(Readable.from([]), { expectedSize: 0 });
      expect(empty.key).toBe(sha256(Buffer.alloc(0)));
      expect((await buffer(await store.get(empty.key))).length).toBe(0);
      expect(await keys(store)).toEqual([a.key, empty.key].sort());
    });

    it('keeps a blob readable from the moment its put resolves while identical puts run', async () => {
      // Two uploads of the same file race to the same key; an upload that has finished must never
      // find its bytes missing because another one is writing them again.
      const data = randomBytes(200_000);
      const missing: number[] = [];
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const stored = await store.put(chunked(data, 16 * 1024), { expectedSize: data.length });
          for (let look = 0; look < 20; look++) {
            if ((await store.stat(stored.key))?.size !== data.length) missing.push(i);
          }
        }),
      );
      expect(missing).toEqual([]);
      expect(sha256(await buffer(await store.get(sha256(data))))).toBe(sha256(data));
    });

    it('streams a blob larger than one multipart part', async () => {
      const data = randomBytes(17 * 1024 * 1024 + 123);
      const stored = await store.put(chunked(data, 1024 * 1024), { maxSize: data.length, expectedSize: data.length });
      expect(stored.key).toBe(sha256(data));
      const back = await buffer(await store.get(stored.key));
      expect(back.length).toBe(data.length);
      expect(sha256(back)).toBe(stored.key);
      expect(await buffer(await store.get(stored.key, { start: data.length - 5, end: data.length - 1 }))).toEqual(data.subarray(-5));
    });

    it('deletes idempotently and reports missing blobs as missing', async () => {
      const stored = await store.put(Readable.from([Buffer.from('to delete')]));
      await store.delete(stored.key);
      await store.delete(stored.key);
      expect(await store.stat(stored.key)).toBeNull();
      await expect(store.get(stored.key)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await keys(store)).toEqual([]);
      await expect(store.get('../../etc/passwd')).rejects.toThrow(/invalid blob key/);
    });

    it('refuses a body over maxSize and leaves nothing behind', async () => {
      const data = randomBytes(300_000);
      await expect(store.put(chunked(data), { maxSize: 200_000 })).rejects.toBeInstanceOf(BlobTooLargeError);
      expect(await keys(store)).toEqual([]);
      expect(await store.cleanTemporary(0)).toBe(0);
    });

    it('refuses a body shorter or longer than expectedSize and leaves nothing behind', async () => {
      const data = randomBytes(50_000);
      await expect(store.put(chunked(data), { expectedSize: data.length + 1 })).rejects.toBeInstanceOf(BlobSizeMismatchError);
      await expect(store.put(chunked(data), { expectedSize: data.length - 1 })).rejects.toBeInstanceOf(BlobSizeMismatchError);
      expect(await keys(store)).toEqual([]);
      expect(await store.cleanTemporary(0)).toBe(0);
    });

    it('leaves nothing behind when the source fails or the write is aborted mid-stream', async () => {
      const data = randomBytes(12 * 1024 * 1024);
      await expect(store.put(chunked(data, 256 * 1024, 9 * 1024 * 1024))).rejects.toThrow();
      const controller = new AbortController();
      const slow = new Readable({
        read() {
          setTimeout(() => this.push(randomBytes(256 * 1024)), 5);
        },
      });
      setTimeout(() => controller.abort(), 300);
      await expect(store.put(slow, { signal: controller.signal })).rejects.toThrow();
      expect(await keys(store)).toEqual([]);
      expect(await store.cleanTemporary(0)).toBe(0);
    });

    it('sweeps temporary leftovers only once they are old enough', async () => {
      await subject.leaveTemporary();
      expect(await store.cleanTemporary(3_600_000)).toBe(0);
      expect(await store.cleanTemporary(0)).toBe(1);
      expect(await store.cleanTemporary(0)).toBe(0);
    });

    it('hands out presigned URLs only when it says it can, and they serve the bytes', async () => {
      const data = Buffer.from('presigned bytes\n');
      const stored = await store.put(Readable.from([data]));
      if (!store.capabilities.presign) {
        expect(store.presignGet === undefined || typeof store.presignGet === 'function').toBe(true);
        return;
      }
      const url = await store.presignGet!(stored.key, { filename: 'wharf v1.0 ü.tar.gz', contentType: 'application/gzip', expiresIn: 60 });
      expect(url).toMatch(/X-Amz-Signature=/);
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(data);
      expect(res.headers.get('content-type')).toBe('application/gzip');
      expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('wharf v1.0 ü.tar.gz')}`);
      // (s3rver neither checks v4 signatures nor keeps buckets private, so only expiry is testable here.)
      const shortLived = await store.presignGet!(stored.key, { filename: 'x', contentType: 'text/plain', expiresIn: 1 });
      await new Promise((r) => setTimeout(r, 2_100));
      expect((await fetch(shortLived)).status).toBe(403);
    });
  });
}
