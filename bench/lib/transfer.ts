/**
 * @module bench/lib/transfer
 * Request bodies for the transfer scenarios, and a Node client for setting scenarios up and for
 * the small writes of the write scenario. Measured transfers use native clients
 * (native-clients.ts), so that the server, not the client, sets the pace.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';

export const MiB = 1024 * 1024;

/**
 * A request body of `size` bytes: one random 1 MiB block repeated. Each body gets its own block,
 * so content-addressed stores cannot deduplicate one upload against another.
 */
export class Body {
  readonly block: Buffer;
  constructor(readonly size: number) {
    this.block = randomBytes(Math.min(size, MiB));
  }

  /** Writes the body to `file` (for clients that upload from a file). */
  writeTo(file: string): string {
    const fd = openSync(file, 'w');
    try {
      for (let written = 0; written < this.size; written += this.block.length) {
        writeSync(fd, this.block, 0, Math.min(this.block.length, this.size - written));
      }
    } finally {
      closeSync(fd);
    }
    return file;
  }
}

export interface UploadResult {
  status: number;
  text: string;
}

export function upload(url: string, headers: Record<string, string>, body: Body, method = 'POST'): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { ...headers, 'content-length': String(body.size) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < body.size) {
        const n = Math.min(body.block.length, body.size - sent);
        sent += n;
        if (!req.write(n === body.block.length ? body.block : body.block.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
