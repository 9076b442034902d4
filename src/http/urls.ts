/**
 * @module http/urls
 * Every absolute URL Wharf returns is built from one base: `WHARF_EXTERNAL_URL` when set, else the
 * request's scheme and Host (and, behind a trusted proxy, the X-Forwarded-Proto/Host it set).
 * Such URLs depend on request headers, so answers carrying them are never stored by shared caches
 * (`http/api-headers.ts`). Clients such as
 * PyGithub and gh refuse URLs on another host or port, so this must match what they called.
 */
import type { FastifyRequest } from 'fastify';
import type { WharfConfig } from '../config/config.ts';

export interface Urls {
  /** `{scheme}://{host}` (plus any path prefix of the external URL): web pages and downloads. */
  web: string;
  /** `{web}/api/v3` */
  api: string;
  /** `{web}/api/uploads` */
  uploads: string;
  /** `{web}/api/graphql` */
  graphql: string;
}

export function urlsFromBase(web: string): Urls {
  return { web, api: `${web}/api/v3`, uploads: `${web}/api/uploads`, graphql: `${web}/api/graphql` };
}

const HOST_PATTERN = /^[A-Za-z0-9.\-_]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function requestUrls(config: WharfConfig, request: FastifyRequest): Urls {
  // Fastify reads `X-Forwarded-Proto`/`-Host` only from a trusted proxy, and then the entry that
  // proxy added (the last), never one the client sent ahead of it. HTTP/2 carries the host in
  // `:authority`, which Fastify's `host` falls back to.
  return requestUrlsOf(config, request.host, request.protocol);
}

/** `requestUrls` from the request's host and protocol (as Fastify reads them). */
export function requestUrlsOf(config: WharfConfig, host: string | undefined, protocol: string): Urls {
  if (config.externalUrl) return urlsFromBase(config.externalUrl);
  const proto = protocol === 'https' || protocol === 'http' ? protocol : 'http';
  // A Host header is attacker-controlled; anything odd falls back to the listening address.
  if (!host || !HOST_PATTERN.test(host)) host = `${config.host}:${config.port}`;
  return urlsFromBase(`${proto}://${host}`);
}

/** Percent-encodes each segment of a path value (tags may contain `/`, which stays a separator). */
export function encodePathValue(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}
