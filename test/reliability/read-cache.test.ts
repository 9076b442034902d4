/**
 * The read cache (docs/performance.md#the-read-cache) against a fresh rendering: two servers share
 * one store — one remembers answers (for a minute, longer than any run, so a missed invalidation
 * would show), the other remembers nothing — and random writes of every kind, through either
 * server and every door (REST, uploads, web forms, git pushes, the refs API, collaborators,
 * visibility, token revocation, suspension), are interleaved with reads by every kind of caller.
 * Every answer the remembering server gives must be byte for byte the fresh one, ETag included.
 * On the PostgreSQL run the two servers are two nodes sharing the database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/services/audit.ts';
import { setSuspended } from '../../src/services/user-admin.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { ADMIN_TOKEN, releaseStores, startServer, type TestServer } from '../support/server.ts';
import { WebClient } from '../web/web-client.ts';

const EXTERNAL = 'http://wharf.test';
const TAGS = ['v1.0.0', 'v1.1.0', 'v2.0.0-rc1', 'v2.0.0', 'cli-v1.0.0'];

let dataDir: string;
let remembering: TestServer;
let fresh: TestServer;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-read-cache-'));
  // Same external URL on both, so their answers are comparable byte for byte.
  remembering = await startServer({ dataDir, env: { WHARF_EXTERNAL_URL: EXTERNAL, WHARF_READ_CACHE_TTL_MS: '60000' } });
  fresh = await startServer({ dataDir, env: { WHARF_EXTERNAL_URL: EXTERNAL, WHARF_READ_CACHE_SIZE: '0', WHARF_PRINCIPAL_CACHE_TTL_MS: '0' } });
}, 120_000);

afterAll(async () => {
  await remembering?.close();
  await fresh?.close();
  await rm(dataDir, { recursive: true, force: true });
  await releaseStores(dataDir);
});

type Via = 'remembering' | 'fresh';
const server = (via: Via) => (via === 'remembering' ? remembering : fresh);

type Action =
  | { kind: 'create'; via: Via; tag: number; draft: boolean; prerelease: boolean }
  | { kind: 'edit'; via: Via; pick: number; name: string; draft: boolean | null; prerelease: boolean | null; latest: 'true' | 'false' | null }
  | { kind: 'delete'; via: Via; pick: number }
  | { kind: 'upload'; via: Via; pick: number; name: string }
  | { kind: 'renameAsset'; via: Via; pick: number; name: string }
  | { kind: 'deleteAsset'; via: Via; pick: number }
  | { kind: 'react'; via: Via; pick: number; content: '+1' | 'heart' | 'rocket' }
  | { kind: 'webEdit'; via: Via; pick: number; name: string }
  | { kind: 'pushTag'; tag: number; remove: boolean }
  | { kind: 'deleteTagApi'; via: Via; tag: number }
  | { kind: 'collaborator'; via: Via; who: 'reader' | 'writer'; permission: 'pull' | 'push' | 'none' }
  | { kind: 'visibility'; via: Via; private: boolean }
  | { kind: 'revoke'; via: Via }
  | { kind: 'suspend'; via: Via; suspended: boolean };

const via = fc.constantFrom<Via>('remembering', 'fresh');
const pick = fc.nat(20);
const label = fc.stringMatching(/^[a-z]{1,6}$/);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), via, tag: fc.nat(TAGS.length - 1), draft: fc.boolean(), prerelease: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      via,
      pick,
      name: label,
      draft: fc.option(fc.boolean()),
      prerelease: fc.option(fc.boolean()),
      latest: fc.option(fc.constantFrom('true' as const, 'false' as const)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), via, pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('upload' as const), via, pick, name: label }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('renameAsset' as const), via, pick, name: label }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteAsset' as const), via, pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('react' as const), via, pick, content: fc.constantFrom('+1' as const, 'heart' as const, 'rocket' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('webEdit' as const), via, pick, name: label }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pushTag' as const), tag: fc.nat(TAGS.length - 1), remove: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteTagApi' as const), via, tag: fc.nat(TAGS.length - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('collaborator' as const),
      via,
      who: fc.constantFrom('reader' as const, 'writer' as const),
      permission: fc.constantFrom('pull' as const, 'push' as const, 'none' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('visibility' as const), via, private: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), via }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('suspend' as const), via, suspended: fc.boolean() }) },
);

interface World {
  owner: TestUser;
  reader: TestUser;
  writer: TestUser;
  /** Collaborator with push access whose tokens get revoked and who gets suspended. */
  victim: TestUser & { tokenId: number };
  stranger: TestUser;
  revokedTokens: string[];
  repo: { name: string; full: string };
  other: { name: string; full: string };
  work: WorkRepo;
  web: Record<Via, WebClient>;
}

