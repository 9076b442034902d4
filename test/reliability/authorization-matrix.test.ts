/**
 * Authorization matrix: every route × every kind of caller × public/private repository ×
 * draft/published release, each cell with the exact status Wharf's rules give. Then zero leaks:
 * no name, tag or byte of a private repository or a draft reaches a caller who may not see it,
 * in any body or header, whatever the status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { atLeast, makeCallers, permissionOf, type Caller, type Perm } from './support/callers.ts';
import { basicAuth } from './support/git-probe.ts';
import { runLimited } from './support/limit.ts';
import { recordFigure } from './support/figures.ts';

type Need = 'read' | 'push' | 'admin' | 'create' | 'graphql';
type ReleaseState = 'draft' | 'published';

interface FixtureRelease {
  id: number;
  tag: string;
  name: string;
  asset: { id: number; name: string; browserUrl: string; bytes: string };
}

interface Fixture {
  isPrivate: boolean;
  full: string;
  name: string;
  mainSha: string;
  draft: FixtureRelease;
  published: FixtureRelease;
}

interface RouteCase {
  name: string;
  kind: 'api' | 'git' | 'uploads' | 'web' | 'graphql' | 'page';
  method: string;
  need: Need;
  /** The route addresses one release (drafts are hidden below push access). */
  release?: ReleaseState;
  /** A by-tag lookup never returns drafts, whoever asks. */
  publishedOnly?: boolean;
  success: number;
  /** Builds the request; may create a throw-away target first (for deletes). */
  prepare(fx: Fixture): Promise<{ path: string; body?: unknown; raw?: string; headers?: Record<string, string>; check?: (status: number) => Promise<void> }>;
}

let server: TestServer;
let owner: TestUser;
let callers: Caller[];
const fixtures: Fixture[] = [];
let cells = 0;

async function ownerCall(method: string, url: string, body?: unknown) {
  const res = await call(method, url, { token: owner.token, body });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.text}`);
  return res.body;
}

async function makeRelease(fx: Pick<Fixture, 'full'>, state: ReleaseState, label: string): Promise<FixtureRelease> {
  const tag = uniqueName(`${label}-tag-`);
  const name = uniqueName(`${label}-name-`);
  const body = await ownerCall('POST', `${server.api}/repos/${fx.full}/releases`, { tag_name: tag, name, draft: state === 'draft' });
  const asset = await uploadAsset(fx, body.id, uniqueName(`${label}-asset-`));
  return { id: body.id as number, tag, name, asset };
}

async function uploadAsset(fx: Pick<Fixture, 'full'>, releaseId: number, name: string) {
  const bytes = uniqueName(`${name}-bytes-`);
  const res = await fetch(`${server.uploads}/repos/${fx.full}/releases/${releaseId}/assets?name=${name}.bin`, {
    method: 'POST',
    headers: { authorization: `token ${owner.token}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
  return { id: body.id as number, name: body.name as string, browserUrl: body.browser_download_url as string, bytes };
}

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('mxowner'));
  for (const isPrivate of [false, true]) {
    const repo = await createRepo(server, owner, { name: uniqueName(isPrivate ? 'secretrepo' : 'openrepo'), auto_init: true, private: isPrivate });
    const commit = await ownerCall('GET', `${server.api}/repos/${repo.full}/commits/main`);
    const fx: Fixture = { isPrivate, full: repo.full, name: repo.name, mainSha: commit.sha, draft: null as never, published: null as never };
    fx.published = await makeRelease(fx, 'published', isPrivate ? 'secretpub' : 'openpub');
    fx.draft = await makeRelease(fx, 'draft', isPrivate ? 'secretdraft' : 'opendraft');
    fixtures.push(fx);
  }
  callers = await makeCallers(server, owner, fixtures.map((f) => f.name));
}, 120_000);
afterAll(() => server.close());

