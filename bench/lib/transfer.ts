/**
 * @module bench/lib/transfer
 * HTTP clients for the transfer scenarios, written to cost the client as little as possible (one
 * connection per stream, bytes counted and dropped, bodies sent from one reused buffer) so that
 * the server, not the client, sets the pace.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { timed } from './stats.ts';

export const MiB = 1024 * 1024;

export interface DownloadResult {
  bytes: number;
  status: number;
  /** Redirects followed on the way. */
  redirects: number;
}

/** GETs `url`, following redirects as GitHub clients do, and counts the body bytes. */
export function download(url: string, headers: Record<string, string> = {}, redirects = 0): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return reject(new Error(`too many redirects from ${url}`));
        const next = new URL(res.headers.location, url);
        // Clients drop credentials when a redirect leaves the host (presigned URLs carry their own).
        const nextHeaders = next.host === new URL(url).host ? headers : Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
        return resolve(download(next.toString(), nextHeaders, redirects + 1));
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ bytes, status, redirects }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export interface ThroughputResult {
  seconds: number;
  bytes: number;
  mibPerSecond: number;
}

/** `streams` simultaneous downloads of the same URL; each must return `expectedBytes` with 200. */
export async function downloadConcurrently(url: string, headers: Record<string, string>, streams: number, expectedBytes: number): Promise<ThroughputResult> {
  const { value, seconds } = await timed(() => Promise.all(Array.from({ length: streams }, () => download(url, headers))));
  for (const r of value) {
    if (r.status !== 200 || r.bytes !== expectedBytes) throw new Error(`download ${url}: status ${r.status}, ${r.bytes} of ${expectedBytes} bytes`);
  }
  const bytes = value.reduce((s, r) => s + r.bytes, 0);
  return { seconds, bytes, mibPerSecond: bytes / MiB / seconds };
}

/**
 * A request body of `size` bytes: one random 1 MiB block repeated. Each body gets its own block,
 * so content-addressed stores cannot deduplicate one upload against another.
 */
export class Body {
  readonly block: Buffer;
  constructor(readonly size: number) {
    this.block = randomBytes(Math.min(size, MiB));
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

/** Uploads every body at once (one request each); all must be answered with `okStatus`. */
export async function uploadConcurrently(makeRequest: (i: number) => { url: string; headers: Record<string, string> }, bodies: Body[], okStatus: number): Promise<ThroughputResult & { responses: string[] }> {
  const { value, seconds } = await timed(() =>
    Promise.all(
      bodies.map((body, i) => {
        const { url, headers } = makeRequest(i);
        return upload(url, headers, body);
      }),
    ),
  );
  for (const r of value) if (r.status !== okStatus) throw new Error(`upload: status ${r.status}: ${r.text.slice(0, 300)}`);
  const bytes = bodies.reduce((s, b) => s + b.size, 0);
  return { seconds, bytes, mibPerSecond: bytes / MiB / seconds, responses: value.map((r) => r.text) };
}
