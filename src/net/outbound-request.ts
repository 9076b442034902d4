/**
 * @module net/outbound-request
 * The one way Wharf makes an HTTP request of its own to a URL someone else chose. It:
 * - resolves the host itself and checks every address against the outbound policy at connect
 *   time (literal addresses before connecting), so DNS rebinding cannot reach inside;
 * - never follows redirects (a 3xx is an answer like any other);
 * - gives up after `timeoutMs` for the whole exchange;
 * - keeps at most `maxResponseBytes` of the response body and stops reading there;
 * - uses no connection pool, so nothing outlives the request.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { OutboundPolicy } from './outbound-policy.ts';

export interface OutboundRequest {
  method: 'POST' | 'GET';
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Skip TLS certificate checks (a hook's `insecure_ssl: "1"`). */
  insecureTls?: boolean;
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The first `maxResponseBytes` of the body. */
  body: Buffer;
  durationMs: number;
}

export class OutboundTimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

/** A `lookup` for sockets that refuses addresses the policy does not allow. */
export function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list: LookupAddress[] = addresses;
      // A name with any internal address is refused outright rather than filtered: a name that
      // mixes public and internal addresses is the shape of a rebinding attempt.
      try {
        for (const a of list) policy.check(hostname, a.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 4);
      }
      if (list.length === 0) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** Sends one request under the outbound policy; rejects on refusal, network errors and timeout. */
export function outboundRequest(policy: OutboundPolicy, req: OutboundRequest): Promise<OutboundResponse> {
  const url = new URL(req.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    try {
      policy.check(host, host);
    } catch (err) {
      // policy.check throws only OutboundRefusedError.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(err);
    }
  }
  const started = performance.now();
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, res?: OutboundResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(res!);
    };
    const request = client.request(
      url,
      {
        method: req.method,
        headers: { ...req.headers, ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}) },
        agent: false,
        lookup: guardedLookup(policy),
        ...(url.protocol === 'https:' ? { rejectUnauthorized: !req.insecureTls } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < req.maxResponseBytes) {
            const part = chunk.subarray(0, req.maxResponseBytes - kept);
            chunks.push(part);
            kept += part.length;
          }
          // Enough kept: stop reading a receiver that answers with an endless body.
          if (kept >= req.maxResponseBytes) {
            finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), durationMs: performance.now() - started });
            res.destroy();
          }
        });
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), durationMs: performance.now() - started }));
        res.on('error', (err) => finish(err));
        res.on('close', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), durationMs: performance.now() - started }));
      },
    );
    const timer = setTimeout(() => {
      const err = new OutboundTimeoutError(req.timeoutMs);
      finish(err);
      request.destroy(err);
    }, req.timeoutMs);
    request.on('error', (err) => finish(err));
    if (req.body !== undefined) request.end(req.body);
    else request.end();
  });
}
