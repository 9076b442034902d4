/**
 * Authorization matrix: every route × every kind of caller × public/private repository ×
 * draft/published release, each cell with the exact status Wharf's rules give. Then zero leaks:
 * no name, tag or byte of a private repository or a draft reaches a caller who may not see it,
 * in any body or header, whatever the status.
 *
 * Pages and web forms are also called the way a browser calls them: each caller holding a token
 * signs in through the sign-in form and then sends only its session cookie (and, on writes, the
 * session's CSRF secret); the bad-token caller sends a session cookie Wharf never issued.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { assertDotcomResponse } from '../support/webhook-schemas.ts';
import { atLeast, makeCallers, permissionOf, type Caller, type Perm } from './support/callers.ts';
import { basicAuth } from './support/git-probe.ts';
import { runLimited } from './support/limit.ts';
import { recordFigure } from './support/figures.ts';

/** `public`: a page anyone may open (the answer only differs in what it lists). */
type Need = 'public' | 'read' | 'push' | 'admin' | 'create' | 'graphql';
type ReleaseState = 'draft' | 'published';
/** How a caller with a token authenticates: the API's Authorization header, or a browser session cookie. */
type Auth = 'header' | 'session';
/** Ways a signed-in push caller's write can lack what CSRF protection asks for. */
type CsrfAttack = 'no CSRF token' | 'foreign Origin' | 'token header without session';

interface FixtureRelease {
  id: number;
  tag: string;
  /** The tag in the release's web addresses: `untagged-…` for a draft. */
  webTag: string;
  name: string;
  asset: { id: number; name: string; browserUrl: string; bytes: string };
}

/** A signed-in browser: its session cookie and the CSRF secret its pages carry. */
interface Session {
  cookie: string;
  csrf: string;
}

interface Fixture {
  isPrivate: boolean;
  full: string;
  name: string;
  mainSha: string;
  draft: FixtureRelease;
  published: FixtureRelease;
  /** An inactive webhook of the repository (inactive: nothing is ever sent). */
  hookId: number;
}

interface RouteCase {
  name: string;
  /**
   * `web`: browser URLs outside the pages (asset downloads; GitHub JSON errors); `page`: pages and
   * feeds (HTML errors); `form`: the pages' state-changing forms and the forms' pages (HTML errors,
   * session only); `webupload`: the edit page's upload endpoint (session only, GitHub JSON errors).
   */
  kind: 'api' | 'git' | 'uploads' | 'web' | 'graphql' | 'page' | 'form' | 'webupload';
  method: string;
  need: Need;
  /**
   * The GitHub operation (`METHOD /path` as in GitHub's description) whose access rule the route
   * follows: its need and refusal must be the ones `ACCESS_RULES` gives.
   */
  rule?: string;
  /** What a signed-in caller without the need gets, when GitHub answers 404 rather than 403. */
  refusal?: 404;
  /** Header (default) or session; forms and web uploads always use the session. */
  auth?: Auth;
  /** The write finds its release or asset before checking push access (as the API does): a draft is 404 below push. */
  lookupFirst?: boolean;
  /** A write refused for missing CSRF protection (sent as the push caller only). */
  attack?: CsrfAttack;
  /** The route addresses one release (drafts are hidden below push access). */
  release?: ReleaseState;
  /** A by-tag lookup never returns drafts, whoever asks. */
  publishedOnly?: boolean;
  success: number;
  /**
   * Builds the request; may create a throw-away target first (for deletes). `refused`: the cell
   * expects a refusal, so its target may be shared with the route's other refused cells.
   */
  prepare(
    fx: Fixture,
    refused: boolean,
  ): Promise<{
    path: string;
    body?: unknown;
    raw?: string;
    /** Form fields (the session's `_csrf` is added). */
    form?: Record<string, string>;
    headers?: Record<string, string>;
    /** `text`: the answer's body; `allowed`: whether the caller holds what the route needs. */
    check?: (status: number, text: string, allowed: boolean) => Promise<void>;
  }>;
}

/**
 * Who may call each API route, in the words of GitHub's description of it (GHES 3.19; the test
 * at the end checks each quote is there), the need Wharf reads from those words, and the answer
 * to a signed-in caller without it when that is 404 rather than 403. `wording: null`: the
 * description says nothing about access (reads follow repository visibility; the rest is
 * recorded in docs/api.md). Routes of the matrix name their rule, and must follow it.
 */
const ACCESS_RULES: Record<string, { wording: string | null; need: Need; refusal?: 404 }> = {
  'GET /repos/{owner}/{repo}/collaborators': {
    wording: 'The authenticated user must have write, maintain, or admin privileges on the repository to use this endpoint.',
    need: 'push',
  },
  // The check answers only 204 or 404: a caller without push access learns nothing.
  'GET /repos/{owner}/{repo}/collaborators/{username}': {
    wording: 'The authenticated user must have push access to the repository to use this endpoint.',
    need: 'push',
    refusal: 404,
  },
  'GET /repos/{owner}/{repo}/collaborators/{username}/permission': { wording: null, need: 'read' },
  // The description speaks of invitations and policies; adding collaborators is an administrator's.
  'PUT /repos/{owner}/{repo}/collaborators/{username}': { wording: null, need: 'admin' },
  // Removing oneself is allowed too (test/api/foundation.test.ts); the matrix's callers remove others.
  'DELETE /repos/{owner}/{repo}/collaborators/{username}': {
    wording: 'the authenticated user must either be an administrator of the repository or target themselves for removal',
    need: 'admin',
  },
  'GET /repos/{owner}/{repo}/releases': { wording: 'Only users with push access will receive listings for draft releases.', need: 'read' },
  // A reader creating a release gets GitHub's 422 custom `author_id` error (reference §1.3).
  'POST /repos/{owner}/{repo}/releases': { wording: 'Users with push access to the repository can create a release.', need: 'create' },
  'PATCH /repos/{owner}/{repo}/releases/{release_id}': { wording: 'Users with push access to the repository can edit a release.', need: 'push' },
  'DELETE /repos/{owner}/{repo}/releases/{release_id}': { wording: 'Users with push access to the repository can delete a release.', need: 'push' },
  'PATCH /repos/{owner}/{repo}/releases/assets/{asset_id}': { wording: 'Users with push access to the repository can edit a release asset.', need: 'push' },
  // api.github.com's routes (GHES's description has not got them yet).
  'GET /repos/{owner}/{repo}/attestations/{subject_digest}': { wording: 'The authenticated user making the request must have read access to the repository.', need: 'read' },
  'POST /repos/{owner}/{repo}/attestations': { wording: 'The authenticated user must have write permission to the repository', need: 'push' },
  'DELETE /repos/{owner}/{repo}/immutable-releases': { wording: 'The authenticated user must have admin access to the repository.', need: 'admin' },
};

