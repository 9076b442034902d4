/**
 * @module web/image-proxy
 * Images from other hosts in release notes, served from Wharf's own origin so the pages' CSP
 * stays `img-src 'self' data:` (GitHub does the same with camo). On pages, an `<img>` whose source
 * is on another host is rewritten to `/_image-proxy/{signature}/{url}`: the URL base64url-encoded
 * and signed with a key derived from the instance key, so the proxy fetches only what Wharf's
 * own renderer wrote, never an address a visitor makes up.
 *
 * The fetch goes through the outbound request webhooks use: internal addresses are refused unless
 * `WHARF_OUTBOUND_ALLOWED_HOSTS` allows them (checked at connect time, per redirect), no cookies
 * or credentials are sent, the body is capped at 5 MiB and the exchange at 10 s, at most three
 * redirects are followed. Only raster image types are served (never SVG, which is a document
 * that can run script), with `nosniff` and a sandboxing CSP; anything else is refused.
 *
 * Each process fetches at most `WHARF_IMAGE_PROXY_MAX_FETCHES` images at once (beyond, `503` with
 * `Retry-After`: a page full of images on slow hosts must not tie up the server), and keeps images
 * it served in a small cache of its own (`image-cache.ts`), following their hosts' `Cache-Control`.
 * Proxied images are pages' resources: they never count against the API's rate limits.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppContext } from '../context.ts';
import { OutboundRefusedError } from '../net/outbound-policy.ts';
import { outboundRequest, type OutboundResponse } from '../net/outbound-request.ts';
import { outboundPolicyFor, secretBoxFor } from '../webhooks/runtime.ts';
import { cacheLifetimeMs, ImageCache, type CachedImage } from './image-cache.ts';

export const IMAGE_PROXY_PREFIX = '/_image-proxy/';
export const MAX_PROXIED_IMAGE_BYTES = 5 * 1024 * 1024;
const TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;
const MAX_URL_LENGTH = 2048;
/** Seconds a visitor is told to wait when every fetch slot is taken. */
const RETRY_AFTER_SECONDS = 5;
/** Raster types browsers show; SVG is left out on purpose. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/apng', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon']);

export class ImageProxySigner {
  constructor(private readonly key: Buffer) {}

  static forContext(ctx: AppContext): ImageProxySigner {
    return new ImageProxySigner(secretBoxFor(ctx.config).derivedKey('image proxy'));
  }

  signature(url: string): string {
    return createHmac('sha256', this.key).update(url, 'utf8').digest('base64url').slice(0, 32);
  }

  path(url: string): string {
    return `${IMAGE_PROXY_PREFIX}${this.signature(url)}/${Buffer.from(url, 'utf8').toString('base64url')}`;
  }

  /** The URL a proxy path stands for, when its signature is right; null otherwise. */
  verify(signature: string, encoded: string): string | null {
    if (!/^[A-Za-z0-9_-]{1,4096}$/.test(encoded)) return null;
    const url = Buffer.from(encoded, 'base64url').toString('utf8');
    const expected = Buffer.from(this.signature(url));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected) ? url : null;
  }
}

const HTML_ESCAPED: Record<string, string> = { '&amp;': '&', '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>' };

function unescapeAttribute(value: string): string {
  return value.replace(/&(amp|quot|#39|lt|gt);/g, (m) => HTML_ESCAPED[m] ?? m);
}

/**
 * Rewrites the sources of sanitized notes' images on other hosts than `ownOrigin` to the proxy.
 * Safe on the sanitizer's output: attributes there are always double-quoted and escaped. A
 * `<source srcset>` on another host is dropped (the `<img>` beside it is shown instead).
 */
export function proxyImages(sanitized: string, ownOrigin: string, signer: ImageProxySigner): string {
  return sanitized
    .replace(/<img\b([^>]*?) src="([^"]*)"/g, (whole, before: string, src: string) => {
      const url = unescapeAttribute(src);
      if (!/^https?:\/\//i.test(url) || url.length > MAX_URL_LENGTH) return whole;
      let origin: string;
      try {
        origin = new URL(url).origin;
      } catch {
        return whole;
      }
      if (origin === ownOrigin) return whole;
      return `<img${before} src="${signer.path(url)}"`;
    })
    .replace(/<source\b([^>]*?) srcset="([^"]*)"/g, (whole, before: string, srcset: string) => (/https?:\/\//i.test(srcset) ? `<source${before}` : whole));
}

