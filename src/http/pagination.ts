/**
 * @module http/pagination
 * GitHub's page/per_page pagination with an RFC 8288 `Link` header in GitHub's exact format:
 * `<url>; rel="prev", <url>; rel="next", <url>; rel="last", <url>; rel="first"` (PyGithub splits
 * on `", "` and `"; "`, so the spacing matters). The page itself (`Page`, `parsePage`) is in
 * `domain/page`, shared with the services and the pages.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Page } from '../domain/page.ts';

/**
 * The longest `Link` header Wharf sends. It names the request's URL up to four times, and
 * clients cap the whole header section (undici and Node at 16 KiB), so a long query must not
 * be repeated into it (see `http/request-target.ts`).
 */
export const MAX_LINK_HEADER_BYTES = 4096;

/**
 * Builds the `Link` header for a result of `total` items; null when everything fits on one page.
 * The links carry the request's query parameters, as GitHub's do; if that would make the header
 * longer than `MAX_LINK_HEADER_BYTES`, the longest parameters are left out until it fits
 * (`per_page` is always kept, so the links still page through the same list).
 */
export function linkHeader(requestUrl: string, base: string, page: Page, total: number): string | null {
  const lastPage = Math.max(1, Math.ceil(total / page.perPage));
  if (lastPage <= 1 && page.page <= 1) return null;
  const url = new URL(requestUrl, base);
  // A `per_page` that is not a short number was ignored (the default applies): say what applied.
  const params = [...url.searchParams].filter(([k]) => k !== 'page').map(([k, v]): [string, string] => (k === 'per_page' && v.length > 8 ? [k, String(page.perPage)] : [k, v]));
  for (;;) {
    const header = buildLink(url.pathname, params, base, page, lastPage);
    const droppable = params.filter(([k]) => k !== 'per_page');
    if (header.length <= MAX_LINK_HEADER_BYTES || droppable.length === 0) return header;
    const longest = droppable.reduce((a, b) => (a[0].length + a[1].length >= b[0].length + b[1].length ? a : b));
    params.splice(params.indexOf(longest), 1);
  }
}

function buildLink(pathname: string, params: Array<[string, string]>, base: string, page: Page, lastPage: number): string {
  const make = (n: number) => {
    const u = new URL(pathname, base);
    for (const [k, v] of params) u.searchParams.append(k, v);
    u.searchParams.set('page', String(n));
    return `<${base}${u.pathname}${u.search}>`;
  };
  const parts: string[] = [];
  if (page.page > 1) parts.push(`${make(Math.min(page.page - 1, lastPage))}; rel="prev"`);
  if (page.page < lastPage) {
    parts.push(`${make(page.page + 1)}; rel="next"`);
    parts.push(`${make(lastPage)}; rel="last"`);
  }
  if (page.page > 1) parts.push(`${make(1)}; rel="first"`);
  return parts.join(', ');
}

/** Sets the `Link` header for a page of a list. `webBase` is the scheme+host the client used. */
export function setLink(reply: FastifyReply, request: FastifyRequest, webBase: string, page: Page, total: number): void {
  const origin = new URL(webBase).origin;
  const prefix = new URL(webBase).pathname.replace(/\/$/, '');
  // request.url is the path as received (already including any prefix the proxy kept). Routing
  // tolerates `//` (PyGithub with a trailing slash in base_url sends `/api/v3//repos/…`), but a
  // path starting with `//` would parse as a host name (`//api/v3/…` → host `api`), so Links are
  // built from the path with repeated slashes collapsed: canonical, and always on this host.
  const path = request.url.replace(/^[^?#]*/, (p) => p.replace(/\/{2,}/g, '/'));
  const link = linkHeader(prefix && !path.startsWith(prefix) ? prefix + path : path, origin, page, total);
  if (link) reply.header('link', link);
}
