/**
 * @module net/outbound-stream
 * A streamed GET under the outbound policy, for bodies too large to hold (mirrored release
 * assets). Like net/outbound-request.ts it checks every connected address against the policy and
 * uses no connection pool; unlike it, it hands back the body as a stream, its deadline is for
 * silence (no byte for `idleTimeoutMs`) rather than for the whole exchange, and it follows up to
 * `maxRedirects` redirects (GitHub answers an asset download with a 302 to its storage), each hop
 * checked by the policy again. The `Authorization` header is sent to the first origin only, never
 * to the one redirected to (GitHub's storage URLs are signed and refuse it).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { OutboundPolicy } from './outbound-policy.ts';
import { guardedLookup, OutboundTimeoutError } from './outbound-request.ts';

export interface StreamedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body; the caller must read it to the end or destroy it. */
  body: IncomingMessage;
  /** The URL that answered (after redirects). */
  url: string;
}

export interface StreamedGet {
  url: string;
  headers: Record<string, string>;
  idleTimeoutMs: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

function once(policy: OutboundPolicy, url: URL, headers: Record<string, string>, idleTimeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) policy.check(host, host);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, { method: 'GET', headers, agent: false, lookup: guardedLookup(policy), signal }, (res) => {
      // From here on the deadline is the body's: silence for idleTimeoutMs ends it.
      res.socket.setTimeout(idleTimeoutMs, () => res.destroy(new OutboundTimeoutError(idleTimeoutMs)));
      resolve(res);
    });
    request.setTimeout(idleTimeoutMs, () => request.destroy(new OutboundTimeoutError(idleTimeoutMs)));
    request.on('error', reject);
    request.end();
  });
}

export async function outboundGetStream(policy: OutboundPolicy, req: StreamedGet): Promise<StreamedResponse> {
  let url = new URL(req.url);
  const origin = url.origin;
  for (let hop = 0; ; hop++) {
    const headers = { ...req.headers };
    if (url.origin !== origin) delete headers.Authorization;
    const res = await once(policy, url, headers, req.idleTimeoutMs, req.signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location && hop < (req.maxRedirects ?? 5)) {
      res.resume();
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Error(`refused a redirect to ${next.protocol} URL`);
      url = next;
      continue;
    }
    return { status, headers: res.headers, body: res, url: url.toString() };
  }
}