function refuse(reply: FastifyReply, status: number, reason: string): FastifyReply {
  reply.header('cache-control', 'no-store');
  reply.header('x-content-type-options', 'nosniff');
  return reply.code(status).type('text/plain; charset=utf-8').send(`${reason}\n`);
}

async function fetchImage(ctx: AppContext, url: string): Promise<OutboundResponse> {
  const policy = outboundPolicyFor(ctx.config);
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await outboundRequest(policy, {
      method: 'GET',
      url: current,
      // Nothing of the visitor's: no cookies, no credentials, no referrer.
      headers: { accept: [...IMAGE_TYPES].join(', '), 'user-agent': 'Wharf-Image-Proxy' },
      timeoutMs: TIMEOUT_MS,
      maxResponseBytes: MAX_PROXIED_IMAGE_BYTES + 1,
    });
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && typeof location === 'string' && hop < MAX_REDIRECTS) {
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return res;
      current = next.href;
      continue;
    }
    return res;
  }
}

/** Upstream fetches running now, at most `max`. */
class FetchSlots {
  private running = 0;

  constructor(private readonly max: number) {}

  tryTake(): boolean {
    if (this.running >= this.max) return false;
    this.running++;
    return true;
  }

  give(): void {
    this.running--;
  }
}

function sendImage(reply: FastifyReply, image: CachedImage, cacheControl: string): FastifyReply {
  reply.header('content-type', image.type);
  reply.header('content-security-policy', "default-src 'none'; sandbox");
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cache-control', cacheControl);
  reply.header('cross-origin-resource-policy', 'same-origin');
  return reply.code(200).send(image.body);
}

const SHARED = 'public, max-age=86400';

export function imageProxyRoutes(app: FastifyInstance, ctx: AppContext): void {
  const signer = ImageProxySigner.forContext(ctx);
  const { maxFetches, cacheBytes, cacheEntries } = ctx.config.imageProxy;
  const cache = new ImageCache(cacheBytes, cacheEntries);
  const slots = new FetchSlots(maxFetches);
  app.get<{ Params: { signature: string; url: string } }>(`${IMAGE_PROXY_PREFIX}:signature/:url`, async (request, reply) => {
    const url = signer.verify(request.params.signature, request.params.url);
    if (!url || !/^https?:\/\//i.test(url)) return refuse(reply, 404, 'Unknown image.');
    const cached = cache.get(url);
    if (cached) return sendImage(reply, cached, SHARED);
    if (!slots.tryTake()) {
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return refuse(reply, 503, 'Too many images are being fetched right now; retry shortly.');
    }
    let res: OutboundResponse;
    try {
      res = await fetchImage(ctx, url);
    } catch (err) {
      if (err instanceof OutboundRefusedError) return refuse(reply, 403, 'The image is on an internal address.');
      return refuse(reply, 502, 'The image could not be fetched.');
    } finally {
      slots.give();
    }
    if (res.status !== 200) return refuse(reply, 502, `The image's host answered ${res.status}.`);
    const type = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (!IMAGE_TYPES.has(type)) return refuse(reply, 415, 'Not an image Wharf shows.');
    if (res.body.length > MAX_PROXIED_IMAGE_BYTES) return refuse(reply, 413, 'The image is too large.');
    // A body that is markup whatever its label (an SVG or HTML page called image/png) is refused.
    if (/^\s*</.test(res.body.subarray(0, 64).toString('latin1'))) return refuse(reply, 415, 'Not an image Wharf shows.');
    const image = { type, body: res.body };
    // What its host allows no shared cache to keep, Wharf neither keeps nor lets browsers keep.
    const lifetime = cacheLifetimeMs(res.headers['cache-control']);
    if (lifetime === 0) return sendImage(reply, image, 'no-store');
    cache.set(url, image, lifetime);
    return sendImage(reply, image, SHARED);
  });
}