/** A CI-style attestation bundle (a statement about some bytes, signed by a key of its own), made once. */
const DOTCOM_ROUTES = new Set(['GET attestations', 'POST attestation', 'DELETE immutable-releases']);
let ciBundle: Promise<unknown> | null = null;
function attestationBundle(): Promise<unknown> {
  ciBundle ??= (async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const builder = new DSSEBundleBuilder({
      signer: {
        sign: async (data: Buffer) => ({
          signature: sign('sha256', data, privateKey),
          key: { $case: 'publicKey', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), hint: 'ci' },
        }),
      },
      witnesses: [],
    });
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'x', digest: { sha256: '0'.repeat(64) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    };
    return bundleToJSON(await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' }));
  })();
  return ciBundle;
}

let server: TestServer;
let owner: TestUser;
let callers: Caller[];
const sessions = new Map<Caller, Session | null>();
const fixtures: Fixture[] = [];
let cells = 0;

/** Whether `login` collaborates on the fixture's repository, as its owner sees it. */
async function isCollaborator(fx: Pick<Fixture, 'full'>, login: string): Promise<boolean> {
  const res = await call('GET', `${server.api}/repos/${fx.full}/collaborators/${login}`, { token: owner.token });
  if (res.status !== 204 && res.status !== 404) throw new Error(`collaborator check: ${res.status} ${res.text}`);
  return res.status === 204;
}

