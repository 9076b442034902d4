/**
 * @module http/api-headers
 * Headers GitHub sends on every REST response (media type, request id, API version, CORS and
 * hardening headers), the `X-GitHub-Api-Version` check, and ETag / If-None-Match for GETs.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../domain/errors.ts';

export const SUPPORTED_API_VERSIONS = ['2022-11-28'];
export const ENTERPRISE_VERSION = '3.19.0';

const EXPOSED =
  'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset';

export function checkApiVersion(request: FastifyRequest): void {
  const requested = request.headers['x-github-api-version'];
  if (requested === undefined) return;
  const value = Array.isArray(requested) ? requested[0] : requested;
  if (value && !SUPPORTED_API_VERSIONS.includes(value)) {
    throw new BadRequestError(
      `The version you specified in the "X-GitHub-API-Version" request header, "${value}", is not a supported version. The following versions are currently supported: ${SUPPORTED_API_VERSIONS.map((v) => `"${v}"`).join(', ')} (most recent).`,
    );
  }
}

/**
 * Where an answer's headers are set: a Fastify reply, or the header list of a remembered read
 * answered ahead of Fastify (`http/remembered-reads.ts`), so both get them from the same code.
 */
export interface HeaderTarget {
  header(name: string, value: string): unknown;
  getHeader(name: string): string | number | string[] | undefined;
}

/** What of the request the headers depend on. */
export type HeaderSource = Pick<FastifyRequest, 'id' | 'principal' | 'headers'>;

const COMMON_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['x-github-media-type', 'github.v3; format=json'],
  ['x-github-api-version-selected', SUPPORTED_API_VERSIONS[0]!],
  ['x-github-enterprise-version', ENTERPRISE_VERSION],
  ['access-control-allow-origin', '*'],
  ['access-control-expose-headers', EXPOSED],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'deny'],
  ['content-security-policy', "default-src 'none'"],
  ['referrer-policy', 'origin-when-cross-origin, strict-origin-when-cross-origin'],
  ['x-xss-protection', '0'],
  ['vary', 'Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding'],
];

export function setCommonHeaders(request: HeaderSource, reply: HeaderTarget): void {
  reply.header('x-github-request-id', request.id);
  for (const [name, value] of COMMON_HEADERS) reply.header(name, value);
  setPrincipalHeaders(request, reply);
}

/** The headers that depend on the caller (once credentials are resolved, after `setCommonHeaders`). */
export function setPrincipalHeaders(request: HeaderSource, reply: HeaderTarget): void {
  if (!request.principal) return;
  reply.header('x-oauth-scopes', [...request.principal.scopes].join(', '));
  // GitHub tells clients when the token they used will stop working.
  const expires = request.principal.token.expires_at;
  if (expires) reply.header('github-authentication-token-expiration', `${expires.slice(0, 10)} ${expires.slice(11, 19)} UTC`);
}

/**
 * `If-Modified-Since` against the reply's `Last-Modified` (GitHub answers both validators with
 * 304). Ignored when `If-None-Match` is present, as RFC 9110 §13.1.3 says, and on replies without
 * a `Last-Modified` (lists).
 */
function notModifiedSince(request: HeaderSource, reply: HeaderTarget): boolean {
  const since = request.headers['if-modified-since'];
  const modified = reply.getHeader('last-modified');
  if (typeof since !== 'string' || typeof modified !== 'string') return false;
  const sinceMs = Date.parse(since);
  const modifiedMs = Date.parse(modified);
  return Number.isFinite(sinceMs) && Number.isFinite(modifiedMs) && modifiedMs <= sinceMs;
}

/**
 * `onSend`: strong ETag over the JSON bytes of successful GETs; 304 when the client has them
 * (`If-None-Match`, or `If-Modified-Since` on replies that carry `Last-Modified`).
 *
 * Anonymous answers may be kept by shared caches (`public, s-maxage=60`, as GitHub) only when
 * their URLs come from `WHARF_EXTERNAL_URL` (`urlsFixed`). Otherwise every URL in them follows the
 * request's `Host` (or a proxy's `X-Forwarded-Host`), and a shared cache keyed on the path would
 * hand one caller's forged host to everyone: such answers are `private` and vary on `Host`.
 */
export function applyEtag(request: FastifyRequest, reply: FastifyReply, payload: unknown, urlsFixed: boolean): unknown {
  if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return payload;
  if (typeof payload !== 'string' || reply.getHeader('etag')) return payload;
  if (answerConditionally(request, reply, etagOf(payload), urlsFixed)) {
    reply.code(304);
    reply.removeHeader('content-type');
    reply.removeHeader('content-length');
    return '';
  }
  return payload;
}

/** The strong ETag of a JSON answer. */
export function etagOf(payload: string): string {
  return `"${createHash('sha256').update(payload).digest('hex').slice(0, 32)}"`;
}

/**
 * Sets `etag` and the caching headers of a successful GET (see `applyEtag`) and tells whether the
 * client already has this answer (the caller then answers 304). Also used by remembered answers
 * (`http/cached-reads.ts`), whose ETag is known without the body being hashed again.
 */
export function answerConditionally(request: HeaderSource, reply: HeaderTarget, etag: string, urlsFixed: boolean): boolean {
  reply.header('etag', etag);
  if (request.principal) reply.header('cache-control', 'private, max-age=60, s-maxage=60');
  else if (urlsFixed) reply.header('cache-control', 'public, max-age=60, s-maxage=60');
  else {
    reply.header('cache-control', 'private, max-age=60');
    reply.header('vary', `${String(reply.getHeader('vary') ?? 'Accept')}, Host, X-Forwarded-Host`);
  }
  const inm = request.headers['if-none-match'];
  return inm ? inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag) : notModifiedSince(request, reply);
}
