/**
 * @module http/urls
 * Every absolute URL Wharf returns is built from one base: `WHARF_EXTERNAL_URL` when set, else the
 * request's scheme and Host (and, behind a trusted proxy, X-Forwarded-Proto/Host). Clients such as
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

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v?.split(',')[0]?.trim() || undefined;
}

const HOST_PATTERN = /^[A-Za-z0-9.\-_]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function requestUrls(config: WharfConfig, request: FastifyRequest): Urls {
  if (config.externalUrl) return urlsFromBase(config.externalUrl);
  let proto: string = request.protocol;
  // HTTP/2 carries the host in `:authority`; HTTP/1.1 in `Host`.
  let host = request.headers.host ?? firstHeader(request.headers[':authority']);
  if (config.trustProxy) {
    const fwdProto = firstHeader(request.headers['x-forwarded-proto']);
    const fwdHost = firstHeader(request.headers['x-forwarded-host']);
    if (fwdProto === 'http' || fwdProto === 'https') proto = fwdProto;
    if (fwdHost) host = fwdHost;
  }
  // A Host header is attacker-controlled; anything odd falls back to the listening address.
  if (!host || !HOST_PATTERN.test(host)) host = `${config.host}:${config.port}`;
  return urlsFromBase(`${proto}://${host}`);
}

/** Percent-encodes each segment of a path value (tags may contain `/`, which stays a separator). */
export function encodePathValue(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}