async function ownerCall(method: string, url: string, body?: unknown) {
  const res = await call(method, url, { token: owner.token, body });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${res.text}`);
  return res.body;
}

/**
 * Throw-away names carry their repository's mark, so a published one of the public repository
 * (listed on the front page) is not mistaken for a private one by the leak check.
 */
function mark(fx: { isPrivate: boolean }, base: string): string {
  return `${base}${fx.isPrivate ? 'S' : 'O'}`;
}

interface ReleaseOptions {
  /** Leave the latest designation alone (throw-away releases must not move it). */
  notLatest?: boolean;
  prerelease?: boolean;
}

async function ownerRelease(fx: Pick<Fixture, 'full'>, state: ReleaseState, label: string, options: ReleaseOptions): Promise<Omit<FixtureRelease, 'asset'>> {
  const tag = uniqueName(`${label}-tag-`);
  const name = uniqueName(`${label}-name-`);
  const input: Record<string, unknown> = { tag_name: tag, name, draft: state === 'draft', prerelease: options.prerelease ?? false };
  if (options.notLatest && state === 'published' && !options.prerelease) input.make_latest = 'false';
  const body = await ownerCall('POST', `${server.api}/repos/${fx.full}/releases`, input);
  const webTag = decodeURIComponent(new URL(body.html_url as string).pathname.split('/releases/tag/')[1]!);
  return { id: body.id as number, tag, webTag, name };
}

async function makeRelease(fx: Pick<Fixture, 'full'>, state: ReleaseState, label: string, options: ReleaseOptions = {}): Promise<FixtureRelease> {
  const release = await ownerRelease(fx, state, label, options);
  return { ...release, asset: await uploadAsset(fx, release.id, uniqueName(`${label}-asset-`)) };
}

const sharedTargets = new Map<string, Promise<unknown>>();

/**
 * The target of a write: a fresh one for a cell that should succeed, and one per route and
 * repository shared by all the cells that should be refused. Each refused cell checks that the
 * target is unchanged, so a refusal that changed it anyway fails that cell or the next one.
 */
function target<T>(route: string, fx: Fixture, refused: boolean, make: () => Promise<T>): Promise<T> {
  if (!refused) return make();
  const key = `${route} ${fx.full}`;
  if (!sharedTargets.has(key)) sharedTargets.set(key, make());
  return sharedTargets.get(key) as Promise<T>;
}

/** A throw-away release (without assets) for a write that may remove or change it; never the latest one. */
function makeVictim(fx: Fixture, state: ReleaseState, label: string, options: ReleaseOptions = {}): Promise<Omit<FixtureRelease, 'asset'>> {
  return ownerRelease(fx, state, label, { notLatest: true, ...options });
}

function cookieOf(headers: Headers, name: string): string {
  for (const line of headers.getSetCookie()) if (line.startsWith(`${name}=`)) return line.slice(name.length + 1).split(';')[0]!;
  throw new Error(`no ${name} cookie`);
}

function csrfFieldOf(page: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error('no _csrf field on the page');
  return m[1]!;
}

/**
 * Signs a caller in as a browser does: the sign-in form sets the pre-session CSRF cookie and
 * field, `POST /session` with the login and token sets the session cookie, and the session's
 * CSRF secret is read from the next page's forms (the sign-out form). The bad token gets a
 * session cookie that was never issued; anonymous callers have none.
 */
async function signIn(caller: Caller): Promise<Session | null> {
  if (caller.badToken) return { cookie: `wharf_session=${randomBytes(32).toString('base64url')}`, csrf: randomBytes(32).toString('base64url') };
  if (!caller.token || !caller.login) return null;
  const form = await fetch(`${server.base}/login`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  const signInCookie = `wharf_signin=${cookieOf(form.headers, 'wharf_signin')}`;
  const fields = new URLSearchParams({ _csrf: csrfFieldOf(await form.text()), login: caller.login, token: caller.token, return_to: '/' });
  const res = await fetch(`${server.base}/session`, {
    method: 'POST',
    headers: { cookie: signInCookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: fields.toString(),
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`sign-in as ${caller.name}: ${res.status} ${await res.text()}`);
  const cookie = `wharf_session=${cookieOf(res.headers, 'wharf_session')}`;
  const home = await fetch(`${server.base}/`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
  const text = await home.text();
  if (!text.includes(`>${caller.login}</a>`)) throw new Error(`the session of ${caller.name} is not signed in`);
  return { cookie, csrf: csrfFieldOf(text) };
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
    const fx: Fixture = { isPrivate, full: repo.full, name: repo.name, mainSha: commit.sha, draft: null as never, published: null as never, hookId: 0 };
    fx.hookId = (await ownerCall('POST', `${server.api}/repos/${repo.full}/hooks`, { active: false, config: { url: HOOK_URL } })).id;
    fx.published = await makeRelease(fx, 'published', isPrivate ? 'secretpub' : 'openpub');
    fx.draft = await makeRelease(fx, 'draft', isPrivate ? 'secretdraft' : 'opendraft');
    fixtures.push(fx);
  }
  callers = await makeCallers(
    server,
    owner,
    fixtures.map((f) => f.name),
  );
  for (const caller of callers) sessions.set(caller, await signIn(caller));
}, 120_000);
afterAll(() => server.close());

const repoRoutes: RouteCase[] = [
  { name: 'GET repo', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}` }) },
  { name: 'PATCH repo', kind: 'api', method: 'PATCH', need: 'admin', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}`, body: {} }) },
  {
    name: 'GET collaborators',
    kind: 'api',
    method: 'GET',
    need: 'push',
    rule: 'GET /repos/{owner}/{repo}/collaborators',
    success: 200,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/collaborators` }),
  },
  {
    name: 'GET collaborator check',
    kind: 'api',
    method: 'GET',
    need: 'push',
    refusal: 404,
    rule: 'GET /repos/{owner}/{repo}/collaborators/{username}',
    success: 204,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/collaborators/${owner.login}` }),
  },
  {
    name: 'GET collaborator permission',
    kind: 'api',
    method: 'GET',
    need: 'read',
    rule: 'GET /repos/{owner}/{repo}/collaborators/{username}/permission',
    success: 200,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/collaborators/${owner.login}/permission` }),
  },
  {
    name: 'PUT collaborator',
    kind: 'api',
    method: 'PUT',
    need: 'admin',
    rule: 'PUT /repos/{owner}/{repo}/collaborators/{username}',
    success: 204,
    prepare: async (fx, refused) => {
      const newcomer = await target('PUT collaborator', fx, refused, () => createUser(server, uniqueName('newcollab')));
      return {
        path: `/repos/${fx.full}/collaborators/${newcomer.login}`,
        body: { permission: 'pull' },
        check: async (status) => expect(await isCollaborator(fx, newcomer.login)).toBe(status === 204),
      };
    },
  },
  {
    name: 'DELETE collaborator',
    kind: 'api',
    method: 'DELETE',
    need: 'admin',
    rule: 'DELETE /repos/{owner}/{repo}/collaborators/{username}',
    success: 204,
    prepare: async (fx, refused) => {
      const leaving = await target('DELETE collaborator', fx, refused, async () => {
        const user = await createUser(server, uniqueName('leaving'));
        await ownerCall('PUT', `${server.api}/repos/${fx.full}/collaborators/${user.login}`, { permission: 'pull' });
        return user;
      });
      return {
        path: `/repos/${fx.full}/collaborators/${leaving.login}`,
        check: async (status) => expect(await isCollaborator(fx, leaving.login)).toBe(status !== 204),
      };
    },
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
  {
    name: 'GET releases',
    kind: 'api',
    method: 'GET',
    need: 'read',
    rule: 'GET /repos/{owner}/{repo}/releases',
    success: 200,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/releases` }),
  },
  {
    name: 'GET attestations',
    kind: 'api',
    method: 'GET',
    need: 'read',
    rule: 'GET /repos/{owner}/{repo}/attestations/{subject_digest}',
    success: 200,
    prepare: async (fx) => ({
      path: `/repos/${fx.full}/attestations/sha256:${'0'.repeat(64)}`,
      check: async (status, text) => {
        if (status === 200) assertDotcomResponse('GET', '/repos/{owner}/{repo}/attestations/{subject_digest}', 200, JSON.parse(text));
      },
    }),
  },
  {
    name: 'POST attestation',
    kind: 'api',
    method: 'POST',
    need: 'push',
    rule: 'POST /repos/{owner}/{repo}/attestations',
    success: 201,
    prepare: async (fx) => ({
      path: `/repos/${fx.full}/attestations`,
      body: { bundle: await attestationBundle() },
      check: async (status, text) => {
        if (status === 201) assertDotcomResponse('POST', '/repos/{owner}/{repo}/attestations', 201, JSON.parse(text));
      },
    }),
  },
  {
    // Off already: turning it off again changes nothing the other cells depend on.
    name: 'DELETE immutable-releases',
    kind: 'api',
    method: 'DELETE',
    need: 'admin',
    rule: 'DELETE /repos/{owner}/{repo}/immutable-releases',
    success: 204,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/immutable-releases` }),
  },
  { name: 'GET latest release', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/latest` }) },
  { name: 'GET release channels', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/channels` }) },
  { name: 'GET release rules', kind: 'api', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/rules` }) },
  { name: 'PATCH release rules', kind: 'api', method: 'PATCH', need: 'admin', success: 200, prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/rules`, body: {} }) },
  // Pull mirrors (a Wharf extension, not in GitHub's description): administrators only. The
  // fixtures are no mirrors, so an administrator's read is 404 and a bad setting 422 — after the
  // access check, which is what the cells test; nothing is changed.
  { name: 'GET mirror', kind: 'api', method: 'GET', need: 'admin', success: 404, prepare: async (fx) => ({ path: `/repos/${fx.full}/mirror` }) },
  {
    name: 'PUT mirror',
    kind: 'api',
    method: 'PUT',
    need: 'admin',
    success: 422,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/mirror`, body: { upstream_url: 'not a url' } }),
  },
  { name: 'DELETE mirror', kind: 'api', method: 'DELETE', need: 'admin', success: 404, prepare: async (fx) => ({ path: `/repos/${fx.full}/mirror` }) },
  { name: 'POST mirror sync', kind: 'api', method: 'POST', need: 'admin', success: 404, prepare: async (fx) => ({ path: `/repos/${fx.full}/mirror/sync` }) },
  {
    name: 'POST release',
    kind: 'api',
    method: 'POST',
    need: 'create',
    rule: 'POST /repos/{owner}/{repo}/releases',
    success: 201,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/releases`, body: { tag_name: uniqueName('newdraft-'), draft: true } }),
  },
  // Permission before validation: input that would be refused is refused for what the caller
  // may do first; only callers allowed to write learn how their input was judged.
  {
    name: 'POST release for a tag that has one',
    kind: 'api',
    method: 'POST',
    need: 'create',
    rule: 'POST /repos/{owner}/{repo}/releases',
    success: 422,
    prepare: async (fx) => ({
      path: `/repos/${fx.full}/releases`,
      body: { tag_name: fx.published.tag },
      check: async (status, text, allowed) => {
        if (status === 422) expect(text).toContain(allowed ? 'already_exists' : 'author_id does not have push access');
      },
    }),
  },
  {
    name: 'POST release with a body that is not an object',
    kind: 'api',
    method: 'POST',
    need: 'create',
    success: 400,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/releases`, raw: '["v9"]', headers: { 'content-type': 'application/json' } }),
  },
  {
    name: 'PATCH repo with a body that is not an object',
    kind: 'api',
    method: 'PATCH',
    need: 'admin',
    success: 400,
    prepare: async (fx) => ({ path: `/repos/${fx.full}`, raw: '"private"', headers: { 'content-type': 'application/json' } }),
  },
  {
    name: 'POST git ref without a sha',
    kind: 'api',
    method: 'POST',
    need: 'push',
    success: 422,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/git/refs`, body: { ref: 'refs/heads/x' } }),
  },
  {
    name: 'PUT collaborator with an unknown permission',
    kind: 'api',
    method: 'PUT',
    need: 'admin',
    success: 422,
    prepare: async (fx) => ({ path: `/repos/${fx.full}/collaborators/${owner.login}`, body: { permission: 'emperor' } }),
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
  // The front page and the owner's page open for everyone; the leak check makes sure they list
  // neither the private repository nor a draft to callers without access.
  { name: 'web home page', kind: 'page', method: 'GET', need: 'public', success: 200, prepare: async () => ({ path: '/' }) },
  { name: 'web owner page', kind: 'page', method: 'GET', need: 'public', success: 200, prepare: async () => ({ path: `/${owner.login}` }) },
  { name: 'GET user repos', kind: 'api', method: 'GET', need: 'public', success: 200, prepare: async () => ({ path: `/users/${owner.login}/repos` }) },
  {
    name: 'web compare page',
    kind: 'page',
    method: 'GET',
    need: 'read',
    success: 200,
    prepare: async (fx) => ({ path: `/${fx.full}/compare/${fx.published.tag}...main` }),
  },
  { name: 'web commits page', kind: 'page', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/commits/main` }) },
  { name: 'web commit page', kind: 'page', method: 'GET', need: 'read', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/commit/${fx.mainSha}` }) },
  {
    name: 'web source archive',
    kind: 'page',
    method: 'GET',
    need: 'read',
    success: 200,
    prepare: async (fx) => ({ path: `/${fx.full}/archive/refs/tags/${fx.published.tag}.tar.gz` }),
  },
  {
    name: 'latest release asset browser URL',
    kind: 'web',
    method: 'GET',
    need: 'read',
    success: 302,
    prepare: async (fx) => ({ path: `/${fx.full}/releases/latest/download/${fx.published.asset.name}` }),
  },
  {
    name: 'git info/refs upload-pack',
    kind: 'git',
    method: 'GET',
    need: 'read',
    success: 200,
    prepare: async (fx) => ({ path: `/${fx.full}.git/info/refs?service=git-upload-pack` }),
  },
  {
    name: 'git info/refs receive-pack',
    kind: 'git',
    method: 'GET',
    need: 'push',
    success: 200,
    prepare: async (fx) => ({ path: `/${fx.full}.git/info/refs?service=git-receive-pack` }),
  },
];

