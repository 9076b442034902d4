/**
 * Release tools that cannot run here (goreleaser needs a Go toolchain, the GitHub Actions need a
 * runner, semantic-release a whole npm project), replayed request by request against a real
 * Wharf. Each sequence follows what the tool sends, as recorded from the tool or read in its
 * source: goreleaser through go-github (raw requests with go-github's headers, Link parsing and
 * rate-limit handling), softprops/action-gh-release v2, ncipollo/release-action and
 * @semantic-release/github through Octokit as they embed it, and a few smaller npm tools.
 * Every status is asserted, every field the tool reads is checked, and every JSON success body is
 * validated against GitHub's OpenAPI description.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { assertMatchesOpenApi } from '../support/openapi.ts';
import { addCollaborator, createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';

/** Orders `[name, …]` rows by name, for lists whose order depends on which parallel upload landed first. */
const byFirst = (a: unknown[], b: unknown[]): number => String(a[0]).localeCompare(String(b[0]));
import { startServer, type TestServer } from '../support/server.ts';

/** Rate limiting on (as on github.com) and off (as GHES ships by default). */
let limited: TestServer;
let unlimited: TestServer;
const users = new Map<TestServer, TestUser>();

/** Requests sent per tool, for the figures printed at the end. */
const sent: Record<string, number> = {};
function count(tool: string): void {
  sent[tool] = (sent[tool] ?? 0) + 1;
}

beforeAll(async () => {
  [limited, unlimited] = await Promise.all([
    startServer({ env: { WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_AUTHENTICATED: '100000', WHARF_RATE_LIMIT_CONTENT_PER_MINUTE: '100000' } }),
    startServer(),
  ]);
  for (const server of [limited, unlimited]) users.set(server, await createUser(server));
});
afterAll(async () => {
  console.log(`release-tools: requests replayed per tool ${JSON.stringify(sent)}, ${Object.values(sent).reduce((a, b) => a + b, 0)} in all`);
  await Promise.all([limited?.close(), unlimited?.close()]);
});

/** A repository with one commit on `main` and the given lightweight tags on it, pushed over HTTP. */
async function repoWithTags(server: TestServer, owner: TestUser, tags: string[] = []): Promise<{ owner: string; repo: string; full: string }> {
  const created = await createRepo(server, owner);
  const work = await WorkRepo.create();
  await work.commit('initial', { file: 'README.md', content: '# tool\n' });
  for (const tag of tags) await work.git('tag', tag);
  await work.push(server, created.full, owner.token, 'refs/heads/main', ...tags.map((t) => `refs/tags/${t}`));
  return { owner: owner.login, repo: created.name, full: created.full };
}

/** Creates `n` drafts (cheap: drafts make no tags), in parallel batches. */
async function seedDrafts(server: TestServer, token: string, full: string, n: number, prefix: string): Promise<number[]> {
  const ids: number[] = [];
  for (let start = 0; start < n; start += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - start) }, (_, i) =>
        call('POST', `${server.api}/repos/${full}/releases`, { token, body: { tag_name: `${prefix}${start + i}`, name: `${prefix}${start + i}`, draft: true }, skipSchema: true }),
      ),
    );
    for (const res of batch) {
      if (res.status !== 201) throw new Error(`seed: ${res.status} ${res.text}`);
      ids.push(res.body.id);
    }
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// go-github, as goreleaser drives it
// ---------------------------------------------------------------------------------------------

interface GoResponse {
  status: number;
  headers: Headers;
  body: any;
  nextPage: number;
  prevPage: number;
  firstPage: number;
  lastPage: number;
}

/**
 * `populatePageValues` from go-github: split the first `Link` header on `,`, each entry on `;`,
 * require `<…>`, read the `page` query parameter and the trimmed `rel="…"` segments. Entries
 * without `page=` are ignored, so a cursor-only link would silently end goreleaser's loops.
 */
function goPageValues(link: string | null): { nextPage: number; prevPage: number; firstPage: number; lastPage: number } {
  const out = { nextPage: 0, prevPage: 0, firstPage: 0, lastPage: 0 };
  if (!link) return out;
  for (const entry of link.split(',')) {
    const segments = entry.trim().split(';');
    if (segments.length < 2) continue;
    const href = segments[0]!;
    if (!href.startsWith('<') || !href.endsWith('>')) continue;
    let url: URL;
    try {
      url = new URL(href.slice(1, -1));
    } catch {
      continue;
    }
    const page = url.searchParams.get('page') ?? '';
    if (page === '') continue;
    for (const segment of segments.slice(1)) {
      const n = Number.parseInt(page, 10);
      switch (segment.trim()) {
        case 'rel="next"':
          out.nextPage = n;
          break;
        case 'rel="prev"':
          out.prevPage = n;
          break;
        case 'rel="first"':
          out.firstPage = n;
          break;
        case 'rel="last"':
          out.lastPage = n;
          break;
      }
    }
  }
  return out;
}

