/**
 * @module services/mirror-upstream
 * A pull mirror's view of its upstream: where its API and git live, its published releases
 * (every page), its latest release, and an asset's bytes as a stream. Two dialects:
 * - `github`: a server speaking GitHub's REST API (GitHub.com, GHES, another Wharf);
 * - `gitea`: Gitea and Forgejo, through their own releases API (`/api/v1`, paged by `page` and
 *   `limit` with `Link`/`X-Total-Count`, assets downloaded by `browser_download_url`, no digests).
 * `detectKind` tells them apart by asking `/api/v1/version`, which only Gitea and Forgejo answer.
 * Every request goes through the outbound policy (`WHARF_OUTBOUND_ALLOWED_HOSTS`, shared with
 * webhooks) and
 * - is conditional: an answer is kept with its `ETag` (`mirror_http_cache`) and asked for again
 *   with `If-None-Match`, so an unchanged upstream answers 304, which costs no rate-limit quota;
 * - waits out the upstream's rate limits: a 403/429 with `X-RateLimit-Remaining: 0` until
 *   `X-RateLimit-Reset`, a `Retry-After` (secondary limits) for as long as it says, when that is
 *   within `WHARF_MIRROR_MAX_RATE_LIMIT_WAIT_MS`; longer, the sync fails saying until when.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AppContext } from '../context.ts';
import type { Mirror } from '../db/schema.ts';
import { cachedAnswer, rememberAnswer } from '../db/repos/mirrors-repo.ts';
import type { RemoteAccess } from '../git/git.ts';
import { OutboundPolicy } from '../net/outbound-policy.ts';
import { outboundRequest, type OutboundResponse } from '../net/outbound-request.ts';
import { outboundGetStream, type StreamedResponse } from '../net/outbound-stream.ts';

const USER_AGENT = 'Wharf-Mirror';
/** Most bytes of one JSON answer (a page of 100 releases with long notes stays far below). */
const MAX_JSON_BYTES = 32 * 1024 * 1024;

export interface UpstreamAsset {
  id: number;
  name: string;
  label: string | null;
  content_type: string;
  size: number;
  state: string;
  /** `sha256:<hex>` where the upstream gives one (GitHub since 2025, Wharf). */
  digest?: string | null;
  url: string;
  created_at?: string | null;
  /** Gitea's name of the stored file, new on every upload. */
  uuid?: string | null;
}

export interface UpstreamRelease {
  id: number;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  created_at: string;
  /** When the upstream published it (ISO 8601); kept on the mirrored release. */
  published_at?: string | null;
  assets: UpstreamAsset[];
}

/** The upstream refused or failed; the message says what it answered. */
export class UpstreamError extends Error {}

/** The API dialect an upstream speaks. */
export type UpstreamKind = 'github' | 'gitea';

/** Where a repository URL's API and git live. */
export interface UpstreamLocation {
  owner: string;
  repo: string;
  /** The REST API's base (`https://api.github.com`, `https://ghes.example/api/v3`, `https://gitea.example/api/v1`). */
  api: string;
  /** The server's root (`https://host[/prefix]`), where Gitea answers `/api/v1/version`. */
  root: string;
  git: string;
}

/**
 * `https://github.com/o/r` → api.github.com; any other `https://host[/prefix]/o/r` is a GHES or
 * Wharf with its API under `/api/v3`, or for `kind` `gitea` a Gitea/Forgejo with it under
 * `/api/v1`. A trailing `.git` or slash is ignored.
 */