async function newWorld(): Promise<World> {
  const [owner, reader, writer, victim, stranger] = await Promise.all(['own', 'rdr', 'wrt', 'vic', 'str'].map((p) => createUser(remembering, uniqueName(p))));
  const repo = await createRepo(remembering, owner!, { private: true });
  const other = await createRepo(remembering, owner!, {});
  await addCollaborator(remembering, owner!, repo.name, reader!, 'pull');
  await addCollaborator(remembering, owner!, repo.name, writer!, 'push');
  await addCollaborator(remembering, owner!, repo.name, victim!, 'push');
  const work = await WorkRepo.create();
  await work.commit('first');
  await work.push(remembering, repo.full, owner!.token, 'HEAD:refs/heads/main');
  await work.push(remembering, other.full, owner!.token, 'HEAD:refs/heads/main');
  // One release in the other repository: its cached answers must survive changes to `repo` unchanged.
  expect((await call('POST', `${remembering.api}/repos/${other.full}/releases`, { token: owner!.token, body: { tag_name: 'v0.1.0' } })).status).toBe(201);
  const victimToken = await issueToken(victim!.login);
  const web = { remembering: new WebClient(remembering.base), fresh: new WebClient(fresh.base) };
  await web.remembering.signIn(owner!.login, owner!.token);
  await web.fresh.signIn(owner!.login, owner!.token);
  return { owner: owner!, reader: reader!, writer: writer!, victim: { ...victim!, ...victimToken }, stranger: stranger!, revokedTokens: [], repo, other, work, web };
}