const repoRoutes: RouteCase[] = [
  { name: 'GET repo', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}` }) },
  { name: 'PATCH repo', kind: 'api', method: 'PATCH', need: 'admin', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}`, body: {} }) },
  { name: 'GET collaborators', kind: 'api', method: 'GET', need: 'push', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/collaborators` }) },
  {
    name: 'GET collaborator permission',
    kind: 'api',
    method: 'GET',
    need: 'read',
    success: 200,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/collaborators/${owner.login}/permission` }),
  },
  { name: 'GET tags', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/tags` }) },
  { name: 'GET branches', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/branches` }) },
  { name: 'GET matching refs', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/git/matching-refs/tags` }) },
  { name: 'GET commits', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/commits` }) },
  { name: 'GET tarball', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/tarball/main` }) },
  {
    name: 'POST git ref',
    kind: 'api',
    method: 'POST',
    need: 'push',
    success: 201,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/git/refs`, body: { ref: `refs/heads/${uniqueName('b')}`, sha: fx.mainSha } }),
  },
  { name: 'GET releases', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases` }) },
  { name: 'GET latest release', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/latest` }) },
  {
    name: 'POST release',
    kind: 'api',
    method: 'POST',
    need: 'create',
    success: 201,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/releases`, body: { tag_name: uniqueName('newdraft-'), draft: true } }),
  },
  {
    // GraphQL answers 200 with `repository: null` for what the caller cannot see; the leak check
    // below makes sure no draft or private name slips into its data.
    name: 'GraphQL repository and releases',
    kind: 'graphql',
    method: 'POST',
    need: 'graphql',
    success: 200,
    prepare: async (fx) => ({
      path: '/api/graphql',
      body: {
        query: `query($o: String!, $n: String!, $t: String!, $d: String!) { repository(owner: $o, name: $n) { name
          releases(first: 50) { nodes { tagName name isDraft releaseAssets(first: 10) { nodes { name } } } }
          pub: release(tagName: $t) { tagName name } draft: release(tagName: $d) { tagName name } } }`,
        variables: { o: owner.login, n: fx.name, t: fx.published.tag, d: fx.draft.tag },
      },
    }),
  },
  { name: 'web repository page', kind: 'page', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}` }) },
  { name: 'web releases page', kind: 'page', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/releases` }) },
  { name: 'web latest release page', kind: 'page', method: 'GET', need: 'read', success: 302, prepare: async (fx) => ({ path: `/${fx.full}/releases/latest` }) },
  { name: 'releases feed', kind: 'page', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/releases.atom` }) },
  { name: 'tags feed', kind: 'page', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/tags.atom` }) },
  { name: 'git info/refs upload-pack', kind: 'git', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}.git/info/refs?service=git-upload-pack` }) },
  { name: 'git info/refs receive-pack', kind: 'git', method: 'GET', need: 'push', success: 200, prepare: async (fx) => ({ path: `/${fx.full}.git/info/refs?service=git-receive-pack` }) },
];

function releaseRoutes(state: ReleaseState): RouteCase[] {
  const pick = (fx: Fixture) => (state === 'draft' ? fx.draft : fx.published);
  return [
    { name: `GET ${state} release`, kind: 'api', method: 'GET', need: 'read', release: state, success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}` }) },
    {
      name: `GET ${state} release by tag`,
      kind: 'api',
      method: 'GET',
      need: 'read',
      release: state,
      publishedOnly: true,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/tags/${pick(fx).tag}` }),
    },
    { name: `PATCH ${state} release`, kind: 'api', method: 'PATCH', need: 'push', release: state, success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}`, body: {} }) },
    { name: `GET ${state} release assets`, kind: 'api', method: 'GET', need: 'read', release: state, success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}/assets` }) },
    { name: `GET ${state} asset`, kind: 'api', method: 'GET', need: 'read', release: state, success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}` }) },
    {
      name: `GET ${state} asset bytes`,
      kind: 'api',
      method: 'GET',
      need: 'read',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}`, headers: { accept: 'application/octet-stream' } }),
    },
    { name: `web ${state} release page`, kind: 'page', method: 'GET', need: 'read', release: state, publishedOnly: true, success: 200, prepare: async (fx) => ({ path: `/${fx.full}/releases/tag/${pick(fx).tag}` }) },
    { name: `GET ${state} asset browser URL`, kind: 'web', method: 'GET', need: 'read', release: state, success: 200, prepare: async (fx) => ({ path: new URL(pick(fx).asset.browserUrl).pathname }) },
    { name: `PATCH ${state} asset`, kind: 'api', method: 'PATCH', need: 'push', release: state, success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}`, body: {} }) },
    {
      name: `POST ${state} asset upload`,
      kind: 'uploads',
      method: 'POST',
      need: 'push',
      release: state,
      success: 201,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}/assets?name=${uniqueName(state === 'draft' ? 'dup-' : 'pup-')}.bin`, raw: 'uploaded bytes' }),
    },
    {
      name: `DELETE ${state} asset`,
      kind: 'api',
      method: 'DELETE',
      need: 'push',
      release: state,
      success: 204,
      prepare: async (fx) => {
        const victim = await uploadAsset(fx, pick(fx).id, uniqueName(state === 'draft' ? 'dvictim-' : 'pvictim-'));
        return {
          path: `/repos/${fx.full}/releases/assets/${victim.id}`,
          check: async (status) => {
            const after = await call('GET', `${server.api}/repos/${fx.full}/releases/assets/${victim.id}`, { token: owner.token });
            expect(after.status).toBe(status === 204 ? 404 : 200);
          },
        };
      },
    },
    {
      name: `DELETE ${state} release`,
      kind: 'api',
      method: 'DELETE',
      need: 'push',
      release: state,
      success: 204,
      prepare: async (fx) => {
        const victim = await makeRelease(fx, state, state === 'draft' ? 'dvictim' : 'pvictim');
        return {
          path: `/repos/${fx.full}/releases/${victim.id}`,
          // Whatever the answer, the release is gone exactly when the answer was 204.
          check: async (status) => {
            const after = await call('GET', `${server.api}/repos/${fx.full}/releases/${victim.id}`, { token: owner.token });
            expect(after.status).toBe(status === 204 ? 404 : 200);
          },
        };
      },
    },
  ];
}