export function locateUpstream(url: string, kind: UpstreamKind = 'github'): UpstreamLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UpstreamError(`${url} is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UpstreamError('the upstream URL must be http(s)');
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new UpstreamError('the upstream URL takes no credentials, query or fragment (give a token separately)');
  const parts = parsed.pathname
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  if (parts.length < 2) throw new UpstreamError('the upstream URL must name a repository: https://host/OWNER/REPO');
  const [owner, repo] = parts.slice(-2) as [string, string];
  const prefix = parts
    .slice(0, -2)
    .map((p) => `/${p}`)
    .join('');
  const root = `${parsed.origin}${prefix}`;
  const web = `${root}/${owner}/${repo}`;
  const api = kind === 'gitea' ? `${root}/api/v1` : parsed.hostname === 'github.com' ? 'https://api.github.com' : `${root}/api/v3`;
  return { owner, repo, api, root, git: `${web}.git` };
}

const policies = new WeakMap<AppContext['config'], OutboundPolicy>();
function policyOf(ctx: AppContext): OutboundPolicy {
  let p = policies.get(ctx.config);
  if (!p) {
    p = new OutboundPolicy(ctx.config.outboundAllowedHosts);
    policies.set(ctx.config, p);
  }
  return p;
}

function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** How long a rate-limited answer asks to wait (ms), or null when it is not a rate limit. */
export function rateLimitWait(res: { status: number; headers: Record<string, string | string[] | undefined> }, now = Date.now()): number | null {
  if (res.status !== 403 && res.status !== 429) return null;
  const retryAfter = header(res, 'retry-after');
  if (retryAfter !== undefined && /^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
  if (header(res, 'x-ratelimit-remaining') === '0') {
    const reset = Number(header(res, 'x-ratelimit-reset'));
    return Number.isFinite(reset) ? Math.max(0, reset * 1000 - now) + 1000 : 60_000;
  }
  // GitHub's secondary limits without Retry-After: wait at least a minute.
  if (res.status === 429) return 60_000;
  return null;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

/** Counts of the requests one sync made, by how they were answered. */
export interface RequestCounts {
  requests: number;
  notModified: number;
  rateLimitWaits: number;
}

/** How a page of a list says where the next one is: its `Link` and `X-Total-Count` headers, and its length. */
type NextPage = (url: string, link: string | undefined, total: string | undefined, items: number) => string | null;

/** An upstream of either dialect: the HTTP, rate-limit, download and git machinery they share. */
export abstract class Upstream {
  abstract readonly kind: UpstreamKind;
  readonly location: UpstreamLocation;
  readonly counts: RequestCounts = { requests: 0, notModified: 0, rateLimitWaits: 0 };
  protected readonly ctx: AppContext;
  readonly #mirror: Mirror;
  readonly #token: string | null;
  readonly #signal: AbortSignal | undefined;

  constructor(ctx: AppContext, mirror: Mirror, token: string | null, kind: UpstreamKind, signal?: AbortSignal) {
    this.ctx = ctx;
    this.#mirror = mirror;
    this.#token = token;
    this.#signal = signal;
    this.location = locateUpstream(mirror.upstream_url, kind);
  }

  /** Every published release, newest first (the upstream's order). */
  abstract releases(): Promise<UpstreamRelease[]>;

  /** The upstream's latest release's tag, or null when it has none. */
  abstract latestTag(): Promise<string | null>;

  #headers(accept: string): Record<string, string> {
    return {
      Accept: accept,
      'User-Agent': USER_AGENT,
      'X-GitHub-Api-Version': '2022-11-28',
      ...(this.#token ? { Authorization: `token ${this.#token}` } : {}),
    };
  }

  /** One request, waiting out rate limits (a bounded number of times). */
  async #send(send: () => Promise<OutboundResponse>): Promise<OutboundResponse> {
    for (let attempt = 0; ; attempt++) {
      this.counts.requests++;
      const res = await send();
      const wait = rateLimitWait(res);
      if (wait === null || attempt >= 5) return res;
      if (wait > this.ctx.config.mirrors.maxRateLimitWaitMs) {
        throw new UpstreamError(`the upstream's rate limit is spent until ${new Date(Date.now() + wait).toISOString()}; the next sync continues`);
      }
      this.counts.rateLimitWaits++;
      this.ctx.log.info({ mirror: this.#mirror.id, waitMs: wait }, 'mirror: waiting out the upstream rate limit');
      await sleep(wait, this.#signal);
    }
  }

  /**
   * GET of a JSON document, conditional on the answer kept from last time; returns the body and
   * the next page's URL (`nextPage` reads it from the answer; by default its `Link: rel="next"`).
   */
  async getJson(url: string, nextPage: NextPage = (_url, link) => nextLink(link)): Promise<{ body: unknown; next: string | null; status: number }> {
    const cached = await cachedAnswer(this.ctx.db, this.#mirror.id, url);
    const res = await this.#send(() =>
      outboundRequest(policyOf(this.ctx), {
        method: 'GET',
        url,
        headers: { ...this.#headers('application/vnd.github+json'), ...(cached ? { 'If-None-Match': cached.etag } : {}) },
        timeoutMs: this.ctx.config.mirrors.requestTimeoutMs,
        maxResponseBytes: MAX_JSON_BYTES,
      }),
    );
    if (res.status === 304 && cached) {
      this.counts.notModified++;
      // Kept as the next page's URL, a newline, then the body (a 304 need not repeat `Link`).
      const cut = cached.body.indexOf('\n');
      return { body: JSON.parse(cached.body.slice(cut + 1)) as unknown, next: cached.body.slice(0, cut) || null, status: 304 };
    }
    if (res.status === 404) return { body: null, next: null, status: 404 };
    if (res.status !== 200) throw new UpstreamError(`${url} answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    const text = res.body.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamError(`${url} did not answer JSON`);
    }
    const next = nextPage(url, header(res, 'link'), header(res, 'x-total-count'), Array.isArray(body) ? body.length : 0);
    const etag = header(res, 'etag');
    if (etag) await rememberAnswer(this.ctx.db, this.#mirror.id, url, etag, `${next ?? ''}\n${text}`);
    return { body, next, status: 200 };
  }

  /** An asset's bytes (the API's download, following its redirect to storage). */
  async download(asset: UpstreamAsset): Promise<StreamedResponse> {
    for (let attempt = 0; ; attempt++) {
      this.counts.requests++;
      const res = await outboundGetStream(policyOf(this.ctx), {
        url: asset.url,
        headers: this.#headers('application/octet-stream'),
        idleTimeoutMs: this.ctx.config.mirrors.requestTimeoutMs,
        signal: this.#signal,
      });
      if (res.status === 200) return res;
      res.body.resume();
      const wait = rateLimitWait({ status: res.status, headers: res.headers });
      if (wait === null || attempt >= 5 || wait > this.ctx.config.mirrors.maxRateLimitWaitMs) {
        throw new UpstreamError(`downloading ${asset.name} answered ${res.status}`);
      }
      this.counts.rateLimitWaits++;
      await sleep(wait, this.#signal);
    }
  }

  /**
   * How git reaches the upstream: the token as a Basic `Authorization` header (GitHub's git
   * takes `x-access-token:TOKEN`), and the host pinned to an address the outbound policy allows
   * (resolved and checked here; git then connects to exactly that address, so the name cannot be
   * re-resolved to an internal one in between).
   */
  async gitRemote(): Promise<RemoteAccess> {
    const url = new URL(this.location.git);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const policy = policyOf(this.ctx);
    const config: Record<string, string> = {};
    if (isIP(host)) policy.check(host, host);
    else {
      const addresses = await lookup(host, { all: true });
      for (const a of addresses) policy.check(host, a.address);
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      const first = addresses[0]!;
      config['http.curloptResolve'] = `${host}:${port}:${first.family === 6 ? `[${first.address}]` : first.address}`;
    }
    if (this.#token) config['http.extraHeader'] = `Authorization: Basic ${Buffer.from(`x-access-token:${this.#token}`).toString('base64')}`;
    return { url: this.location.git, config };
  }
}

/** GitHub.com, GHES or another Wharf: `/releases?per_page=N`, following `Link: rel="next"`. */
export class GithubUpstream extends Upstream {
  readonly kind = 'github' as const;

  constructor(ctx: AppContext, mirror: Mirror, token: string | null, signal?: AbortSignal) {
    super(ctx, mirror, token, 'github', signal);
  }

  override async releases(): Promise<UpstreamRelease[]> {
    const out: UpstreamRelease[] = [];
    let url: string | null = `${this.location.api}/repos/${this.location.owner}/${this.location.repo}/releases?per_page=${this.ctx.config.mirrors.pageSize}`;
    for (let pages = 0; url && pages < 1000; pages++) {
      const { body, next, status } = await this.getJson(url);
      if (status === 404) throw new UpstreamError(`the upstream repository ${this.location.owner}/${this.location.repo} was not found (a private one needs a token)`);
      if (!Array.isArray(body)) throw new UpstreamError(`${url} did not answer a list of releases`);
      for (const r of body as UpstreamRelease[]) if (!r.draft) out.push(r);
      url = next;
    }
    return out;
  }

  override async latestTag(): Promise<string | null> {
    const { body, status } = await this.getJson(`${this.location.api}/repos/${this.location.owner}/${this.location.repo}/releases/latest`);
    return status === 404 ? null : ((body as { tag_name?: string }).tag_name ?? null);
  }
}

/** A release as Gitea's and Forgejo's API answer it (their swagger's `Release`). */
interface GiteaRelease {
  id: number;
  tag_name: string;
  target_commitish: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  created_at: string;
  published_at: string;
  assets: GiteaAttachment[] | null;
}

/** Their `Attachment`: no content type, label or digest; `uuid` names the stored file. */
interface GiteaAttachment {
  id: number;
  name: string;
  size: number;
  uuid: string;
  created_at?: string;
  browser_download_url: string;
}

/**
 * Gitea and Forgejo: `/api/v1/repos/{o}/{r}/releases?limit=N&page=P`. The server caps `limit`
 * (`MAX_RESPONSE_ITEMS`, 50 by default) and says where the next page is in `Link`; only its
 * `page` is taken from there (the link's host is the server's configured `ROOT_URL`, which need
 * not be the address this instance reaches it by). Assets have no digest: name and size are
 * compared, and the bytes downloaded from `browser_download_url`.
 */
export class GiteaUpstream extends Upstream {
  readonly kind = 'gitea' as const;

  constructor(ctx: AppContext, mirror: Mirror, token: string | null, signal?: AbortSignal) {
    super(ctx, mirror, token, 'gitea', signal);
  }

  override async releases(): Promise<UpstreamRelease[]> {
    const out: UpstreamRelease[] = [];
    const base = `${this.location.api}/repos/${this.location.owner}/${this.location.repo}/releases`;
    let url: string | null = `${base}?limit=${this.ctx.config.mirrors.pageSize}&page=1`;
    for (let pages = 0; url && pages < 1000; pages++) {
      const { body, next, status } = await this.getJson(url, giteaNextPage);
      if (status === 404) throw new UpstreamError(`the upstream repository ${this.location.owner}/${this.location.repo} was not found (a private one needs a token)`);
      if (!Array.isArray(body)) throw new UpstreamError(`${url} did not answer a list of releases`);
      for (const r of body as GiteaRelease[]) if (!r.draft) out.push(fromGitea(r));
      url = next;
    }
    return out;
  }

  override async latestTag(): Promise<string | null> {
    const { body, status } = await this.getJson(`${this.location.api}/repos/${this.location.owner}/${this.location.repo}/releases/latest`);
    return status === 404 ? null : ((body as { tag_name?: string }).tag_name ?? null);
  }
}

/** The next page of a Gitea list: the `page` its `Link: rel="next"` names, else counted from `X-Total-Count`. */
export const giteaNextPage: NextPage = (url, link, total, items) => {
  if (items === 0) return null;
  const here = new URL(url);
  const page = Number(here.searchParams.get('page') ?? '1');
  let nextPageNumber: number | null;
  if (link !== undefined) {
    const named = nextLink(link);
    nextPageNumber = named === null ? null : Number(new URL(named, url).searchParams.get('page'));
  } else {
    nextPageNumber = total === undefined || page * items < Number(total) ? page + 1 : null;
  }
  if (nextPageNumber === null || !Number.isInteger(nextPageNumber) || nextPageNumber <= page) return null;
  here.searchParams.set('page', String(nextPageNumber));
  return here.toString();
};

function fromGitea(r: GiteaRelease): UpstreamRelease {
  return {
    id: r.id,
    tag_name: r.tag_name,
    target_commitish: r.target_commitish,
    // Gitea shows the tag where a release has no title; GitHub's "no name" is null.
    name: r.name === '' ? null : r.name,
    body: r.body,
    draft: r.draft,
    prerelease: r.prerelease,
    created_at: r.created_at,
    published_at: r.published_at,
    assets: (r.assets ?? []).map((a) => ({
      id: a.id,
      name: a.name,
      label: null,
      content_type: 'application/octet-stream',
      size: a.size,
      state: 'uploaded',
      digest: null,
      url: a.browser_download_url,
      uuid: a.uuid,
      created_at: a.created_at,
    })),
  };
}

/**
 * Which file of the upstream an asset is, for upstreams that give no digest: Gitea's `uuid`
 * (its stored file's name, new on every upload), else the asset's id and creation time (a
 * GitHub asset replaced is deleted and uploaded again: a new id). Null when the upstream says
 * neither.
 */
export function assetIdentity(a: UpstreamAsset): string | null {
  if (a.uuid) return `uuid:${a.uuid}`;
  if (typeof a.id === 'number') return a.created_at ? `id:${a.id}@${a.created_at}` : `id:${a.id}`;
  return null;
}

/** The upstream of `mirror` in the dialect it speaks (`kind` as stored or as detected). */
export function upstreamOf(ctx: AppContext, mirror: Mirror, kind: UpstreamKind, token: string | null, signal?: AbortSignal): Upstream {
  return kind === 'gitea' ? new GiteaUpstream(ctx, mirror, token, signal) : new GithubUpstream(ctx, mirror, token, signal);
}

/**
 * Which dialect the server at `url` speaks: `gitea` when it answers Gitea's and Forgejo's
 * `GET /api/v1/version` with `{"version": …}` (GitHub, GHES and Wharf have no such route), else
 * `github`. GitHub.com is not asked.
 */
export async function detectKind(ctx: AppContext, url: string): Promise<UpstreamKind> {
  const location = locateUpstream(url);
  if (new URL(url).hostname === 'github.com') return 'github';
  const res = await outboundRequest(policyOf(ctx), {
    method: 'GET',
    url: `${location.root}/api/v1/version`,
    headers: { Accept: 'application/json', 'User-Agent': USER_AGENT },
    timeoutMs: ctx.config.mirrors.requestTimeoutMs,
    maxResponseBytes: 64 * 1024,
  });
  if (res.status !== 200) return 'github';
  try {
    const answer = JSON.parse(res.body.toString('utf8')) as { version?: unknown };
    return typeof answer?.version === 'string' ? 'gitea' : 'github';
  } catch {
    return 'github';
  }
}

/** The `rel="next"` URL of a `Link` header. */
export function nextLink(link: string | undefined): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1]!;
  }
  return null;
}