/** go-github's query encoding: `url.Values.Encode`, keys sorted, zero values omitted. */
function goQuery(values: Record<string, string | number | undefined>): string {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined && v !== 0 && v !== '');
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!entries.length) return '';
  return `?${entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v)).replace(/%20/g, '+')}`).join('&')}`;
}

/**
 * A go-github v89 client configured the way goreleaser does for GHES: `WithEnterpriseURLs(root,
 * root)` turns the host root into `/api/v3/` and `/api/uploads/`; the oauth2 transport sends
 * `Bearer`. It tracks rate-limit headers as go-github does and refuses to send once it has seen
 * `remaining: 0` with a future reset (which must never happen here).
 */
class GoGitHub {
  readonly baseURL: string;
  readonly uploadURL: string;
  blockedUntil = 0;
  /** Responses that carried `x-ratelimit-remaining`. */
  rateHeaders = 0;
  readonly seen: string[] = [];

  constructor(
    root: string,
    private readonly token: string,
  ) {
    const withSlash = root.endsWith('/') ? root : `${root}/`;
    this.baseURL = withSlash.endsWith('/api/v3/') ? withSlash : `${withSlash}api/v3/`;
    this.uploadURL = withSlash.endsWith('/api/uploads/') ? withSlash : `${withSlash}api/uploads/`;
  }

  private headers(): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      'user-agent': 'go-github/v89',
      accept: 'application/vnd.github.v3+json',
      'x-github-api-version': '2022-11-28',
      'accept-encoding': 'gzip',
    };
  }

  async do(method: string, url: string, init: { json?: unknown; bytes?: Uint8Array; contentType?: string } = {}): Promise<GoResponse> {
    count('goreleaser');
    if (this.blockedUntil > Date.now()) throw new Error(`go-github would refuse ${method} ${url} locally: rate limit seen exhausted`);
    const headers = this.headers();
    let body: string | Uint8Array | undefined;
    if (init.json !== undefined) {
      // json.Encoder with SetEscapeHTML(false): compact JSON plus a newline.
      body = `${JSON.stringify(init.json)}\n`;
      headers['content-type'] = 'application/json';
    } else if (init.bytes) {
      body = init.bytes;
      headers['content-type'] = init.contentType || 'application/octet-stream';
      headers['content-length'] = String(init.bytes.length);
    }
    const res = await fetch(url, { method, headers, body: body as BodyInit | undefined, redirect: 'manual' });
    const text = await res.text();
    const parsed = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
    this.seen.push(`${method} ${new URL(url).pathname}${new URL(url).search} ${res.status}`);
    const remaining = res.headers.get('x-ratelimit-remaining');
    if (remaining !== null) this.rateHeaders += 1;
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    if (remaining === '0' && reset * 1000 > Date.now()) this.blockedUntil = reset * 1000;
    if (res.status >= 200 && res.status < 300 && res.status !== 204 && typeof parsed === 'object') assertMatchesOpenApi(method, url, res.status, parsed);
    if (res.status >= 400) {
      // go-github's CheckResponse decodes ErrorResponse{message, errors[]}.
      expect(typeof parsed).toBe('object');
      expect(typeof parsed.message).toBe('string');
    }
    return { status: res.status, headers: res.headers, body: parsed, ...goPageValues(res.headers.get('link')) };
  }

  get(path: string) {
    return this.do('GET', this.baseURL + path);
  }
}

/**
 * goreleaser's `checkRateLimit`: `GET rate_limit`; an error means "could not check rate limits,
 * hoping for the best"; otherwise `resources.core` is dereferenced (a 200 without it would crash).
 */
async function checkRateLimit(client: GoGitHub, enabled: boolean): Promise<void> {
  const res = await client.get('rate_limit');
  if (!enabled) {
    expect(res.status).toBe(404);
    return;
  }
  expect(res.status).toBe(200);
  const core = res.body.resources?.core;
  expect(core).toBeDefined();
  for (const key of ['limit', 'remaining', 'reset', 'used'] as const) expect(Number.isInteger(core[key])).toBe(true);
  // go-github decodes `reset` as Unix seconds; remaining > 100 means "go on without sleeping".
  expect(core.reset * 1000).toBeGreaterThan(Date.now() - 1000);
  expect(core.remaining).toBeGreaterThan(100);
  expect(core.remaining).toBe(core.limit - core.used);
}

/** Follows go-github's NextPage until 0 and checks the pages agree with `LastPage`. */
async function goWalk(client: GoGitHub, path: string, perPage: number): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let page = 0;
  let pages = 0;
  let lastPage = 0;
  for (;;) {
    const res = await client.get(`${path}${goQuery({ page, per_page: perPage })}`);
    expect(res.status).toBe(200);
    pages += 1;
    items.push(...res.body);
    if (pages === 1) lastPage = res.lastPage;
    if (res.nextPage === 0) break;
    expect(res.nextPage).toBe(pages + 1);
    expect(pages).toBeLessThan(1000);
    page = res.nextPage;
  }
  expect(lastPage).toBe(pages === 1 ? 0 : pages);
  return { items, pages };
}

/** Content-Type as go-github derives it: `mime.TypeByExtension(filepath.Ext(name))` on a Debian runner. */
function goMediaType(name: string): string {
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.')) : '';
  const table: Record<string, string> = {
    '.gz': 'application/gzip',
    '.zip': 'application/zip',
    '.txt': 'text/plain; charset=utf-8',
    '.json': 'application/json',
  };
  return table[ext] ?? '';
}

interface GoreleaserConfig {
  tag: string;
  draft?: boolean;
  replaceExistingDraft?: boolean;
  /** `use_existing_draft` with `release_notes_mode: keep-existing`. */
  useExistingDraft?: boolean;
  replaceExistingArtifacts?: boolean;
  prerelease?: boolean;
  makeLatest?: string;
  artifacts: Array<{ name: string; bytes: Uint8Array }>;
}

/** `goreleaser release` from preflight to publish (internal/client/github.go, internal/pipe/release). */
async function goreleaser(client: GoGitHub, target: { owner: string; repo: string }, cfg: GoreleaserConfig, rateLimitOn: boolean): Promise<{ release: any; uploaded: any[] }> {
  const repoPath = `repos/${target.owner}/${target.repo}`;
  // Preflight (CanRelease): the repository, then the tag must not hold an immutable release.
  await checkRateLimit(client, rateLimitOn);
  const repository = await client.get(repoPath);
  expect(repository.status).toBe(200);
  expect(repository.body.full_name).toBe(`${target.owner}/${target.repo}`);
  const existing = await client.get(`${repoPath}/releases/tags/${cfg.tag}`);
  expect(existing.status).toBe(404);

  await checkRateLimit(client, rateLimitOn);
  const title = cfg.tag;
  if (cfg.draft && cfg.replaceExistingDraft) {
    // deleteExistingDraftRelease: pages of 50, first draft with the same name is deleted.
    const opt = { page: 0, per_page: 50 };
    for (;;) {
      const list = await client.get(`${repoPath}/releases${goQuery(opt)}`);
      expect(list.status).toBe(200);
      const match = (list.body as any[]).find((r) => r.draft && r.name === title);
      if (match) {
        expect((await client.do('DELETE', `${client.baseURL}${repoPath}/releases/${match.id}`)).status).toBe(204);
        break;
      }
      if (list.nextPage === 0) break;
      opt.page = list.nextPage;
    }
  }
  const data = { tag_name: cfg.tag, name: title, body: `## Changelog\n* ${cfg.tag}\n`, draft: true, prerelease: cfg.prerelease ?? false };
  let existingDraft: any = null;
  if (cfg.useExistingDraft) {
    // findDraftRelease: pages of 50, a draft whose name is the tag.
    const opt = { page: 0, per_page: 50 };
    for (;;) {
      const list = await client.get(`${repoPath}/releases${goQuery(opt)}`);
      expect(list.status).toBe(200);
      existingDraft = (list.body as any[]).find((r) => r.draft && r.name === cfg.tag) ?? null;
      if (existingDraft || list.nextPage === 0) break;
      opt.page = list.nextPage;
    }
  } else {
    const byTag = await client.get(`${repoPath}/releases/tags/${cfg.tag}`);
    expect(byTag.status).toBe(404);
  }
  let created: GoResponse;
  if (existingDraft) {
    // updateRelease keeps the draft state; keep-existing keeps the drafted notes.
    created = await client.do('PATCH', `${client.baseURL}${repoPath}/releases/${existingDraft.id}`, { json: { ...data, body: existingDraft.body } });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: existingDraft.id, body: existingDraft.body });
  } else {
    created = await client.do('POST', `${client.baseURL}${repoPath}/releases`, { json: data });
    expect(created.status).toBe(201);
  }
  expect(created.body).toMatchObject({ tag_name: cfg.tag, name: title, draft: true, prerelease: cfg.prerelease ?? false });
  const releaseId = created.body.id as number;
  expect(Number.isInteger(releaseId)).toBe(true);

  // Uploads go to the configured upload URL (never `upload_url`), no label, `--parallelism 4`.
  const uploadOne = async (artifact: { name: string; bytes: Uint8Array }): Promise<any> => {
    for (let attempt = 0; attempt < 2; attempt++) {
      await checkRateLimit(client, rateLimitOn);
      const res = await client.do('POST', `${client.uploadURL}${repoPath}/releases/${releaseId}/assets${goQuery({ name: artifact.name })}`, {
        bytes: artifact.bytes,
        contentType: goMediaType(artifact.name),
      });
      if (res.status === 201) return res.body;
      expect(res.status).toBe(422);
      expect(res.body.errors?.[0]?.code).toBe('already_exists');
      if (!cfg.replaceExistingArtifacts || attempt > 0) throw new Error(`upload ${artifact.name}: 422`);
      // deleteReleaseArtifact: pages of 100 from page 1, recursing on NextPage.
      let page = 1;
      let deleted = false;
      while (page > 0 && !deleted) {
        const list = await client.get(`${repoPath}/releases/${releaseId}/assets${goQuery({ page, per_page: 100 })}`);
        expect(list.status).toBe(200);
        const match = (list.body as any[]).find((a) => a.name === artifact.name);
        if (match) {
          expect((await client.do('DELETE', `${client.baseURL}${repoPath}/releases/assets/${match.id}`)).status).toBe(204);
          deleted = true;
        }
        page = list.nextPage;
      }
      expect(deleted).toBe(true);
    }
    throw new Error('unreachable');
  };
  const uploaded: any[] = [];
  const queue = [...cfg.artifacts];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) uploaded.push(await uploadOne(next));
    }),
  );
  for (const asset of uploaded) {
    const artifact = cfg.artifacts.find((a) => a.name === asset.name)!;
    expect(artifact).toBeDefined();
    expect(asset).toMatchObject({ state: 'uploaded', size: artifact.bytes.length, content_type: goMediaType(artifact.name) || 'application/octet-stream', label: null });
  }

  if (cfg.draft) return { release: created.body, uploaded };
  await checkRateLimit(client, rateLimitOn);
  const makeLatest = cfg.prerelease ? 'false' : (cfg.makeLatest ?? 'true');
  const published = await client.do('PATCH', `${client.baseURL}${repoPath}/releases/${releaseId}`, { json: { draft: false, make_latest: makeLatest } });
  expect(published.status).toBe(200);
  expect(published.body).toMatchObject({ id: releaseId, draft: false, prerelease: cfg.prerelease ?? false, tag_name: cfg.tag });
  expect(published.body.published_at).not.toBeNull();
  return { release: published.body, uploaded };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe.each([
  { label: 'rate limiting on', rateLimitOn: true, fillers: 100 },
  { label: 'rate limiting off', rateLimitOn: false, fillers: 3 },
])('goreleaser (go-github v89), $label', ({ rateLimitOn, fillers }) => {
  it('replace_existing_draft, full release with replaced artifacts, prerelease, use_existing_draft', { timeout: 120_000 }, async () => {
    const server = rateLimitOn ? limited : unlimited;
    const user = users.get(server)!;
    const target = await repoWithTags(server, user, ['v1.0.0', 'v1.1.0', 'v1.2.0-rc.1', 'v1.3.0']);
    // API base given as the host root, as the docs suggest: go-github appends api/v3/ and api/uploads/.
    const client = new GoGitHub(`${server.base}/`, user.token);
    expect(client.baseURL).toBe(`${server.base}/api/v3/`);
    expect(client.uploadURL).toBe(`${server.base}/api/uploads/`);

    // A stale draft of an earlier run, buried under 60 newer drafts so that it is on page 2 of 50.
    const stale = await call('POST', `${server.api}/repos/${target.full}/releases`, { token: user.token, body: { tag_name: 'v1.0.0', name: 'v1.0.0', draft: true } });
    expect(stale.status).toBe(201);
    await seedDrafts(server, user.token, target.full, 60, 'v0.');
    const walk = await goWalk(client, `repos/${target.full}/releases`, 50);
    expect(walk.pages).toBe(2);
    expect(walk.items).toHaveLength(61);
    expect(new Set(walk.items.map((r) => r.id)).size).toBe(61);
    expect(walk.items.at(-1).id).toBe(stale.body.id); // newest first: the oldest draft is last

    // 1. release.draft + replace_existing_draft: the stale draft goes, a new draft takes its place.
    const draftRun = await goreleaser(
      client,
      target,
      {
        tag: 'v1.0.0',
        draft: true,
        replaceExistingDraft: true,
        artifacts: [
          { name: 'tool_1.0.0_linux_amd64.tar.gz', bytes: bytes('tarball\n') },
          { name: 'tool_1.0.0_windows_amd64.zip', bytes: bytes('zip\n') },
          { name: 'tool_1.0.0_linux_amd64.sbom.json', bytes: bytes('{"sbom":true}\n') },
          { name: 'tool', bytes: bytes('\x7fELF') },
          { name: 'checksums.txt', bytes: bytes('abc  tool\n') },
        ],
      },
      rateLimitOn,
    );
    expect((await call('GET', `${server.api}/repos/${target.full}/releases/${stale.body.id}`, { token: user.token })).status).toBe(404);
    const afterDraft = await goWalk(client, `repos/${target.full}/releases`, 50);
    expect(afterDraft.items.filter((r) => r.name === 'v1.0.0').map((r) => r.id)).toEqual([draftRun.release.id]);
    expect(afterDraft.items[0]).toMatchObject({ id: draftRun.release.id, draft: true, tag_name: 'v1.0.0' });
    expect(afterDraft.items[0].assets.map((a: any) => a.name).sort()).toEqual(draftRun.uploaded.map((a) => a.name).sort());

    // 2. A full release; checksums.txt is uploaded last, then again (a re-run with
    // replace_existing_artifacts): 422 already_exists → list assets page by page → delete → upload.
    const fillerArtifacts = Array.from({ length: fillers }, (_, i) => ({ name: `part-${String(i).padStart(3, '0')}.bin`, bytes: bytes(`part ${i}\n`) }));
    const full = await goreleaser(client, target, { tag: 'v1.1.0', replaceExistingArtifacts: true, artifacts: fillerArtifacts }, rateLimitOn);
    const releaseId = full.release.id as number;
    const repoPath = `repos/${target.full}`;
    const first = await client.do('POST', `${client.uploadURL}${repoPath}/releases/${releaseId}/assets?name=checksums.txt`, {
      bytes: bytes('first\n'),
      contentType: goMediaType('checksums.txt'),
    });
    expect(first.status).toBe(201);
    const again = await client.do('POST', `${client.uploadURL}${repoPath}/releases/${releaseId}/assets?name=checksums.txt`, {
      bytes: bytes('second run\n'),
      contentType: goMediaType('checksums.txt'),
    });
    expect(again.status).toBe(422);
    expect(again.body.errors[0]).toMatchObject({ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' });
    const listedPages: number[] = [];
    let page = 1;
    let found: any = null;
    while (page > 0 && !found) {
      const list = await client.get(`${repoPath}/releases/${releaseId}/assets${goQuery({ page, per_page: 100 })}`);
      expect(list.status).toBe(200);
      listedPages.push(page);
      found = (list.body as any[]).find((a) => a.name === 'checksums.txt') ?? null;
      page = list.nextPage;
    }
    expect(found?.id).toBe(first.body.id);
    // With 100 other assets before it, checksums.txt is only reachable by following Link to page 2.
    expect(listedPages).toEqual(fillers >= 100 ? [1, 2] : [1]);
    expect((await client.do('DELETE', `${client.baseURL}${repoPath}/releases/assets/${found.id}`)).status).toBe(204);
    const replaced = await client.do('POST', `${client.uploadURL}${repoPath}/releases/${releaseId}/assets?name=checksums.txt`, {
      bytes: bytes('second run\n'),
      contentType: goMediaType('checksums.txt'),
    });
    expect(replaced.status).toBe(201);
    expect(replaced.body).toMatchObject({ name: 'checksums.txt', size: 11, content_type: 'text/plain; charset=utf-8' });
    const download = await fetch(`${client.baseURL}${repoPath}/releases/assets/${replaced.body.id}`, {
      headers: { authorization: `Bearer ${user.token}`, accept: 'application/octet-stream' },
    });
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('second run\n');
    const assets = await goWalk(client, `${repoPath}/releases/${releaseId}/assets`, 100);
    expect(assets.items).toHaveLength(fillers + 1);
    expect(assets.pages).toBe(fillers >= 100 ? 2 : 1);
    expect(new Set(assets.items.map((a) => a.name)).size).toBe(fillers + 1);

    const latest = await client.get(`${repoPath}/releases/latest`);
    expect(latest.status).toBe(200);
    expect(latest.body.tag_name).toBe('v1.1.0');

    // 3. A prerelease is published with make_latest "false": latest stays on v1.1.0.
    const pre = await goreleaser(
      client,
      target,
      { tag: 'v1.2.0-rc.1', prerelease: true, makeLatest: 'true', artifacts: [{ name: 'checksums.txt', bytes: bytes('rc\n') }] },
      rateLimitOn,
    );
    expect(pre.release).toMatchObject({ prerelease: true, draft: false });
    expect((await client.get(`${repoPath}/releases/latest`)).body.tag_name).toBe('v1.1.0');
    expect((await client.get(`${repoPath}/releases/tags/v1.2.0-rc.1`)).body.id).toBe(pre.release.id);

    // 4. use_existing_draft: a draft prepared by another tool (a release drafter) is completed.
    const drafted = await call('POST', `${server.api}/repos/${target.full}/releases`, {
      token: user.token,
      body: { tag_name: 'v1.3.0', name: 'v1.3.0', body: 'Drafted notes', draft: true },
    });
    expect(drafted.status).toBe(201);
    const completed = await goreleaser(client, target, { tag: 'v1.3.0', useExistingDraft: true, artifacts: [{ name: 'checksums.txt', bytes: bytes('1.3\n') }] }, rateLimitOn);
    expect(completed.release).toMatchObject({ id: drafted.body.id, body: 'Drafted notes', draft: false, tag_name: 'v1.3.0' });
    expect(completed.uploaded.map((a) => a.name)).toEqual(['checksums.txt']);
    expect((await client.get(`${repoPath}/releases/latest`)).body.tag_name).toBe('v1.3.0');

    expect(client.blockedUntil).toBe(0);
    // go-github saw rate-limit headers on every counted answer when limiting is on, none when off.
    if (rateLimitOn) expect(client.rateHeaders).toBeGreaterThan(100);
    else expect(client.rateHeaders).toBe(0);
    for (const line of client.seen) expect(line).not.toMatch(/ 5\d\d$/);
    if (!rateLimitOn) expect(client.seen.filter((l) => l.startsWith('GET /api/v3/rate_limit ')).every((l) => l.endsWith(' 404'))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Octokit as the Actions and semantic-release embed it
// ---------------------------------------------------------------------------------------------

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The JSON body sent, parsed (null for uploads and bodiless requests). */
  body: any;
  status: number;
}

const ToolOctokit = Octokit.plugin(retry, throttling);
type ToolOctokitInstance = InstanceType<typeof ToolOctokit>;

/**
 * The throttling plugin's client-side pacing (one write per second, one release creation per
 * three seconds) only delays requests; it sends nothing. It is replaced by a pass-through so the
 * file stays fast, while the plugin's handling of 403/429 answers stays in place.
 */
const passThrough = { key: () => ({ schedule: (...args: any[]) => (typeof args[0] === 'function' ? args[0](...args.slice(1)) : args[1](...args.slice(2))) }) };

/** An Octokit with retry and throttling whose every request (URL, headers, status) is recorded. */
function toolOctokit(server: TestServer, token: string, tool: string, log: Recorded[]): { octokit: ToolOctokitInstance; limitHits: string[] } {
  /** Throttling callbacks, and 5xx answers (which the retry plugin would otherwise absorb). */
  const limitHits: string[] = [];
  const recordingFetch = async (url: string, init: RequestInit): Promise<Response> => {
    count(tool);
    const res = await fetch(url, init);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const body = typeof init.body === 'string' && (headers['content-type'] ?? '').startsWith('application/json') ? JSON.parse(init.body) : null;
    log.push({ method: init.method ?? 'GET', url, headers, body, status: res.status });
    if (res.status >= 500) limitHits.push(`${res.status} ${init.method} ${url}`);
    if (res.status >= 200 && res.status < 300 && res.status !== 204 && (res.headers.get('content-type') ?? '').includes('json')) {
      assertMatchesOpenApi(init.method ?? 'GET', url, res.status, await res.clone().json());
    }
    return res;
  };
  const octokit = new ToolOctokit({
    auth: token,
    baseUrl: server.api,
    request: { fetch: recordingFetch },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    throttle: {
      write: passThrough,
      notifications: passThrough,
      onRateLimit: (_after: number, options: { url: string }) => {
        limitHits.push(`primary ${options.url}`);
        return false;
      },
      onSecondaryRateLimit: (_after: number, options: { url: string }) => {
        limitHits.push(`secondary ${options.url}`);
        return false;
      },
    } as any,
  });
  return { octokit, limitHits };
}

/** `METHOD /path?query STATUS` lines, with the API and uploads prefixes and the repository shortened. */
function lines(server: TestServer, log: Recorded[], full: string): string[] {
  return log.map((r) => {
    const u = new URL(r.url);
    const path = `${u.pathname}${u.search}`
      .replace(/^\/api\/v3/, '')
      .replace(/^\/api\/uploads/, 'UPL')
      .replace(`/repos/${full}`, '/R');
    return `${r.method} ${path} ${r.status}`;
  });
}

// ---------------------------------------------------------------------------------------------
// softprops/action-gh-release v2
// ---------------------------------------------------------------------------------------------

interface SoftpropsInputs {
  tag: string;
  name?: string;
  body?: string;
  draft?: boolean;
  prerelease?: boolean;
  makeLatest?: 'true' | 'false' | 'legacy';
  files: Array<{ name: string; data: string; mime: string }>;
}

/** `release()` and `upload()` of src/github.ts plus the publish step of src/main.ts (v2). */
async function softprops(octokit: ToolOctokitInstance, token: string, owner: string, repo: string, inputs: SoftpropsInputs): Promise<{ release: any; assets: any[] }> {
  let release: any;
  try {
    const existing = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag: inputs.tag });
    expect(existing.status).toBe(200);
    // Published re-run: the whole release is PATCHed with every input.
    const updated = await octokit.rest.repos.updateRelease({
      owner,
      repo,
      release_id: existing.data.id,
      tag_name: inputs.tag,
      target_commitish: existing.data.target_commitish,
      name: inputs.name ?? existing.data.name ?? inputs.tag,
      body: inputs.body ?? existing.data.body ?? '',
      draft: existing.data.draft,
      prerelease: inputs.prerelease ?? existing.data.prerelease,
      generate_release_notes: false,
      make_latest: inputs.makeLatest ?? 'legacy',
    });
    expect(updated.status).toBe(200);
    release = updated.data;
  } catch (error: any) {
    if (error.status !== 404) throw error;
    const created = await octokit.rest.repos.createRelease({
      owner,
      repo,
      tag_name: inputs.tag,
      name: inputs.name ?? inputs.tag,
      body: inputs.body,
      draft: true,
      prerelease: inputs.prerelease,
      make_latest: inputs.makeLatest,
      generate_release_notes: false,
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ draft: true, tag_name: inputs.tag });
    // Canonicalise: the tag again (a draft is not found by tag), then up to two pages of 100:
    // keep a published release if any, else the oldest draft; delete other empty drafts.
    await expect(octokit.rest.repos.getReleaseByTag({ owner, repo, tag: inputs.tag })).rejects.toMatchObject({ status: 404 });
    const sameTag: any[] = [];
    for (let page = 1; page <= 2; page++) {
      const list = await octokit.rest.repos.listReleases({ owner, repo, per_page: 100, page });
      expect(list.status).toBe(200);
      sameTag.push(...list.data.filter((r) => r.tag_name === inputs.tag));
      if (!/rel="next"/.test(list.headers.link ?? '')) break;
    }
    expect(sameTag.map((r) => r.id)).toContain(created.data.id);
    sameTag.sort((a, b) => Number(a.draft) - Number(b.draft) || a.id - b.id);
    release = sameTag[0];
    for (const other of sameTag.slice(1)) {
      if (other.draft && other.assets.length === 0) {
        expect((await octokit.rest.repos.deleteRelease({ owner, repo, release_id: other.id })).status).toBe(204);
      }
    }
  }

  // Uploads: upload_url cut at `{`, `?name=` appended with URLSearchParams (space as `+`).
  const uploadUrl = release.upload_url.slice(0, release.upload_url.indexOf('{'));
  const currentAssets: any[] = release.assets;
  await Promise.all(
    inputs.files.map(async (file) => {
      const aligned = file.name.replace(/ /g, '.');
      const current = currentAssets.find((a) => a.name === aligned);
      if (current) expect((await octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: current.id })).status).toBe(204);
      const endpoint = new URL(uploadUrl);
      endpoint.searchParams.append('name', file.name);
      const data = new TextEncoder().encode(file.data);
      const res = await octokit.request({
        method: 'POST',
        url: endpoint.toString(),
        headers: { 'content-length': `${data.length}`, 'content-type': file.mime, authorization: `token ${token}` },
        data,
      } as any);
      expect(res.status).toBe(201); // the action throws on anything else
      const json = res.data;
      if (json.name && json.name !== file.name) {
        // GitHub renamed the file: keep the stored name and restore the original as label.
        const patched = await octokit.rest.repos.updateReleaseAsset({ owner, repo, asset_id: json.id, name: json.name, label: file.name });
        expect(patched.status).toBe(200);
        expect(patched.data).toMatchObject({ name: json.name, label: file.name });
      }
    }),
  );

  if (!inputs.draft && release.draft) {
    const published = await octokit.rest.repos.updateRelease({
      owner,
      repo,
      release_id: release.id,
      draft: false,
      ...(inputs.makeLatest ? { make_latest: inputs.makeLatest } : {}),
    });
    expect(published.status).toBe(200);
    expect(published.data.draft).toBe(false);
    release = published.data;
  }
  const assets = await octokit.rest.repos.listReleaseAssets({ owner, repo, release_id: release.id, per_page: 100 });
  expect(assets.status).toBe(200);
  return { release, assets: assets.data };
}

describe('softprops/action-gh-release v2 (Octokit with the throttling plugin)', () => {
  it('draft run, re-run creating a second draft for the tag, published re-run', async () => {
    const user = users.get(limited)!;
    const target = await repoWithTags(limited, user, ['v1.0.0']);
    const log: Recorded[] = [];
    const { octokit, limitHits } = toolOctokit(limited, user.token, 'softprops', log);
    const files = [
      { name: 'one.tgz', data: 'one\n', mime: 'application/gzip' },
      { name: 'two file.txt', data: 'two\n', mime: 'text/plain' },
    ];

    // Run 1, `draft: true`: a draft with both files; `two file.txt` is stored as two.file.txt.
    const first = await softprops(octokit, user.token, target.owner, target.repo, { tag: 'v1.0.0', draft: true, files });
    expect(first.release.draft).toBe(true);
    // softprops uploads in parallel, so the ids (and with them the list order) follow arrival.
    expect(first.assets.map((a) => [a.name, a.label, a.content_type]).sort(byFirst)).toEqual([
      ['one.tgz', null, 'application/gzip'],
      ['two.file.txt', 'two file.txt', 'text/plain'],
    ]);
    const run1 = lines(limited, log, target.full);
    expect(log[1]!.body).toEqual({ tag_name: 'v1.0.0', name: 'v1.0.0', draft: true, generate_release_notes: false });
    expect(log.find((r) => r.method === 'PATCH')!.body).toEqual({ name: 'two.file.txt', label: 'two file.txt' });
    const draftId = first.release.id as number;
    expect(run1).toEqual([
      'GET /R/releases/tags/v1.0.0 404',
      'POST /R/releases 201',
      'GET /R/releases/tags/v1.0.0 404',
      'GET /R/releases?per_page=100&page=1 200',
      ...run1.slice(4, 6),
      `PATCH /R/releases/assets/${first.assets.find((a: { name: string }) => a.name === 'two.file.txt').id} 200`,
      `GET /R/releases/${draftId}/assets?per_page=100 200`,
    ]);
    expect(run1.slice(4, 6).sort()).toEqual([`POST UPL/R/releases/${draftId}/assets?name=one.tgz 201`, `POST UPL/R/releases/${draftId}/assets?name=two+file.txt 201`]);

    // Run 2, the same workflow re-run without `draft`: the tag still finds nothing, so a second
    // draft for v1.0.0 is created (GitHub allows it), the list shows both, the new empty one is
    // deleted, the old draft's files are replaced and it is published.
    log.length = 0;
    const second = await softprops(octokit, user.token, target.owner, target.repo, { tag: 'v1.0.0', files, makeLatest: 'true' });
    const run2 = lines(limited, log, target.full);
    expect(run2.slice(0, 4)).toEqual(['GET /R/releases/tags/v1.0.0 404', 'POST /R/releases 201', 'GET /R/releases/tags/v1.0.0 404', 'GET /R/releases?per_page=100&page=1 200']);
    // The deleted release is the second draft, newer than the kept one, and is gone.
    const duplicateId = Number(/^DELETE \/R\/releases\/(\d+) 204$/.exec(run2[4]!)?.[1]);
    expect(duplicateId).toBeGreaterThan(draftId);
    await expect(octokit.rest.repos.getRelease({ owner: target.owner, repo: target.repo, release_id: duplicateId })).rejects.toMatchObject({ status: 404 });
    expect(second.release).toMatchObject({ id: draftId, draft: false, tag_name: 'v1.0.0' });
    expect(second.release.published_at).not.toBeNull();
    expect(run2.filter((l) => l.startsWith('DELETE /R/releases/assets/'))).toHaveLength(2);
    expect(run2.filter((l) => l.startsWith('POST UPL/'))).toHaveLength(2);
    expect(run2.filter((l) => /^PATCH \/R\/releases\/assets\/\d+ 200$/.test(l))).toHaveLength(1);
    expect(run2.at(-2)).toBe(`PATCH /R/releases/${draftId} 200`);
    expect(second.assets.map((a) => [a.name, a.label]).sort(byFirst)).toEqual([
      ['one.tgz', null],
      ['two.file.txt', 'two file.txt'],
    ]);
    const all = await octokit.rest.repos.listReleases({ owner: target.owner, repo: target.repo });
    expect(all.data.filter((r) => r.tag_name === 'v1.0.0').map((r) => r.id)).toEqual([draftId]);
    expect((await octokit.rest.repos.getLatestRelease({ owner: target.owner, repo: target.repo })).data.id).toBe(draftId);

    // Run 3, published re-run: found by tag, PATCHed with every input, files replaced.
    log.length = 0;
    const third = await softprops(octokit, user.token, target.owner, target.repo, {
      tag: 'v1.0.0',
      name: 'Version 1',
      body: 'Notes',
      files: [{ name: 'one.tgz', data: 'one again\n', mime: 'application/gzip' }],
    });
    const run3 = lines(limited, log, target.full);
    const oneId = second.assets.find((a) => a.name === 'one.tgz').id;
    expect(run3).toEqual([
      'GET /R/releases/tags/v1.0.0 200',
      `PATCH /R/releases/${draftId} 200`,
      `DELETE /R/releases/assets/${oneId} 204`,
      `POST UPL/R/releases/${draftId}/assets?name=one.tgz 201`,
      `GET /R/releases/${draftId}/assets?per_page=100 200`,
    ]);
    expect(Object.keys(log[1]!.body).sort()).toEqual(['body', 'draft', 'generate_release_notes', 'make_latest', 'name', 'prerelease', 'tag_name', 'target_commitish']);
    expect(third.release).toMatchObject({ id: draftId, name: 'Version 1', body: 'Notes', draft: false, target_commitish: 'main' });
    expect(third.assets.map((a) => [a.name, a.size])).toEqual([
      ['two.file.txt', 4],
      ['one.tgz', 10],
    ]);
    for (const r of log) expect(r.headers.authorization).toBe(`token ${user.token}`);
    expect(limitHits).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// ncipollo/release-action
// ---------------------------------------------------------------------------------------------

interface NcipolloInputs {
  tag: string;
  name: string;
  body?: string;
  draft: boolean;
  allowUpdates: boolean;
  immutableCreate?: boolean;
  generateReleaseNotes?: boolean;
  artifacts: Array<{ name: string; data: string }>;
}

/** src/Action.ts, src/Releases.ts and src/ArtifactUploader.ts (main, v1.21+), default inputs. */
async function ncipollo(octokit: ToolOctokitInstance, owner: string, repo: string, inputs: NcipolloInputs): Promise<any> {
  const fields = async (draft: boolean) => {
    let body = inputs.body ?? '';
    if (inputs.generateReleaseNotes) {
      const notes = await octokit.rest.repos.generateReleaseNotes({ owner, repo, tag_name: inputs.tag });
      expect(notes.status).toBe(200);
      expect(typeof notes.data.name).toBe('string');
      expect(notes.data.body).toContain('Full Changelog');
      body = notes.data.body;
    }
    return { body, name: inputs.name, draft, make_latest: 'legacy' as const, prerelease: false, tag_name: inputs.tag };
  };
  const create = async () => {
    const created = await octokit.rest.repos.createRelease({ owner, repo, ...(await fields(inputs.immutableCreate ? true : inputs.draft)) });
    expect(created.status).toBe(201);
    return created.data;
  };
  let release: any;
  if (inputs.allowUpdates) {
    try {
      const byTag = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag: inputs.tag });
      const updated = await octokit.rest.repos.updateRelease({ owner, repo, release_id: byTag.data.id, ...(await fields(inputs.draft)) });
      release = updated.data;
    } catch (error: any) {
      if (error.status !== 404) throw error;
      // Draft discovery reads only the first page of an unparameterised list.
      const list = await octokit.rest.repos.listReleases({ owner, repo });
      expect(list.status).toBe(200);
      const draft = list.data.find((r) => r.draft && r.tag_name === inputs.tag);
      if (draft) {
        const updated = await octokit.rest.repos.updateRelease({ owner, repo, release_id: draft.id, ...(await fields(inputs.draft)) });
        expect(updated.status).toBe(200);
        release = updated.data;
      } else {
        release = await create();
      }
    }
  } else {
    release = await create();
  }
  // replacesArtifacts (default true): list every asset, delete the same names, upload with
  // `artifactContentType` (default "raw") through upload_url.
  const existing = await octokit.paginate(octokit.rest.repos.listReleaseAssets, { owner, repo, release_id: release.id });
  for (const artifact of inputs.artifacts) {
    const same = existing.find((a) => a.name === artifact.name);
    if (same) expect((await octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: same.id })).status).toBe(204);
    const data = new TextEncoder().encode(artifact.data);
    const uploaded = await octokit.rest.repos.uploadReleaseAsset({
      owner,
      repo,
      release_id: release.id,
      url: release.upload_url,
      headers: { 'content-length': data.length, 'content-type': 'raw' },
      name: artifact.name,
      data: data as any,
    });
    expect(uploaded.status).toBe(201);
    expect(uploaded.data).toMatchObject({ name: artifact.name, content_type: 'raw', size: data.length, state: 'uploaded' });
    // The action reads browser_download_url; a draft's has GitHub's `untagged-…` path segment.
    const downloadPath = release.draft ? 'untagged-[0-9a-f]+' : inputs.tag.replace(/\./g, '\\.');
    expect(uploaded.data.browser_download_url).toMatch(new RegExp(`^${new URL(release.html_url).origin}/${owner}/${repo}/releases/download/${downloadPath}/${artifact.name}$`));
  }
  if (inputs.immutableCreate && !inputs.draft) {
    const published = await octokit.rest.repos.updateRelease({ owner, repo, release_id: release.id, draft: false });
    expect(published.status).toBe(200);
    release = published.data;
  }
  return release;
}

describe('ncipollo/release-action', () => {
  it('draft found on the first unparameterised page, allowUpdates, generated notes, raw content type, immutableCreate', async () => {
    const user = users.get(limited)!;
    const target = await repoWithTags(limited, user, ['v2.9.0', 'v3.0.0', 'v3.1.0']);
    const log: Recorded[] = [];
    const { octokit, limitHits } = toolOctokit(limited, user.token, 'ncipollo', log);
    const { owner, repo } = target;
    const previous = await octokit.rest.repos.createRelease({ owner, repo, tag_name: 'v2.9.0', name: 'v2.9.0' });
    expect(previous.status).toBe(201);
    // 31 older drafts: the list no longer fits on the default page of 30.
    await seedDrafts(limited, user.token, target.full, 31, 'v0.');

    log.length = 0;
    const first = await ncipollo(octokit, owner, repo, {
      tag: 'v3.0.0',
      name: 'Three',
      draft: true,
      allowUpdates: true,
      generateReleaseNotes: true,
      artifacts: [{ name: 'app.zip', data: 'zip v1\n' }],
    });
    expect(first).toMatchObject({ draft: true, tag_name: 'v3.0.0', name: 'Three' });
    expect(first.body).toContain('/compare/v2.9.0...v3.0.0');
    const run1 = lines(limited, log, target.full);
    expect(run1).toEqual([
      'GET /R/releases/tags/v3.0.0 404',
      'GET /R/releases 200',
      'POST /R/releases/generate-notes 200',
      'POST /R/releases 201',
      `GET /R/releases/${first.id}/assets 200`,
      `POST UPL/R/releases/${first.id}/assets?name=app.zip& 201`,
    ]);
    expect(log[3]!.body).toEqual({ body: first.body, name: 'Three', draft: true, make_latest: 'legacy', prerelease: false, tag_name: 'v3.0.0' });
    expect(log.at(-1)!.headers['content-type']).toBe('raw');
    const firstAssets = await call('GET', `${limited.api}/repos/${target.full}/releases/${first.id}/assets`, { token: user.token });
    expect(firstAssets.body.map((a: any) => [a.name, a.content_type])).toEqual([['app.zip', 'raw']]);
    const oldAsset = firstAssets.body[0].id as number;

    // The second run finds the draft on page 1 (newest first), although 33 releases exist.
    log.length = 0;
    const page1 = await call('GET', `${limited.api}/repos/${target.full}/releases`, { token: user.token });
    expect(page1.body).toHaveLength(30);
    expect(page1.body[0].id).toBe(first.id);
    expect(page1.headers.get('link')).toContain('rel="next"');
    const second = await ncipollo(octokit, owner, repo, {
      tag: 'v3.0.0',
      name: 'Three',
      body: 'Final notes',
      draft: false,
      allowUpdates: true,
      artifacts: [{ name: 'app.zip', data: 'zip v2\n' }],
    });
    expect(second).toMatchObject({ id: first.id, draft: false, body: 'Final notes', tag_name: 'v3.0.0' });
    expect(second.published_at).not.toBeNull();
    const run2 = lines(limited, log, target.full);
    expect(log[2]!.body).toEqual({ body: 'Final notes', name: 'Three', draft: false, make_latest: 'legacy', prerelease: false, tag_name: 'v3.0.0' });
    expect(run2).toEqual([
      'GET /R/releases/tags/v3.0.0 404',
      'GET /R/releases 200',
      `PATCH /R/releases/${first.id} 200`,
      `GET /R/releases/${first.id}/assets 200`,
      `DELETE /R/releases/assets/${oldAsset} 204`,
      `POST UPL/R/releases/${first.id}/assets?name=app.zip& 201`,
    ]);
    const bytesNow = await fetch(`${limited.base}/${target.full}/releases/download/v3.0.0/app.zip`);
    expect(bytesNow.status).toBe(200);
    expect(await bytesNow.text()).toBe('zip v2\n');

    // A third run finds the now published release by tag and updates it in place.
    log.length = 0;
    const third = await ncipollo(octokit, owner, repo, { tag: 'v3.0.0', name: 'Three (final)', body: 'Final notes', draft: false, allowUpdates: true, artifacts: [] });
    expect(third).toMatchObject({ id: first.id, name: 'Three (final)' });
    expect(lines(limited, log, target.full)).toEqual(['GET /R/releases/tags/v3.0.0 200', `PATCH /R/releases/${first.id} 200`, `GET /R/releases/${first.id}/assets 200`]);

    // Without allowUpdates the action simply creates, and fails on GitHub's 422 for a taken tag.
    await expect(ncipollo(octokit, owner, repo, { tag: 'v3.0.0', name: 'again', draft: false, allowUpdates: false, artifacts: [] })).rejects.toMatchObject({
      status: 422,
      response: { data: { errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }] } },
    });

    // immutableCreate: created as a draft, assets attached, then published.
    log.length = 0;
    const immutable = await ncipollo(octokit, owner, repo, {
      tag: 'v3.1.0',
      name: 'v3.1.0',
      draft: false,
      allowUpdates: false,
      immutableCreate: true,
      artifacts: [{ name: 'app.zip', data: 'zip 3.1\n' }],
    });
    expect(immutable).toMatchObject({ draft: false, tag_name: 'v3.1.0' });
    expect(immutable.assets.map((a: any) => [a.name, a.content_type])).toEqual([['app.zip', 'raw']]);
    expect(lines(limited, log, target.full)).toEqual([
      'POST /R/releases 201',
      `GET /R/releases/${immutable.id}/assets 200`,
      `POST UPL/R/releases/${immutable.id}/assets?name=app.zip& 201`,
      `PATCH /R/releases/${immutable.id} 200`,
    ]);
    expect(limitHits).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// @semantic-release/github 12
// ---------------------------------------------------------------------------------------------

/** lib/parse-github-url.js: owner and repo of an https or scp-style repository URL. */
function parseGithubUrl(repositoryUrl: string): { owner?: string; repo?: string } {
  const [match, auth, host, path] = /^(?!.+:\/\/)(?:(?<auth>.*)@)?(?<host>.*?):(?<path>.*)$/.exec(repositoryUrl) ?? [];
  try {
    const [, owner, repo] = /^\/(?<owner>[^/]+)?\/?(?<repo>.+?)(?:\.git)?$/.exec(new URL(match ? `ssh://${auth ? `${auth}@` : ''}${host}/${path}` : repositoryUrl).pathname) ?? [];
    return { owner, repo };
  } catch {
    return {};
  }
}

describe('@semantic-release/github', () => {
  it('verifyConditions, publish with assets, prerelease, addChannel (both paths)', async () => {
    const owner = users.get(limited)!;
    const pusher = await createUser(limited);
    const reader = await createUser(limited);
    const target = await repoWithTags(limited, owner, ['v1.0.0', 'v2.0.0-beta.1', 'v2.1.0']);
    await addCollaborator(limited, owner, target.repo, pusher, 'push');
    await addCollaborator(limited, owner, target.repo, reader, 'pull');
    const repositoryUrl = `${limited.base}/${target.full}.git`;
    const log: Recorded[] = [];
    const { octokit, limitHits } = toolOctokit(limited, pusher.token, 'semantic-release', log);
    const { owner: o, repo: r } = target;

    // verifyConditions: the repository's clone_url must name the configured repository and the
    // token's user must be able to push (else, outside Actions, HEAD /installation/repositories).
    const verify = async (client: ToolOctokitInstance) => {
      const { data } = await client.request('GET /repos/{owner}/{repo}', { owner: o, repo: r });
      const parsed = parseGithubUrl(data.clone_url);
      expect(parsed).toEqual(parseGithubUrl(repositoryUrl));
      expect(parsed).toEqual({ owner: o, repo: r });
      return data.permissions?.push;
    };
    expect(await verify(octokit)).toBe(true);
    expect(await verify(toolOctokit(limited, owner.token, 'semantic-release', []).octokit)).toBe(true);
    expect(await verify(toolOctokit(limited, reader.token, 'semantic-release', []).octokit)).toBe(false);
    expect(parseGithubUrl(`git@127.0.0.1:${target.full}.git`)).toEqual({ owner: o, repo: r });
    // With push false outside Actions the plugin probes the App installation endpoint; a token
    // that is not an App installation's gets an error there, so verification fails (EGHNOPERMISSION).
    const probe = await fetch(`${limited.api}/installation/repositories?per_page=1`, { method: 'HEAD', headers: { authorization: `token ${reader.token}` } });
    expect(probe.status).toBeGreaterThanOrEqual(400);

    // publish with assets: a draft, uploads through upload_url (mime type or text/plain, label),
    // then the draft is published with make_latest "true" (main is the latest channel).
    log.length = 0;
    const draft = await octokit.request('POST /repos/{owner}/{repo}/releases', {
      owner: o,
      repo: r,
      tag_name: 'v1.0.0',
      target_commitish: 'main',
      name: 'v1.0.0',
      body: '# 1.0.0 (2026-11-23)\n\n### Features\n\n* first\n',
      prerelease: false,
      make_latest: 'true',
      draft: true,
    });
    expect(draft.status).toBe(201);
    const assets = [
      { file: 'tool.tar.gz', label: 'Tool (tarball)', type: 'application/gzip', data: 'tarball\n' },
      { file: 'LICENSE', label: undefined, type: 'text/plain', data: 'MIT\n' },
    ];
    const downloads = await Promise.all(
      assets.map(async (asset) => {
        const data = Buffer.from(asset.data);
        const upload: Record<string, unknown> = {
          method: 'POST',
          url: draft.data.upload_url,
          data,
          name: asset.file,
          headers: { 'content-type': asset.type, 'content-length': data.length },
        };
        if (asset.label) upload.label = asset.label;
        const res = await octokit.request(upload as any);
        expect(res.status).toBe(201);
        expect(res.data).toMatchObject({ name: asset.file, label: asset.label ?? null, content_type: asset.type, size: data.length });
        return res.data.browser_download_url as string;
      }),
    );
    const published = await octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', {
      owner: o,
      repo: r,
      release_id: draft.data.id,
      draft: false,
      make_latest: 'true',
    });
    expect(published.status).toBe(200);
    expect(published.data).toMatchObject({ draft: false, tag_name: 'v1.0.0', target_commitish: 'main', html_url: `${limited.base}/${target.full}/releases/tag/v1.0.0` });
    for (const [i, url] of downloads.entries()) {
      // The URLs were read while the release was a draft; once published, the tag's URL serves the bytes.
      const res = await fetch(`${limited.base}/${target.full}/releases/download/v1.0.0/${assets[i]!.file}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(assets[i]!.data);
      expect(url).toMatch(new RegExp(`^${limited.base}/${target.full}/releases/download/`));
    }
    expect(log.at(-1)!.body).toEqual({ draft: false, make_latest: 'true' });
    expect(log[0]!.body).toEqual({
      tag_name: 'v1.0.0',
      target_commitish: 'main',
      name: 'v1.0.0',
      body: '# 1.0.0 (2026-11-23)\n\n### Features\n\n* first\n',
      prerelease: false,
      make_latest: 'true',
      draft: true,
    });
    expect(
      log
        .filter((r) => r.url.includes('/api/uploads/'))
        .map((r) => r.headers['content-type'])
        .sort(),
    ).toEqual(['application/gzip', 'text/plain']);
    const uploadLines = lines(limited, log, target.full).filter((l) => l.startsWith('POST UPL/'));
    expect(uploadLines.sort()).toEqual([
      `POST UPL/R/releases/${draft.data.id}/assets?name=LICENSE& 201`,
      `POST UPL/R/releases/${draft.data.id}/assets?name=tool.tar.gz&label=Tool%20%28tarball%29 201`,
    ]);

    // A prerelease from the beta channel, then addChannel when it reaches main: by tag → PATCH.
    const beta = await octokit.request('POST /repos/{owner}/{repo}/releases', {
      owner: o,
      repo: r,
      tag_name: 'v2.0.0-beta.1',
      target_commitish: 'beta',
      name: 'v2.0.0-beta.1',
      body: 'beta notes',
      prerelease: true,
      make_latest: 'false',
    });
    expect(beta.status).toBe(201);
    expect(beta.data).toMatchObject({ prerelease: true, draft: false });
    expect((await octokit.request('GET /repos/{owner}/{repo}/releases/latest', { owner: o, repo: r })).data.tag_name).toBe('v1.0.0');
    const addChannel = async (tag: string, prerelease: boolean) => {
      const release = { owner: o, repo: r, name: tag, prerelease, tag_name: tag };
      try {
        const { data } = await octokit.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner: o, repo: r, tag });
        const res = await octokit.request('PATCH /repos/{owner}/{repo}/releases/{release_id}', { ...release, release_id: data.id });
        expect(res.status).toBe(200);
        return res.data;
      } catch (error: any) {
        if (error.status !== 404) throw error;
        const res = await octokit.request('POST /repos/{owner}/{repo}/releases', { ...release, body: 'channel notes' });
        expect(res.status).toBe(201);
        return res.data;
      }
    };
    log.length = 0;
    const promoted = await addChannel('v2.0.0-beta.1', false);
    expect(promoted).toMatchObject({ id: beta.data.id, prerelease: false, name: 'v2.0.0-beta.1' });
    const missing = await addChannel('v2.1.0', false);
    expect(missing).toMatchObject({ tag_name: 'v2.1.0', prerelease: false, body: 'channel notes' });
    expect(log[1]!.body).toEqual({ name: 'v2.0.0-beta.1', prerelease: false, tag_name: 'v2.0.0-beta.1' });
    expect(lines(limited, log, target.full)).toEqual([
      'GET /R/releases/tags/v2.0.0-beta.1 200',
      `PATCH /R/releases/${beta.data.id} 200`,
      'GET /R/releases/tags/v2.1.0 404',
      'POST /R/releases 201',
    ]);
    // success step: the repository again.
    expect(await verify(octokit)).toBe(true);
    for (const rec of log) expect(rec.headers.authorization).toBe(`token ${pusher.token}`);
    expect(limitHits).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Smaller npm tools, `//` in paths, Basic auth
// ---------------------------------------------------------------------------------------------

/** Raw requests as the small npm tools send them, counted and schema-checked. */
function miscCall(method: string, url: string, options: Parameters<typeof call>[2] = {}) {
  count('misc');
  return call(method, url, options);
}

describe('other tools and checklist rows', () => {
  it('github-release-cli: draft found on page 1, trailing & on uploads, delete by asset list', async () => {
    const user = users.get(unlimited)!;
    const target = await repoWithTags(unlimited, user, ['v1.0.0']);
    const api = `${unlimited.api}/repos/${target.full}`;
    const headers = { accept: 'application/vnd.github.v3+json', 'user-agent': 'octokit-rest.js/18.12.0 octokit-core.js/3.6.0 Node.js/20.20.2 (linux; x64)' };
    // `github-release upload --draft`: no release by tag, none in the first page → create.
    expect((await miscCall('GET', `${api}/releases/tags/v1.0.0`, { token: user.token, headers })).status).toBe(404);
    const firstPage = await miscCall('GET', `${api}/releases?page=1`, { token: user.token, headers });
    expect(firstPage.status).toBe(200);
    expect(firstPage.body).toEqual([]);
    const created = await miscCall('POST', `${api}/releases`, {
      token: user.token,
      headers,
      body: { tag_name: 'v1.0.0', name: 'v1.0.0', body: '', draft: true, prerelease: false },
    });
    expect(created.status).toBe(201);
    const uploadBase = created.body.upload_url.replace(/\{.*$/, '');
    const up = await miscCall('POST', `${uploadBase}?name=tool.tar.gz&`, { token: user.token, headers: { ...headers, 'content-type': 'application/gzip' }, raw: 'tool\n' });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ name: 'tool.tar.gz', content_type: 'application/gzip', size: 5 });
    // A second `upload` finds the draft through `?page=1` and edits it.
    expect((await miscCall('GET', `${api}/releases/tags/v1.0.0`, { token: user.token, headers })).status).toBe(404);
    const again = await miscCall('GET', `${api}/releases?page=1`, { token: user.token, headers });
    const draft = again.body.find((r: any) => r.draft && r.tag_name === 'v1.0.0');
    expect(draft?.id).toBe(created.body.id);
    const edited = await miscCall('PATCH', `${api}/releases/${draft.id}`, {
      token: user.token,
      headers,
      body: { tag_name: 'v1.0.0', name: 'Tool 1.0.0', body: 'notes', draft: false, prerelease: false },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ draft: false, name: 'Tool 1.0.0' });
    // `github-release delete`: by tag, the first page of assets, one DELETE per match, the release.
    const byTag = await miscCall('GET', `${api}/releases/tags/v1.0.0`, { token: user.token, headers });
    expect(byTag.status).toBe(200);
    const assets = await miscCall('GET', `${api}/releases/${byTag.body.id}/assets?page=1`, { token: user.token, headers });
    expect(assets.body.map((a: any) => a.name)).toEqual(['tool.tar.gz']);
    expect((await miscCall('DELETE', `${api}/releases/assets/${assets.body[0].id}`, { token: user.token, headers })).status).toBe(204);
    expect((await miscCall('DELETE', `${api}/releases/${byTag.body.id}`, { token: user.token, headers })).status).toBe(204);
    expect((await miscCall('GET', `${api}/releases/tags/v1.0.0`, { token: user.token, headers })).status).toBe(404);
  });

  it('publish-release: reuse from the first page, raw names, 422 parsed as JSON, delete URL derived from the release url, tag cleanup', async () => {
    const user = users.get(unlimited)!;
    const target = await repoWithTags(unlimited, user, ['v2.0.0']);
    const api = `${unlimited.api}/repos/${target.full}`;
    const created = await miscCall('POST', `${api}/releases`, {
      token: user.token,
      body: { tag_name: 'v2.0.0', target_commitish: 'main', name: 'v2.0.0', body: 'b', draft: false, prerelease: false },
    });
    expect(created.status).toBe(201);
    // reuseRelease: the first page of the list, matched on tag_name.
    const list = await miscCall('GET', `${api}/releases`, { token: user.token });
    const release = list.body.find((r: any) => r.tag_name === 'v2.0.0');
    expect(release.url).toBe(`${api}/releases/${created.body.id}`);
    const uploadBase = release.upload_url.slice(0, release.upload_url.indexOf('{'));
    // The raw file name is appended as is: `+` reads as a space, which GitHub's rename turns into a dot.
    const upload = (content: string) =>
      fetch(`${uploadBase}?name=notes+v2.txt`, { method: 'POST', headers: { authorization: `token ${user.token}`, 'content-type': 'text/plain' }, body: content });
    count('misc');
    const first = await upload('one');
    const firstJson = JSON.parse(await first.text());
    expect(first.status).toBe(201);
    expect(firstJson).toMatchObject({ name: 'notes.v2.txt', size: 3 });
    count('misc');
    const duplicate = await upload('two');
    expect(duplicate.status).toBe(422);
    expect(duplicate.headers.get('content-type')).toMatch(/^application\/json/);
    const error = JSON.parse(await duplicate.text());
    expect(error.errors?.[0]?.code).toBe('already_exists');
    // The asset URL is release.url minus its last segment, plus /assets/{id}.
    const deleteUrl = `${release.url.split('/').slice(0, -1).join('/')}/assets/${firstJson.id}`;
    expect(deleteUrl).toBe(firstJson.url);
    expect((await miscCall('DELETE', deleteUrl, { token: user.token })).status).toBe(204);
    count('misc');
    const replaced = await upload('two');
    expect(replaced.status).toBe(201);
    expect(JSON.parse(await replaced.text())).toMatchObject({ name: 'notes.v2.txt', size: 3 });
    // deleteEmptyTag after deleting the release: the tag goes through the git refs API.
    expect((await miscCall('DELETE', `${api}/releases/${created.body.id}`, { token: user.token })).status).toBe(204);
    expect((await miscCall('DELETE', `${api}/git/refs/tags/v2.0.0`, { token: user.token })).status).toBe(204);
    expect((await miscCall('GET', `${api}/git/refs/tags/v2.0.0`, { token: user.token, skipSchema: true })).status).toBe(404);
  });

  it('gh-release-assets with Basic auth and no content type; Basic auth on the API; `//` in paths', async () => {
    const user = users.get(unlimited)!;
    const target = await repoWithTags(unlimited, user, ['v3.0.0']);
    await call('PATCH', `${unlimited.api}/repos/${target.full}`, { token: user.token, body: { private: true }, skipSchema: true });
    const api = `${unlimited.api}/repos/${target.full}`;
    const basic = (secret: string) => `Basic ${Buffer.from(`${user.login}:${secret}`).toString('base64')}`;
    const repoJson = await miscCall('GET', api, { headers: { authorization: basic(user.token) } });
    expect(repoJson.status).toBe(200);
    expect(repoJson.body).toMatchObject({ private: true, permissions: { push: true } });
    const wrong = await miscCall('GET', api, { headers: { authorization: basic('not-a-token') } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('Bad credentials');
    const created = await miscCall('POST', `${api}/releases`, { headers: { authorization: basic(user.token) }, body: { tag_name: 'v3.0.0' } });
    expect(created.status).toBe(201);
    // gh-release-assets: raw name, `mime.getType` null for an unknown extension → no Content-Type.
    const url = created.body.upload_url.slice(0, created.body.upload_url.indexOf('{'));
    count('misc');
    const res = await fetch(`${url}?name=tool.unknownext`, {
      method: 'POST',
      headers: { authorization: basic(user.token), 'content-length': '4' },
      body: new Uint8Array([1, 2, 3, 4]),
    });
    expect(res.status).toBe(201);
    const asset = await res.json();
    assertMatchesOpenApi('POST', url, 201, asset);
    expect(asset).toMatchObject({ name: 'tool.unknownext', content_type: 'application/octet-stream', size: 4 });

    // PyGithub with `base_url=".../api/v3/"` sends `//`: the routes answer and every URL returned
    // (fields and Link) passes PyGithub's same host, same port, `/api/` prefix assertion.
    await seedDrafts(unlimited, user.token, target.full, 3, 'v0.');
    const doubled = `${unlimited.api}//repos/${target.full}`;
    const repo = await miscCall('GET', doubled, { token: user.token });
    expect(repo.status).toBe(200);
    expect(repo.body.url).toBe(api);
    const base = new URL(unlimited.api);
    const pyAssert = (absolute: string) => {
      const u = new URL(absolute);
      expect([u.hostname, u.port]).toEqual([base.hostname, base.port]);
      expect(u.pathname.startsWith('/api/v3') || u.pathname.startsWith('/api/')).toBe(true);
    };
    let next: string | null = `${doubled}/releases?per_page=2`;
    const seen: number[] = [];
    let pages = 0;
    while (next) {
      const page = await miscCall('GET', next, { token: user.token });
      expect(page.status).toBe(200);
      pages += 1;
      seen.push(...page.body.map((r: any) => r.id));
      for (const r of page.body) [r.url, r.upload_url.replace(/\{.*$/, ''), r.assets_url].forEach(pyAssert);
      next = null;
      // PaginatedList: split on ", " and "; ", strip the angle brackets, slice rel="…".
      for (const part of (page.headers.get('link') ?? '').split(', ').filter(Boolean)) {
        const [href, rel] = part.split('; ');
        expect(href!.startsWith('<') && href!.endsWith('>')).toBe(true);
        pyAssert(href!.slice(1, -1));
        if (rel!.slice(5, -1) === 'next') next = href!.slice(1, -1);
      }
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(2);
    expect(new Set(seen).size).toBe(4);
    // A base URL ending in `/` joined with `/api/v3` puts `//` first: the Links stay on this host
    // and on the canonical path (a leading `//` must not be read as a host name).
    for (const odd of [`${unlimited.base}//api/v3/repos/${target.full}/releases?per_page=2`, `${doubled}/releases?per_page=2`]) {
      const page = await miscCall('GET', odd, { token: user.token });
      expect(page.status).toBe(200);
      const nextUrl = `${api}/releases?per_page=2&page=2`;
      expect(page.headers.get('link')).toBe(`<${nextUrl}>; rel="next", <${nextUrl}>; rel="last"`);
    }
    const upload = await miscCall('POST', `${unlimited.uploads}//repos/${target.full}/releases/${created.body.id}/assets?label=&name=b.txt`, {
      token: user.token,
      headers: { 'content-type': 'text/plain' },
      raw: 'b',
    });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({ name: 'b.txt', label: '' }); // an empty `label=` is stored as GitHub stores it
    const release = await miscCall('GET', `${doubled}/releases/${created.body.id}`, { token: user.token });
    expect(release.body.assets.map((a: any) => a.name)).toEqual(['tool.unknownext', 'b.txt']);
  });
});