/** The status Wharf's rules give (docs/api.md, docs/releases.md). */
function expectedStatus(route: RouteCase, caller: Caller, fx: Fixture): number {
  if (caller.badToken) return 401;
  const perm: Perm | null = permissionOf(caller, fx.isPrivate);
  const anonymous = caller.token === null;
  if (route.need === 'graphql') return anonymous ? 401 : route.success;
  if (perm === null) return route.kind === 'git' && anonymous ? 401 : 404;
  // The browser URL is a web page: it never asks for credentials, it only shows or hides.
  if (route.release === 'draft' && (route.publishedOnly || !atLeast(perm, 'push'))) return 404;
  switch (route.need) {
    case 'read':
      return route.success;
    case 'create':
      return atLeast(perm, 'push') ? route.success : anonymous ? 401 : 422;
    case 'push':
    case 'admin':
      return atLeast(perm, route.need) ? route.success : anonymous ? 401 : 403;
  }
}

interface Observed {
  caller: Caller;
  fx: Fixture;
  route: string;
  /** The path the caller asked for (a page may echo it, e.g. in a sign-in link's return_to). */
  requested: string;
  status: number;
  text: string;
}
const observed: Observed[] = [];

async function runCell(route: RouteCase, caller: Caller, fx: Fixture): Promise<string | null> {
  const prepared = await route.prepare(fx);
  const prefix = { api: server.api, uploads: server.uploads, git: server.base, web: server.base, graphql: server.base, page: server.base }[route.kind];
  const url = `${prefix}${prepared.path}`;
  const headers: Record<string, string> = { ...prepared.headers };
  if (route.kind === 'git') {
    headers['user-agent'] = 'git/2.39.0';
    if (caller.token) headers.authorization = basicAuth(caller.token);
  }
  const res = await call(route.method, url, {
    token: route.kind === 'git' ? null : caller.token,
    body: prepared.body,
    raw: prepared.raw,
    headers,
    skipSchema: route.kind === 'git' || route.kind === 'web' || route.kind === 'graphql' || route.kind === 'page' || route.name === 'GET tarball' || headers.accept === 'application/octet-stream',
  });
  const headerText = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  observed.push({ caller, fx, route: route.name, requested: prepared.path, status: res.status, text: `${headerText}\n${res.text}` });
  if (prepared.check) await prepared.check(res.status);
  cells += 1;
  const want = expectedStatus(route, caller, fx);
  if (res.status !== want) return `${route.name} on ${fx.isPrivate ? 'private' : 'public'} as ${caller.name}: expected ${want}, got ${res.status} ${res.text.slice(0, 200)}`;
  if (res.status >= 400 && res.status !== 422 && route.kind !== 'page') {
    const body = res.body as { message?: unknown; documentation_url?: unknown };
    if (typeof body?.message !== 'string' || typeof body.documentation_url !== 'string') return `${route.name} as ${caller.name}: not a GitHub error body: ${res.text.slice(0, 200)}`;
  }
  return null;
}

describe('authorization matrix', () => {
  it('gives every caller the exact status on every route, repository and release state', async () => {
    const routes = [...repoRoutes, ...releaseRoutes('published'), ...releaseRoutes('draft')];
    const jobs: Array<() => Promise<string | null>> = [];
    for (const fx of fixtures) for (const route of routes) for (const caller of callers) jobs.push(() => runCell(route, caller, fx));
    const failures = (await runLimited(jobs, 6)).filter((f): f is string => f !== null);
    expect(failures).toEqual([]);
    expect(cells).toBe(fixtures.length * routes.length * callers.length);
    recordFigure('authorization matrix cells', cells);
  }, 300_000);

  it('leaks nothing to callers without access: no repository, tag, release name or draft', () => {
    expect(observed.length).toBeGreaterThan(0);
    const leaks: string[] = [];
    for (const o of observed) {
      const perm = permissionOf(o.caller, o.fx.isPrivate);
      const secrets: string[] = [];
      if (perm === null) secrets.push(o.fx.name, o.fx.published.tag, o.fx.published.name, o.fx.published.asset.name, o.fx.published.asset.bytes, o.fx.mainSha, 'pvictim-', 'pup-');
      if (!atLeast(perm, 'push')) secrets.push(o.fx.draft.tag, o.fx.draft.name, o.fx.draft.asset.name, o.fx.draft.asset.bytes, 'dvictim-', 'newdraft-', 'dup-');
      // GraphQL's NOT_FOUND echoes the name the caller asked for, as GitHub's does; that is not a leak.
      // Pages echo the caller's own URL in their sign-in link; that is not a leak either.
      const text = o.text
        .replace(/Could not resolve to a Repository with the name '[^']*'/g, '')
        .replaceAll(encodeURIComponent(o.requested), '')
        .replaceAll(o.requested, '');
      for (const secret of secrets) if (text.includes(secret)) leaks.push(`${o.route} as ${o.caller.name} (${o.status}) shows ${secret}`);
    }
    expect(leaks).toEqual([]);
  });
});
