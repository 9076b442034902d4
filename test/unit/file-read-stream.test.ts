/**
 * FileReadStream: the bytes of a range arrive exact whichever way the stream is read, and the two
 * reused buffers are never written into while a destination still holds them. The destination
 * here keeps each chunk it is given, unread, until it calls back (as a socket does while the
 * kernel has not taken the bytes) and copies it only then, so a buffer reused too early shows up
 * as wrong bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { FileReadStream } from '../../src/blobs/file-read-stream.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'wharf-frs-'));
const file = path.join(dir, 'blob');
const bytes = randomBytes(300_001);
writeFileSync(file, bytes);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Holds each chunk until a later turn, then copies it: the way a slow socket holds a buffer. */
class HoldingWritable extends Writable {
  readonly parts: Buffer[] = [];
  held = 0;
  maxHeld = 0;
  constructor(readonly failAfter = Infinity) {
    super({ highWaterMark: 1 });
  }
  override _write(chunk: Buffer, _encoding: string, callback: (err?: Error | null) => void): void {
    this.held++;
    this.maxHeld = Math.max(this.maxHeld, this.held);
    setTimeout(() => {
      this.held--;
      this.parts.push(Buffer.from(chunk));
      if (this.parts.length >= this.failAfter) return callback(new Error('the client went away'));
      callback();
    }, 1);
  }
  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A stream that reuses its buffers into any destination, as it does into a socket. */
async function streamOf(start: number, end: number, chunkBytes = 4096): Promise<FileReadStream> {
  return new FileReadStream(await open(file, 'r'), { start, end, chunkBytes, reuseInto: () => true });
}

const ranges: [string, number, number][] = [
  ['the whole file', 0, bytes.length - 1],
  ['a range inside one chunk', 10, 20],
  ['a range crossing chunks', 4000, 123_456],
  ['the last byte', bytes.length - 1, bytes.length - 1],
];

describe('FileReadStream', () => {
  for (const [what, start, end] of ranges) {
    it(`pipes ${what} exactly, into a destination that holds every buffer until it calls back`, async () => {
      const sink = new HoldingWritable();
      await pipeline(await streamOf(start, end), sink);
      expect(sink.bytes.equals(bytes.subarray(start, end + 1))).toBe(true);
      expect(sink.maxHeld).toBe(1);
    });

    it(`reads ${what} exactly by async iteration (a fresh buffer per chunk)`, async () => {
      const parts: Buffer[] = [];
      for await (const chunk of await streamOf(start, end)) parts.push(chunk as Buffer);
      expect(Buffer.concat(parts).equals(bytes.subarray(start, end + 1))).toBe(true);
    });
  }

  it('gives a Transform fresh buffers (its callback comes before its reader is done with the chunk)', async () => {
    // By default only sockets and HTTP responses get reused buffers; a PassThrough calls back as
    // soon as it has queued the chunk for the holding reader behind it.
    const source = new FileReadStream(await open(file, 'r'), { start: 0, end: bytes.length - 1, chunkBytes: 4096 });
    const sink = new HoldingWritable();
    await pipeline(source, new PassThrough({ highWaterMark: 1 << 20 }), sink);
    expect(sink.bytes.equals(bytes)).toBe(true);
  });

  it('serves a real HTTP response with reused buffers, byte for byte, to a slow reader', async () => {
    const server = createServer((_request, response) => {
      void open(file, 'r').then((handle) => {
        response.writeHead(200, { 'content-length': String(bytes.length) });
        new FileReadStream(handle, { end: bytes.length - 1, chunkBytes: 4096 }).pipe(response);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await new Promise<Buffer>((resolve, reject) => {
        get({ host: '127.0.0.1', port }, (response) => {
          const parts: Buffer[] = [];
          // Read slowly, so the server's writes queue behind a full socket.
          response.on('data', (chunk: Buffer) => {
            parts.push(chunk);
            response.pause();
            setTimeout(() => response.resume(), 1);
          });
          response.on('end', () => resolve(Buffer.concat(parts)));
          response.on('error', reject);
        }).on('error', reject);
      });
      expect(body.equals(bytes)).toBe(true);
    } finally {
      server.close();
    }
  });

  it('serves an empty range (an empty blob) as an empty body', async () => {
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '');
    const sink = new HoldingWritable();
    await pipeline(new FileReadStream(await open(empty, 'r'), { start: 0, end: -1, chunkBytes: 4096, reuseInto: () => true }), sink);
    expect(sink.bytes.length).toBe(0);
  });

  it('closes its file when the destination fails half-way, and does not write again', async () => {
    const handle = await open(file, 'r');
    const source = new FileReadStream(handle, { start: 0, end: bytes.length - 1, chunkBytes: 4096, reuseInto: () => true });
    const sink = new HoldingWritable(3);
    await expect(pipeline(source, sink)).rejects.toThrow('the client went away');
    await new Promise((r) => setTimeout(r, 20));
    expect(source.destroyed).toBe(true);
    expect(handle.fd).toBe(-1);
    expect(sink.parts.length).toBe(3);
  });

  it('closes its file when the destination is destroyed while a write is pending', async () => {
    const handle = await open(file, 'r');
    const source = new FileReadStream(handle, { start: 0, end: bytes.length - 1, chunkBytes: 4096, reuseInto: () => true });
    // A socket torn down mid-write may never call back.
    const sink = new Writable({ write: () => undefined });
    source.pipe(sink);
    await new Promise((r) => setTimeout(r, 20));
    sink.destroy();
    await new Promise((r) => setTimeout(r, 20));
    expect(source.destroyed).toBe(true);
    expect(handle.fd).toBe(-1);
  });

  it('fails, and closes its file, when the file is shorter than the range', async () => {
    const handle = await open(file, 'r');
    const source = new FileReadStream(handle, { start: 0, end: bytes.length + 10_000, chunkBytes: 4096, reuseInto: () => true });
    await expect(pipeline(source, new HoldingWritable())).rejects.toThrow('the file ended before the range');
    expect(handle.fd).toBe(-1);
  });
});