/** A new token of `login` (with `repo`), issued by the site administrator. */
async function issueToken(login: string): Promise<{ token: string; tokenId: number }> {
  const issued = await call('POST', `${remembering.api}/admin/users/${login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['repo'] } });
  expect(issued.status).toBe(201);
  return { token: issued.body.token, tokenId: issued.body.id };
}

async function releaseIds(w: World): Promise<Array<{ id: number; tag_name: string; assets: Array<{ id: number }> }>> {
  const res = await call('GET', `${fresh.api}/repos/${w.repo.full}/releases?per_page=100`, { token: w.owner.token });
  return res.body;
}

async function apply(w: World, a: Action): Promise<void> {
  const releases = await releaseIds(w);
  const chosen = releases.length ? releases[('pick' in a ? a.pick : 0) % releases.length] : undefined;
  const repoApi = (v: Via) => `${server(v).api}/repos/${w.repo.full}`;
  const token = w.owner.token;
  // Outcomes are not asserted here (a write may be refused, e.g. a tag already taken): what is
  // checked is that both servers then answer alike.
  switch (a.kind) {
    case 'create': {
      const headers = { accept: ACCEPTS[a.tag % ACCEPTS.length]! };
      const body = { tag_name: TAGS[a.tag], draft: a.draft, prerelease: a.prerelease, name: TAGS[a.tag] };
      const created = await call('POST', `${repoApi(a.via)}/releases`, { token, headers, body, skipSchema: true });
      if (created.status !== 201) return;
      // The created release is rendered from what created it, not read back: exactly as read fresh.
      const read = await call('GET', `${fresh.api}/repos/${w.repo.full}/releases/${created.body.id}`, { token, headers, skipSchema: true });
      expect(created.text, `create ${JSON.stringify(a)}`).toBe(read.text);
      expect(created.headers.get('last-modified')).toBe(read.headers.get('last-modified'));
      return;
    }
    case 'edit': {
      if (!chosen) return;
      const body: Record<string, unknown> = { name: a.name };
      if (a.draft !== null) body.draft = a.draft;
      if (a.prerelease !== null) body.prerelease = a.prerelease;
      if (a.latest !== null) body.make_latest = a.latest;
      await call('PATCH', `${repoApi(a.via)}/releases/${chosen.id}`, { token, body, skipSchema: true });
      return;
    }
    case 'delete':
      if (chosen) await call('DELETE', `${repoApi(a.via)}/releases/${chosen.id}`, { token });
      return;
    case 'upload':
      if (chosen) {
        await call('POST', `${server(a.via).uploads}/repos/${w.repo.full}/releases/${chosen.id}/assets?name=${a.name}.bin`, {
          token,
          raw: new TextEncoder().encode(`asset ${a.name}`),
          headers: { 'content-type': 'application/octet-stream' },
          skipSchema: true,
        });
      }
      return;
    case 'renameAsset':
    case 'deleteAsset': {
      const asset = chosen?.assets[0];
      if (!asset) return;
      const url = `${repoApi(a.via)}/releases/assets/${asset.id}`;
      if (a.kind === 'renameAsset') await call('PATCH', url, { token, body: { name: `${a.name}.zip`, label: a.name }, skipSchema: true });
      else await call('DELETE', url, { token });
      return;
    }
    case 'react':
      if (chosen) await call('POST', `${repoApi(a.via)}/releases/${chosen.id}/reactions`, { token: w.reader.token, body: { content: a.content }, skipSchema: true });
      return;
    case 'webEdit': {
      if (!chosen) return;
      const web = w.web[a.via];
      const form = await web.get(`/${w.repo.full}/releases/edit/${chosen.tag_name}`);
      if (form.status !== 200) return;
      await web.post(`/${w.repo.full}/releases/edit/${chosen.tag_name}`, {
        _csrf: WebClient.csrfOf(form),
        tag_name: chosen.tag_name,
        target_commitish: '',
        name: a.name,
        body: `edited ${a.name}`,
      });
      return;
    }
    case 'pushTag': {
      const tag = TAGS[a.tag]!;
      await w.work.git('tag', '-f', tag).catch(() => undefined);
      await w.work.push(remembering, w.repo.full, token, a.remove ? `:refs/tags/${tag}` : `refs/tags/${tag}`).catch(() => undefined);
      return;
    }
    case 'deleteTagApi':
      await call('DELETE', `${repoApi(a.via)}/git/refs/tags/${TAGS[a.tag]}`, { token });
      return;
    case 'collaborator': {
      const user = a.who === 'reader' ? w.reader : w.writer;
      const url = `${repoApi(a.via)}/collaborators/${user.login}`;
      if (a.permission === 'none') await call('DELETE', url, { token });
      else await call('PUT', url, { token, body: { permission: a.permission } });
      return;
    }
    case 'visibility':
      await call('PATCH', repoApi(a.via), { token, body: { private: a.private }, skipSchema: true });
      return;
    case 'revoke': {
      expect((await call('DELETE', `${server(a.via).api}/authorizations/${w.victim.tokenId}`, { token: ADMIN_TOKEN })).status).toBe(204);
      w.revokedTokens.push(w.victim.token);
      w.victim = { ...w.victim, ...(await issueToken(w.victim.login)) };
      return;
    }
    case 'suspend':
      await setSuspended(server(a.via).wharf.ctx, w.victim.login, a.suspended, SYSTEM_ACTOR);
      return;
  }
}

/** Every read both servers are compared on, for every kind of caller. */
function reads(w: World, releases: Array<{ id: number; tag_name: string }>): string[] {
  const paths = [
    `/repos/${w.repo.full}/releases/latest`,
    `/repos/${w.repo.full}/releases?per_page=3`,
    `/repos/${w.repo.full}/releases?per_page=3&page=2`,
    `/repos/${w.other.full}/releases/latest`,
    `/repos/${w.repo.full}/releases/tags/${TAGS[releases.length % TAGS.length]}`,
  ];
  for (const r of releases.slice(0, 2)) paths.push(`/repos/${w.repo.full}/releases/${r.id}`, `/repos/${w.repo.full}/releases/tags/${r.tag_name}`);
  return paths;
}

/** All headers but the request id and the date. */
function headersOf(res: { headers: Headers }): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name !== 'x-github-request-id' && name !== 'date') out[name] = value;
  });
  return out;
}

const ACCEPTS = ['application/vnd.github+json', 'application/vnd.github.full+json'];

async function compareAll(w: World, step: string): Promise<number> {
  const callers: Array<[string, string | null]> = [
    ['anonymous', null],
    ['owner', w.owner.token],
    ['reader', w.reader.token],
    ['writer', w.writer.token],
    ['victim', w.victim.token],
    ['stranger', w.stranger.token],
    ['site admin', ADMIN_TOKEN],
    ...w.revokedTokens.slice(-1).map((t): [string, string] => ['revoked token', t]),
  ];
  const releases = await releaseIds(w);
  let compared = 0;
  for (const p of reads(w, releases)) {
    for (const [who, token] of callers) {
      const accept = ACCEPTS[compared % ACCEPTS.length]!;
      const headers = { accept };
      const expected = await call('GET', fresh.api + p, { token, headers, skipSchema: true });
      // Twice: the first may render (and remember), the second is then remembered.
      for (const round of [1, 2]) {
        const got = await call('GET', remembering.api + p, { token, headers, skipSchema: true });
        const where = `${step}: GET ${p} as ${who} (${accept}), read ${round}`;
        expect(got.status, where).toBe(expected.status);
        expect(got.text, where).toBe(expected.text);
        // Every header (the remembered answers come ahead of Fastify, http/remembered-reads.ts) but the request's own.
        expect(headersOf(got), where).toEqual(headersOf(expected));
      }
      // A client holding the fresh answer's ETag gets 304 exactly when the answers agree.
      const etag = expected.headers.get('etag');
      if (expected.status === 200 && etag) {
        const conditional = await call('GET', remembering.api + p, { token, headers: { ...headers, 'if-none-match': etag }, skipSchema: true });
        expect(conditional.status, `${step}: If-None-Match on ${p} as ${who}`).toBe(304);
      }
      compared += 1;
    }
  }
  return compared;
}

describe('read cache against a fresh rendering', () => {
  it('answers every caller exactly as a server without the cache, through random writes of every kind', async () => {
    let total = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 8, maxLength: 14 }), async (actions) => {
        const w = await newWorld();
        total += await compareAll(w, 'start');
        for (const [i, a] of actions.entries()) {
          await apply(w, a);
          total += await compareAll(w, `after step ${i + 1} ${JSON.stringify(a)}`);
        }
      }),
      { numRuns: Number(process.env.WHARF_READ_CACHE_RUNS ?? 2), endOnFailure: true },
    );
    expect(total).toBeGreaterThan(100);
  }, 900_000);

  it('honours a revocation or suspension made elsewhere on the next request', async () => {
    const w = await newWorld();
    const latest = `/repos/${w.other.full}/releases/latest`;
    expect((await call('GET', remembering.api + latest, { token: w.victim.token })).status).toBe(200);
    // Revoked through the other server (another node, or the CLI): refused at once here too.
    expect((await call('DELETE', `${fresh.api}/authorizations/${w.victim.tokenId}`, { token: w.victim.token })).status).toBe(204);
    expect((await call('GET', remembering.api + latest, { token: w.victim.token })).status).toBe(401);

    expect((await call('GET', remembering.api + latest, { token: w.writer.token })).status).toBe(200);
    await setSuspended(fresh.wharf.ctx, w.writer.login, true, SYSTEM_ACTOR);
    expect((await call('GET', remembering.api + latest, { token: w.writer.token })).status).toBe(401);
    await setSuspended(fresh.wharf.ctx, w.writer.login, false, SYSTEM_ACTOR);
    expect((await call('GET', remembering.api + latest, { token: w.writer.token })).status).toBe(200);
  }, 120_000);

  it('honours a revocation, suspension or lost permission made elsewhere on the next write', async () => {
    const w = await newWorld();
    const list = `${remembering.api}/repos/${w.repo.full}/releases`;
    const create = (token: string, tag: string) => call('POST', list, { token, body: { tag_name: tag } });
    // Each write follows a read, so that the caller and its access are remembered at the generations the write reads.
    expect((await call('GET', list, { token: w.victim.token })).status).toBe(200);
    expect((await create(w.victim.token, 'w1')).status).toBe(201);
    expect((await call('GET', list, { token: w.victim.token })).status).toBe(200);
    expect((await call('DELETE', `${fresh.api}/authorizations/${w.victim.tokenId}`, { token: w.victim.token })).status).toBe(204);
    expect((await create(w.victim.token, 'w2')).status).toBe(401);

    expect((await call('GET', list, { token: w.writer.token })).status).toBe(200);
    await setSuspended(fresh.wharf.ctx, w.writer.login, true, SYSTEM_ACTOR);
    expect((await create(w.writer.token, 'w3')).status).toBe(401);
    await setSuspended(fresh.wharf.ctx, w.writer.login, false, SYSTEM_ACTOR);
    expect((await call('GET', list, { token: w.writer.token })).status).toBe(200);
    expect((await create(w.writer.token, 'w4')).status).toBe(201);

    // Push access taken away elsewhere: the access remembered at the old generation is not used.
    expect((await call('GET', list, { token: w.writer.token })).status).toBe(200);
    expect((await call('PUT', `${fresh.api}/repos/${w.repo.full}/collaborators/${w.writer.login}`, { token: w.owner.token, body: { permission: 'pull' } })).status).toBeLessThan(
      300,
    );
    const refused = await create(w.writer.token, 'w5');
    // GitHub's answer to a reader creating a release.
    expect(refused.status, refused.text).toBe(422);
    expect(refused.text).toContain('does not have push access');
    expect((await call('DELETE', `${fresh.api}/repos/${w.repo.full}/collaborators/${w.writer.login}`, { token: w.owner.token })).status).toBe(204);
    expect((await create(w.writer.token, 'w6')).status).toBe(404);
    const tags = (await call('GET', `${fresh.api}/repos/${w.repo.full}/releases`, { token: w.owner.token })).body.map((r: { tag_name: string }) => r.tag_name);
    expect(tags.sort()).toEqual(['w1', 'w4']);
  }, 120_000);
});