function releaseRoutes(state: ReleaseState): RouteCase[] {
  const pick = (fx: Fixture) => (state === 'draft' ? fx.draft : fx.published);
  return [
    {
      name: `GET ${state} release`,
      kind: 'api',
      method: 'GET',
      need: 'read',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}` }),
    },
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
    {
      name: `PATCH ${state} release`,
      kind: 'api',
      method: 'PATCH',
      need: 'push',
      rule: 'PATCH /repos/{owner}/{repo}/releases/{release_id}',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}`, body: {} }),
    },
    {
      name: `GET ${state} release assets`,
      kind: 'api',
      method: 'GET',
      need: 'read',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}/assets` }),
    },
    {
      name: `GET ${state} asset`,
      kind: 'api',
      method: 'GET',
      need: 'read',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}` }),
    },
    {
      name: `GET ${state} asset bytes`,
      kind: 'api',
      method: 'GET',
      need: 'read',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}`, headers: { accept: 'application/octet-stream' } }),
    },
    {
      name: `web ${state} release page`,
      kind: 'page',
      method: 'GET',
      need: 'read',
      release: state,
      publishedOnly: true,
      success: 200,
      prepare: async (fx) => ({ path: `/${fx.full}/releases/tag/${pick(fx).tag}` }),
    },
    {
      name: `GET ${state} asset browser URL`,
      kind: 'web',
      method: 'GET',
      need: 'read',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: new URL(pick(fx).asset.browserUrl).pathname }),
    },
    {
      name: `PATCH ${state} asset`,
      kind: 'api',
      method: 'PATCH',
      need: 'push',
      rule: 'PATCH /repos/{owner}/{repo}/releases/assets/{asset_id}',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}`, body: {} }),
    },
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
      name: `POST ${state} resumable (tus) upload`,
      kind: 'uploads',
      method: 'POST',
      need: 'push',
      release: state,
      success: 201,
      prepare: async (fx) => ({
        path: `/repos/${fx.full}/releases/${pick(fx).id}/assets/resumable`,
        raw: 'uploaded bytes',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-length': '14',
          'upload-metadata': `name ${Buffer.from(`${uniqueName(state === 'draft' ? 'dtus-' : 'ptus-')}.bin`).toString('base64')}`,
          'content-type': 'application/offset+octet-stream',
        },
      }),
    },
    {
      name: `POST ${state} asset upload without a name`,
      kind: 'uploads',
      method: 'POST',
      need: 'push',
      release: state,
      success: 400,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}/assets`, raw: 'bytes without a name' }),
    },
    {
      name: `PATCH ${state} release with a body that is not an object`,
      kind: 'api',
      method: 'PATCH',
      need: 'push',
      release: state,
      success: 400,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/${pick(fx).id}`, raw: '[]', headers: { 'content-type': 'application/json' } }),
    },
    {
      name: `PATCH ${state} asset with a name of the wrong type`,
      kind: 'api',
      method: 'PATCH',
      need: 'push',
      release: state,
      success: 422,
      prepare: async (fx) => ({ path: `/repos/${fx.full}/releases/assets/${pick(fx).asset.id}`, body: { name: 7 } }),
    },
    {
      name: `DELETE ${state} asset`,
      kind: 'api',
      method: 'DELETE',
      need: 'push',
      release: state,
      success: 204,
      prepare: async (fx, refused) => {
        const victim = await target(`DELETE ${state} asset`, fx, refused, () =>
          uploadAsset(fx, pick(fx).id, uniqueName(`${mark(fx, state === 'draft' ? 'dvictim' : 'pvictim')}-`)),
        );
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
      rule: 'DELETE /repos/{owner}/{repo}/releases/{release_id}',
      release: state,
      success: 204,
      prepare: async (fx, refused) => {
        const victim = await target(`DELETE ${state} release`, fx, refused, () => makeRelease(fx, state, mark(fx, state === 'draft' ? 'dvictim' : 'pvictim'), { notLatest: true }));
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

/** The pages and feeds again, as a browser signed in with each caller's token sees them. */
function sessionTwins(routes: RouteCase[]): RouteCase[] {
  return routes.filter((r) => r.kind === 'page' || r.kind === 'web').map((r) => ({ ...r, name: `${r.name} (session)`, auth: 'session' as const }));
}

async function releaseJson(fx: Fixture, id: number) {
  return call('GET', `${server.api}/repos/${fx.full}/releases/${id}`, { token: owner.token });
}

/** The web forms that work on a repository: the new-release page and creating a release from it. */
const repoFormRoutes: RouteCase[] = [
  { name: 'form: new release page', kind: 'form', method: 'GET', need: 'push', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/releases/new` }) },
  {
    // Published as a pre-release, so the latest designation (and its download URL) stays put.
    name: 'form: create release',
    kind: 'form',
    method: 'POST',
    need: 'push',
    success: 303,
    prepare: async (fx) => {
      const tag = uniqueName(`${mark(fx, 'formnew')}-`);
      return {
        path: `/${fx.full}/releases`,
        form: { tag_name: tag, target_commitish: '', name: '', body: 'made by a form', prerelease: '1', intent: 'publish' },
        check: async (status) => {
          const after = await call('GET', `${server.api}/repos/${fx.full}/releases/tags/${tag}`, { token: owner.token });
          expect(after.status).toBe(status === 303 ? 200 : 404);
        },
      };
    },
  }, // The release form's notes helpers: they store nothing, but read the repository's history.
  {
    name: 'form: preview notes',
    kind: 'form',
    method: 'POST',
    need: 'push',
    success: 200,
    prepare: async (fx) => ({ path: `/${fx.full}/releases/preview`, form: { body: '**notes**' } }),
  },
  {
    name: 'form: generate notes',
    kind: 'form',
    method: 'POST',
    need: 'push',
    success: 200,
    prepare: async (fx) => ({ path: `/${fx.full}/releases/notes`, form: { tag_name: 'v-matrix-notes', target_commitish: 'main' } }),
  },
];

/** Where the fixtures' webhooks point (a name, so saving it needs no outbound allowance). */
const HOOK_URL = 'http://hooks.example.invalid/receive';

/** The webhook settings pages and forms: repository admins only, 404 for everyone else. */
const hookFormRoutes: RouteCase[] = [
  { name: 'form: webhooks page', kind: 'form', method: 'GET', need: 'admin', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/settings/hooks` }) },
  { name: 'form: new webhook page', kind: 'form', method: 'GET', need: 'admin', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/settings/hooks/new` }) },
  { name: 'form: webhook page', kind: 'form', method: 'GET', need: 'admin', success: 200, prepare: async (fx) => ({ path: `/${fx.full}/settings/hooks/${fx.hookId}` }) },
  {
    name: 'form: create webhook',
    kind: 'form',
    method: 'POST',
    need: 'admin',
    success: 303,
    prepare: async (fx) => ({ path: `/${fx.full}/settings/hooks`, form: { url: `${HOOK_URL}?${mark(fx, 'hooknew')}`, content_type: 'json', event_push: '1' } }),
  },
  {
    name: 'form: update webhook',
    kind: 'form',
    method: 'POST',
    need: 'admin',
    success: 303,
    prepare: async (fx) => ({
      path: `/${fx.full}/settings/hooks/${fx.hookId}`,
      form: { url: HOOK_URL, content_type: 'json', event_release: '1' },
      check: async () => {
        // Whoever was refused, the hook is as the admins left it.
        const hook = await ownerCall('GET', `${server.api}/repos/${fx.full}/hooks/${fx.hookId}`);
        expect({ url: hook.config.url, active: hook.active }).toEqual({ url: HOOK_URL, active: false });
      },
    }),
  },
  {
    name: 'form: ping webhook',
    kind: 'form',
    method: 'POST',
    need: 'admin',
    success: 303,
    prepare: async (fx) => ({ path: `/${fx.full}/settings/hooks/${fx.hookId}/pings`, form: {} }),
  },
];

/** The web forms that work on one release (drafts are addressed by their `untagged-…` tag). */
function releaseFormRoutes(state: ReleaseState): RouteCase[] {
  const pick = (fx: Fixture) => (state === 'draft' ? fx.draft : fx.published);
  // Throw-away names: a draft's are secret below push, a published one's only on the private repository.
  const victimLabel = (fx: Fixture) => mark(fx, state === 'draft' ? 'dvictim' : 'pvictim');
  return [
    {
      name: `form: edit ${state} page`,
      kind: 'form',
      method: 'GET',
      need: 'push',
      release: state,
      success: 200,
      prepare: async (fx) => ({ path: `/${fx.full}/releases/edit/${pick(fx).webTag}` }),
    },
    {
      name: `form: save ${state}`,
      kind: 'form',
      method: 'POST',
      need: 'push',
      release: state,
      success: 303,
      prepare: async (fx, refused) => {
        const victim = await target(`form: save ${state}`, fx, refused, () => makeVictim(fx, state, victimLabel(fx)));
        const name = uniqueName(`${victimLabel(fx)}-edited-`);
        return {
          path: `/${fx.full}/releases/edit/${victim.webTag}`,
          form: { tag_name: victim.tag, target_commitish: '', name, body: 'edited by a form', intent: state === 'draft' ? 'draft' : 'update' },
          check: async (status) => {
            const after = await releaseJson(fx, victim.id);
            expect(after.status).toBe(200);
            expect(after.body.name).toBe(status === 303 ? name : victim.name);
            expect(after.body.draft).toBe(state === 'draft');
          },
        };
      },
    },
    {
      // A draft victim is a pre-release, so publishing it does not move the latest designation.
      // Its names are not draft secrets (it may be public a moment later): only private ones.
      name: `form: publish ${state}`,
      kind: 'form',
      method: 'POST',
      need: 'push',
      release: state,
      success: 303,
      prepare: async (fx, refused) => {
        const victim = await target(`form: publish ${state}`, fx, refused, () =>
          state === 'draft' ? makeVictim(fx, 'draft', mark(fx, 'topublish'), { prerelease: true }) : makeVictim(fx, 'published', victimLabel(fx)),
        );
        return {
          path: `/${fx.full}/releases/publish/${victim.webTag}`,
          form: {},
          check: async (status) => {
            const after = await releaseJson(fx, victim.id);
            expect(after.status).toBe(200);
            expect(after.body.draft).toBe(state === 'draft' && status !== 303);
          },
        };
      },
    },
    {
      name: `form: delete ${state}`,
      kind: 'form',
      method: 'POST',
      need: 'push',
      release: state,
      success: 303,
      prepare: async (fx, refused) => {
        const victim = await target(`form: delete ${state}`, fx, refused, () => makeVictim(fx, state, victimLabel(fx)));
        return {
          path: `/${fx.full}/releases/delete/${victim.webTag}`,
          form: {},
          // Whatever the answer, the release is gone exactly when the form said it was done.
          check: async (status) => expect((await releaseJson(fx, victim.id)).status).toBe(status === 303 ? 404 : 200),
        };
      },
    },
    {
      name: `web upload to ${state}`,
      kind: 'webupload',
      method: 'POST',
      need: 'push',
      release: state,
      lookupFirst: true,
      success: 201,
      prepare: async (fx) => {
        const name = `${uniqueName(state === 'draft' ? 'dwup-' : 'pwup-')}.bin`;
        return {
          path: `/${fx.full}/releases/upload/${pick(fx).id}?name=${name}`,
          raw: 'uploaded from the page',
          headers: { 'content-type': 'application/octet-stream' },
          check: async (status) => {
            const assets = await call('GET', `${server.api}/repos/${fx.full}/releases/${pick(fx).id}/assets?per_page=100`, { token: owner.token });
            expect(assets.status).toBe(200);
            expect((assets.body as Array<{ name: string }>).some((a) => a.name === name)).toBe(status === 201);
          },
        };
      },
    },
    {
      name: `form: delete ${state} asset`,
      kind: 'form',
      method: 'POST',
      need: 'push',
      release: state,
      lookupFirst: true,
      success: 303,
      prepare: async (fx, refused) => {
        const victim = await target(`form: delete ${state} asset`, fx, refused, () => uploadAsset(fx, pick(fx).id, uniqueName(`${victimLabel(fx)}-`)));
        return {
          path: `/${fx.full}/releases/assets/${victim.id}/delete`,
          form: {},
          check: async (status) => {
            const after = await call('GET', `${server.api}/repos/${fx.full}/releases/assets/${victim.id}`, { token: owner.token });
            expect(after.status).toBe(status === 303 ? 404 : 200);
          },
        };
      },
    },
  ];
}

/** Every state-changing form route again, each missing one CSRF requirement. */
function csrfAttacks(routes: RouteCase[]): RouteCase[] {
  const attacks: CsrfAttack[] = ['no CSRF token', 'foreign Origin', 'token header without session'];
  return routes
    .filter((r) => (r.kind === 'form' || r.kind === 'webupload') && r.method === 'POST')
    .flatMap((r) => attacks.map((attack) => ({ ...r, name: `${r.name} with ${attack}`, attack })));
}

/**
 * What a browser gets on a page or form with its session (docs/web.md): a repository the visitor
 * cannot see is 404 first; then an anonymous visitor is sent to sign in (303) from a form's page
 * and refused (401) on a write; a signed-in one without push access gets 403. The release forms
 * check push access before they look the release up (a 403 whatever the tag, so it reveals no
 * draft); uploads and asset deletes look it up first, as the API does, so a draft is 404 there.
 */
function expectedSessionStatus(route: RouteCase, caller: Caller, fx: Fixture): number {
  const signedIn = caller.token !== null && !caller.badToken;
  // A session cookie Wharf never issued is no session: the visitor is anonymous.
  const perm = signedIn ? permissionOf(caller, fx.isPrivate) : fx.isPrivate ? null : 'pull';
  if (route.need === 'public') return route.success;
  if (perm === null) return 404;
  // The webhook settings are hidden from everyone but admins, signed in or not (docs/webhooks.md).
  if (route.need === 'admin') return atLeast(perm, 'admin') ? route.success : 404;
  if (route.need === 'read') return route.release === 'draft' && (route.publishedOnly || !atLeast(perm, 'push')) ? 404 : route.success;
  if (route.method === 'GET') return atLeast(perm, 'push') ? route.success : signedIn ? 403 : 303;
  if (!signedIn) return 401;
  if (route.release === 'draft' && route.lookupFirst && !atLeast(perm, 'push')) return 404;
  return atLeast(perm, 'push') ? route.success : 403;
}

/** The status Wharf's rules give (docs/api.md, docs/releases.md). */
function expectedStatus(route: RouteCase, caller: Caller, fx: Fixture): number {
  // A write without its CSRF secret or from another origin is refused; a token is no session.
  if (route.attack) return route.attack === 'token header without session' ? 401 : 403;
  if (authOf(route) === 'session') return expectedSessionStatus(route, caller, fx);
  if (caller.badToken) return 401;
  if (route.need === 'public') return route.success;
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
      return atLeast(perm, route.need) ? route.success : anonymous ? 401 : (route.refusal ?? 403);
  }
}

interface Observed {
  caller: Caller;
  /** What the caller may do on the fixture, as the request authenticated (header or session). */
  perm: Perm | null;
  fx: Fixture;
  route: string;
  /** The path the caller asked for (a page may echo it, e.g. in a sign-in link's return_to). */
  requested: string;
  status: number;
  text: string;
}
const observed: Observed[] = [];

function authOf(route: RouteCase): Auth {
  return route.kind === 'form' || route.kind === 'webupload' ? 'session' : (route.auth ?? 'header');
}

/** The request a cell sends: the route's, authenticated the way the route (and its attack) says. */
function requestFor(route: RouteCase, caller: Caller, prepared: Awaited<ReturnType<RouteCase['prepare']>>) {
  const headers: Record<string, string> = { ...prepared.headers };
  let token: string | null = route.kind === 'git' ? null : caller.token;
  let raw = prepared.raw;
  if (route.kind === 'git') {
    headers['user-agent'] = 'git/2.39.0';
    if (caller.token) headers.authorization = basicAuth(caller.token);
  }
  if (authOf(route) === 'session') {
    const session = sessions.get(caller) ?? null;
    token = route.attack === 'token header without session' ? caller.token : null;
    if (session && route.attack !== 'token header without session') headers.cookie = session.cookie;
    if (route.attack === 'foreign Origin') headers.origin = 'https://attacker.example';
    const csrf = session && route.attack !== 'no CSRF token' ? session.csrf : null;
    if (route.kind === 'webupload') {
      headers.accept = 'application/json';
      if (csrf) headers['x-csrf-token'] = csrf;
    } else {
      headers.accept = 'text/html,application/xhtml+xml';
    }
    if (prepared.form) {
      raw = new URLSearchParams({ ...prepared.form, ...(csrf ? { _csrf: csrf } : {}) }).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
  }
  return { token, raw, headers };
}

/** What a failure must look like: GitHub's JSON error for API-like routes, an HTML error page for pages and forms. */
function errorShapeProblem(route: RouteCase, status: number, res: { headers: Headers; body: unknown; text: string }): string | null {
  if (route.kind === 'page' || route.kind === 'form') {
    if (!(res.headers.get('content-type') ?? '').startsWith('text/html') || !res.text.includes(`<h1>${status} · `)) return `not an HTML error page: ${res.text.slice(0, 200)}`;
    return null;
  }
  if (status === 422) return null;
  const body = res.body as { message?: unknown; documentation_url?: unknown };
  if (typeof body?.message !== 'string' || typeof body.documentation_url !== 'string') return `not a GitHub error body: ${res.text.slice(0, 200)}`;
  return null;
}

async function runCell(route: RouteCase, caller: Caller, fx: Fixture): Promise<string | null> {
  const want = expectedStatus(route, caller, fx);
  const prepared = await route.prepare(fx, want !== route.success);
  const prefix = {
    api: server.api,
    uploads: server.uploads,
    git: server.base,
    web: server.base,
    graphql: server.base,
    page: server.base,
    form: server.base,
    webupload: server.base,
  }[route.kind];
  const url = `${prefix}${prepared.path}`;
  const { token, raw, headers } = requestFor(route, caller, prepared);
  const res = await call(route.method, url, {
    token,
    body: prepared.body,
    raw,
    headers,
    // api.github.com's routes are checked against its description by their own `check`.
    skipSchema: !['api', 'uploads'].includes(route.kind) || DOTCOM_ROUTES.has(route.name) || route.name === 'GET tarball' || headers.accept === 'application/octet-stream',
  });
  const session = authOf(route) === 'session' && !route.attack;
  const perm = session && caller.badToken ? permissionOf({ ...caller, token: null, badToken: false }, fx.isPrivate) : permissionOf(caller, fx.isPrivate);
  const headerText = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
  observed.push({ caller, perm, fx, route: route.name, requested: prepared.path, status: res.status, text: `${headerText}\n${res.text}` });
  cells += 1;
  const where = `${route.name} on ${fx.isPrivate ? 'private' : 'public'} as ${caller.name}`;
  if (res.status !== want) return `${where}: expected ${want}, got ${res.status} ${res.text.slice(0, 200)}`;
  try {
    const allowed = route.need === 'create' ? atLeast(perm, 'push') : route.need === 'push' || route.need === 'admin' ? atLeast(perm, route.need) : true;
    if (prepared.check) await prepared.check(res.status, res.text, allowed);
  } catch (err) {
    return `${where}: answered ${res.status}, but the target says otherwise: ${(err as Error).message}`;
  }
  if (res.status === 303) {
    // Anonymous visitors are sent to sign in (and back); a done form goes on to a page, never to sign-in.
    const location = res.headers.get('location') ?? '';
    const toSignIn = location.startsWith(`/login?return_to=${encodeURIComponent(prepared.path)}`);
    if (toSignIn !== (route.method === 'GET')) return `${where}: unexpected redirect to ${location}`;
  }
  if (res.status >= 400) {
    const problem = errorShapeProblem(route, res.status, res);
    if (problem) return `${where}: ${problem}`;
  }
  return null;
}

describe('access rules', () => {
  it("quote GitHub's description of each route, and the matrix follows them", async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const description = require('@octokit/openapi/generated/ghes-3.19.json') as { paths: Record<string, Record<string, { description?: string }>> };
    const dotcom = require('@octokit/openapi/generated/api.github.com.json') as { paths: Record<string, Record<string, { description?: string }>> };
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    for (const [operation, rule] of Object.entries(ACCESS_RULES)) {
      const [method, path] = operation.split(' ') as [string, string];
      const op = description.paths[path]?.[method.toLowerCase()] ?? dotcom.paths[path]?.[method.toLowerCase()];
      expect(op, operation).toBeDefined();
      if (rule.wording) expect(flat(op!.description ?? ''), operation).toContain(rule.wording);
    }
    const routes = [...repoRoutes, ...releaseRoutes('published'), ...releaseRoutes('draft')].filter((r) => r.rule);
    expect(routes.length).toBeGreaterThanOrEqual(Object.keys(ACCESS_RULES).length);
    for (const route of routes) {
      const rule = ACCESS_RULES[route.rule!];
      expect(rule, `${route.name}: no rule ${route.rule}`).toBeDefined();
      expect({ need: route.need, refusal: route.refusal }, route.name).toEqual({ need: rule!.need, refusal: rule!.refusal });
    }
    for (const operation of Object.keys(ACCESS_RULES))
      expect(
        routes.some((r) => r.rule === operation),
        `no matrix route follows ${operation}`,
      ).toBe(true);
  });
});

describe('authorization matrix', () => {
  it('gives every caller the exact status on every route, repository and release state', async () => {
    const headerRoutes = [...repoRoutes, ...releaseRoutes('published'), ...releaseRoutes('draft')];
    const formRoutes = [...repoFormRoutes, ...releaseFormRoutes('published'), ...releaseFormRoutes('draft'), ...hookFormRoutes];
    const routes = [...headerRoutes, ...sessionTwins(headerRoutes), ...formRoutes];
    const attacks = csrfAttacks(formRoutes);
    const pushCaller = callers.find((c) => c.name === 'push')!;
    const ownerCaller = callers.find((c) => c.name === 'owner')!;
    const jobs: Array<() => Promise<string | null>> = [];
    for (const fx of fixtures) {
      for (const route of routes) for (const caller of callers) jobs.push(() => runCell(route, caller, fx));
      // Attacks come from a caller who could make the write otherwise: an admin for admin forms.
      for (const route of attacks) jobs.push(() => runCell(route, route.need === 'admin' ? ownerCaller : pushCaller, fx));
    }
    const failures = (await runLimited(jobs, 6)).filter((f): f is string => f !== null);
    expect(failures).toEqual([]);
    expect(cells).toBe(fixtures.length * (routes.length * callers.length + attacks.length));
    recordFigure('authorization matrix cells: web forms and CSRF', fixtures.length * (formRoutes.length * callers.length + attacks.length));
    recordFigure('authorization matrix cells', cells);
  }, 600_000);

  it('leaks nothing to callers without access: no repository, tag, release name or draft', () => {
    expect(observed.length).toBeGreaterThan(0);
    const leaks: string[] = [];
    for (const o of observed) {
      const perm = o.perm;
      const secrets: string[] = [];
      if (perm === null) {
        secrets.push(o.fx.name, o.fx.published.tag, o.fx.published.name, o.fx.published.asset.name, o.fx.published.asset.bytes, o.fx.mainSha, 'pup-', 'pwup-');
        secrets.push(...['pvictim', 'formnew', 'topublish'].map((base) => mark(o.fx, base)));
      }
      if (!atLeast(perm, 'push')) secrets.push(o.fx.draft.tag, o.fx.draft.name, o.fx.draft.asset.name, o.fx.draft.asset.bytes, mark(o.fx, 'dvictim'), 'newdraft-', 'dup-', 'dwup-');
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
