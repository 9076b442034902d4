/**
 * Release reactions (reference §2.5, §3.14): the three endpoints, the `reactions` rollup on
 * release JSON, visibility, who may delete, pagination, concurrency and Octokit.
 */
import { Octokit } from '@octokit/rest';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { loadReleaseDetails } from '../../src/services/release-details.ts';
import { releasesJson } from '../../src/http/serializers/releases.ts';
import { getRepoAccess } from '../../src/services/repositories.ts';

let server: TestServer;
let owner: TestUser;
let reader: TestUser;
let pusher: TestUser;
let stranger: TestUser;
let requests = 0;

/** `call` that counts requests, for the figures this file prints. */
const req: typeof call = (...args) => {
  requests += 1;
  return call(...args);
};

async function seededRepo(options: { private?: boolean } = {}) {
  const { name, full } = await createRepo(server, owner, { private: options.private ?? false });
  const work = await WorkRepo.create();
  await work.commit('first', { date: '2024-01-01T10:00:00Z' });
  await work.push(server, full, owner.token, 'main');
  await addCollaborator(server, owner, name, reader, 'pull');
  await addCollaborator(server, owner, name, pusher, 'push');
  return { name, full, api: `${server.api}/repos/${full}` };
}

async function release(api: string, body: Record<string, unknown>): Promise<any> {
  const res = await req('POST', `${api}/releases`, { token: owner.token, body });
  if (res.status !== 201) throw new Error(`create release: ${res.status} ${res.text}`);
  return res.body;
}

const zeros = { total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 };

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('own'));
  reader = await createUser(server, uniqueName('read'));
  pusher = await createUser(server, uniqueName('push'));
  stranger = await createUser(server, uniqueName('str'));
});
afterAll(async () => {
  console.log(`reactions: ${requests} requests`);
  await server.close();
});

describe('release reactions', () => {
  it('creates (201, then 200 with the same object), lists, deletes, and keeps the rollup in step', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const url = `${r.api}/releases/${rel.id}/reactions`;
    expect(rel.reactions).toEqual({ url, ...zeros });

    const first = await req('POST', url, { token: reader.token, body: { content: 'heart' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ content: 'heart', user: { login: reader.login, id: reader.id } });
    expect(typeof first.body.node_id).toBe('string');
    expect(Date.parse(first.body.created_at)).toBeGreaterThan(Date.now() - 60_000);
    const again = await req('POST', url, { token: reader.token, body: { content: 'heart' } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    expect((await req('POST', url, { token: reader.token, body: { content: '+1' } })).status).toBe(201);
    expect((await req('POST', url, { token: owner.token, body: { content: 'heart' } })).status).toBe(201);
    const rocket = await req('POST', url, { token: pusher.token, body: { content: 'rocket' } });
    expect(rocket.status).toBe(201);

    const one = await req('GET', `${r.api}/releases/${rel.id}`, {});
    expect(one.body.reactions).toEqual({ url, ...zeros, total_count: 4, heart: 2, '+1': 1, rocket: 1 });
    const byTag = await req('GET', `${r.api}/releases/tags/v1`, {});
    expect(byTag.body.reactions.total_count).toBe(4);

    const list = await req('GET', url, {});
    expect(list.status).toBe(200);
    expect(list.body.map((x: any) => [x.user.login, x.content])).toEqual([
      [reader.login, 'heart'],
      [reader.login, '+1'],
      [owner.login, 'heart'],
      [pusher.login, 'rocket'],
    ]);

    const del = await req('DELETE', `${url}/${rocket.body.id}`, { token: pusher.token });
    expect(del.status).toBe(204);
    expect(expectGitHubError(await req('DELETE', `${url}/${rocket.body.id}`, { token: pusher.token }), 404));
    const after = await req('GET', `${r.api}/releases/${rel.id}`, {});
    expect(after.body.reactions).toEqual({ url, ...zeros, total_count: 3, heart: 2, '+1': 1 });
    // Deleting and reacting again makes a new reaction.
    const redo = await req('POST', url, { token: pusher.token, body: { content: 'rocket' } });
    expect(redo.status).toBe(201);
    expect(redo.body.id).not.toBe(rocket.body.id);
  });

  it('refuses missing and invalid contents with 422 Validation Failed', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const url = `${r.api}/releases/${rel.id}/reactions`;
    const missing = expectGitHubError(await req('POST', url, { token: reader.token, body: {} }), 422, 'Validation Failed');
    expect(missing.errors).toEqual([{ resource: 'Reaction', code: 'missing_field', field: 'content' }]);
    expect(missing.documentation_url).toMatch(/reactions#create-reaction-for-a-release$/);
    expectGitHubError(await req('POST', url, { token: reader.token }), 422, 'Validation Failed');
    // -1 and confused exist on issues but not on releases.
    for (const content of ['-1', 'confused', 'HEART', 'thumbsup', '', 5, ['heart'], { c: 1 }, true]) {
      const bad = expectGitHubError(await req('POST', url, { token: reader.token, body: { content } }), 422, 'Validation Failed');
      expect(bad.errors, JSON.stringify(content)).toEqual([{ resource: 'Reaction', code: 'invalid', field: 'content', value: content }]);
    }
    expectGitHubError(await req('GET', `${url}?content=-1`, {}), 422, 'Validation Failed');
    expectGitHubError(await req('GET', `${url}?content=heart&content=eyes`, {}), 422, 'Validation Failed');
    expectGitHubError(await req('POST', url, { token: reader.token, raw: '{', headers: { 'content-type': 'application/json' } }), 400);
    expect((await req('GET', `${r.api}/releases/${rel.id}`, {})).body.reactions.total_count).toBe(0);
    // Unknown or malformed ids name nothing.
    for (const bad of ['999999', 'abc', '-1', '1.5']) {
      expectGitHubError(await req('GET', `${r.api}/releases/${bad}/reactions`, {}), 404);
      expectGitHubError(await req('POST', `${r.api}/releases/${bad}/reactions`, { token: reader.token, body: { content: 'eyes' } }), 404);
      expectGitHubError(await req('DELETE', `${url}/${bad}`, { token: owner.token }), 404);
    }
  });

  it('paginates with Link and filters by content', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const url = `${r.api}/releases/${rel.id}/reactions`;
    const contents = ['+1', 'laugh', 'heart', 'hooray', 'rocket', 'eyes'];
    for (const user of [owner, reader, pusher]) {
      for (const content of contents) expect((await req('POST', url, { token: user.token, body: { content } })).status).toBe(201);
    }
    const page1 = await req('GET', `${url}?per_page=4`, {});
    expect(page1.body).toHaveLength(4);
    const link = page1.headers.get('link')!;
    expect(link).toContain(`<${url}?per_page=4&page=2>; rel="next"`);
    expect(link).toContain(`<${url}?per_page=4&page=5>; rel="last"`);
    const seen: number[] = [];
    for (let page = 1; page <= 5; page += 1) {
      const res = await req('GET', `${url}?per_page=4&page=${page}`, {});
      seen.push(...res.body.map((x: any) => x.id));
    }
    expect(seen).toHaveLength(18);
    expect(new Set(seen).size).toBe(18);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect((await req('GET', `${url}?per_page=4&page=6`, {})).body).toEqual([]);

    const hearts = await req('GET', `${url}?content=heart&per_page=2`, {});
    expect(hearts.body.map((x: any) => x.content)).toEqual(['heart', 'heart']);
    expect(hearts.headers.get('link')).toContain(`<${url}?content=heart&per_page=2&page=2>; rel="next"`);
    expect((await req('GET', `${url}?content=heart&page=2&per_page=2`, {})).body.map((x: any) => x.user.login)).toEqual([pusher.login]);
    expect((await req('GET', `${r.api}/releases/${rel.id}`, {})).body.reactions).toEqual({
      url,
      ...zeros,
      total_count: 18,
      '+1': 3,
      laugh: 3,
      heart: 3,
      hooray: 3,
      rocket: 3,
      eyes: 3,
    });
  });

  it('puts the rollup on every release of a list page', async () => {
    const r = await seededRepo();
    const a = await release(r.api, { tag_name: 'a' });
    const b = await release(r.api, { tag_name: 'b' });
    await release(r.api, { tag_name: 'c' });
    for (const [id, content] of [
      [a.id, 'eyes'],
      [a.id, 'laugh'],
      [b.id, 'hooray'],
    ] as const) {
      expect((await req('POST', `${r.api}/releases/${id}/reactions`, { token: reader.token, body: { content } })).status).toBe(201);
    }
    const list = await req('GET', `${r.api}/releases`, {});
    const byTag = Object.fromEntries(list.body.map((x: any) => [x.tag_name, x.reactions]));
    expect(byTag.a).toEqual({ url: `${r.api}/releases/${a.id}/reactions`, ...zeros, total_count: 2, eyes: 1, laugh: 1 });
    expect(byTag.b).toMatchObject({ total_count: 1, hooray: 1 });
    expect(byTag.c).toMatchObject(zeros);
    const html = await req('GET', `${r.api}/releases`, { headers: { accept: 'application/vnd.github.full+json' } });
    expect(html.body.find((x: any) => x.tag_name === 'a').reactions.total_count).toBe(2);
  });

  it('counts the reactions of a whole list page in one query', async () => {
    const r = await seededRepo();
    const ids: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const rel = await release(r.api, { tag_name: `q${i}` });
      ids.push(rel.id);
      expect((await req('POST', `${r.api}/releases/${rel.id}/reactions`, { token: reader.token, body: { content: 'heart' } })).status).toBe(201);
    }
    const ctx = server.wharf.ctx;
    const seen: string[] = [];
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        seen.push(JSON.stringify(args.node));
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const access = await getRepoAccess(ctx, null, owner.login, r.name);
    const rows = await ctx.db.selectFrom('releases').selectAll().where('id', 'in', ids).execute();
    const urls = { web: server.base, api: server.api, uploads: server.uploads, graphql: `${server.base}/api/graphql` };
    const counted = { ...ctx, db: ctx.db.withPlugin(counting) };
    const json = releasesJson(access, rows, await loadReleaseDetails(counted, rows, { reactions: true }), urls);
    expect(json.map((x) => x.reactions.heart)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(seen.filter((q) => q.includes('release_reactions'))).toHaveLength(1);
    expect(seen.length).toBeLessThanOrEqual(3);

    // Releases nobody reacted to cost no reactions query at all, and still carry the zeros.
    const quiet = await release(r.api, { tag_name: 'quiet' });
    seen.length = 0;
    const [row] = await ctx.db.selectFrom('releases').selectAll().where('id', '=', quiet.id).execute();
    const [quietJson] = releasesJson(access, [row!], await loadReleaseDetails(counted, [row!], { reactions: true }), urls);
    expect(quietJson!.reactions.total_count).toBe(0);
    expect(seen.filter((q) => q.includes('release_reactions'))).toHaveLength(0);
  });

  it('a reaction changes the release representation: If-Modified-Since does not answer 304', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const first = await req('GET', `${r.api}/releases/${rel.id}`, {});
    const since = first.headers.get('last-modified')!;
    expect((await req('GET', `${r.api}/releases/${rel.id}`, { headers: { 'if-modified-since': since } })).status).toBe(304);
    // Last-Modified has one-second resolution: react in a later second than the copy we hold.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const created = await req('POST', `${r.api}/releases/${rel.id}/reactions`, { token: reader.token, body: { content: 'eyes' } });
    const fresh = await req('GET', `${r.api}/releases/${rel.id}`, { headers: { 'if-modified-since': since } });
    expect(fresh.status).toBe(200);
    expect(fresh.body.reactions.eyes).toBe(1);
    expect(fresh.body.updated_at).toBe(rel.updated_at);
    const since2 = fresh.headers.get('last-modified')!;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The same reaction again changes nothing, so neither does Last-Modified.
    expect((await req('POST', `${r.api}/releases/${rel.id}/reactions`, { token: reader.token, body: { content: 'eyes' } })).status).toBe(200);
    expect((await req('GET', `${r.api}/releases/${rel.id}`, { headers: { 'if-modified-since': since2 } })).status).toBe(304);
    expect((await req('DELETE', `${r.api}/releases/${rel.id}/reactions/${created.body.id}`, { token: reader.token })).status).toBe(204);
    const gone = await req('GET', `${r.api}/releases/${rel.id}`, { headers: { 'if-modified-since': since2 } });
    expect(gone.status).toBe(200);
    expect(gone.body.reactions.total_count).toBe(0);
    expect(gone.body.updated_at).toBe(rel.updated_at);
    // Deleting it again finds nothing and changes nothing: a 404, and Last-Modified stays.
    const since3 = gone.headers.get('last-modified')!;
    expect(Date.parse(since3)).toBeGreaterThan(Date.parse(since2));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expectGitHubError(await req('DELETE', `${r.api}/releases/${rel.id}/reactions/${created.body.id}`, { token: reader.token }), 404);
    const still = await req('GET', `${r.api}/releases/${rel.id}`, {});
    expect(still.headers.get('last-modified')).toBe(since3);
    expect(still.body.reactions).toEqual({ ...zeros, url: expect.any(String) });
  });

  it('deletes for the author or a repository admin only; anonymous writes are 401', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const other = await release(r.api, { tag_name: 'v2' });
    const url = `${r.api}/releases/${rel.id}/reactions`;
    const mine = (await req('POST', url, { token: reader.token, body: { content: 'laugh' } })).body;
    const pushers = (await req('POST', url, { token: pusher.token, body: { content: 'laugh' } })).body;

    // Neither another reader nor a pusher may delete someone else's reaction; nor through another release.
    expectGitHubError(await req('DELETE', `${url}/${mine.id}`, { token: pusher.token }), 404);
    expectGitHubError(await req('DELETE', `${url}/${mine.id}`, { token: stranger.token }), 404);
    expectGitHubError(await req('DELETE', `${r.api}/releases/${other.id}/reactions/${mine.id}`, { token: reader.token }), 404);
    expectGitHubError(await req('DELETE', `${url}/${mine.id}`, {}), 401);
    expectGitHubError(await req('POST', url, { body: { content: 'heart' } }), 401);
    expect((await req('GET', url, {})).body).toHaveLength(2);

    expect((await req('DELETE', `${url}/${mine.id}`, { token: reader.token })).status).toBe(204);
    // The owner is an admin of the repository.
    expect((await req('DELETE', `${url}/${pushers.id}`, { token: owner.token })).status).toBe(204);
    expect((await req('GET', url, {})).body).toEqual([]);

    // Anyone signed in who can read a public repository may react; a token without a writing scope may not.
    expect((await req('POST', url, { token: stranger.token, body: { content: 'hooray' } })).status).toBe(201);
    const publicOnly = await createUser(server, uniqueName('pub'), ['public_repo']);
    expect((await req('POST', url, { token: publicOnly.token, body: { content: 'hooray' } })).status).toBe(201);
    const noScope = await createUser(server, uniqueName('nos'), []);
    expectGitHubError(await req('POST', url, { token: noScope.token, body: { content: 'hooray' } }), 403);
    expect((await req('GET', url, { token: noScope.token })).status).toBe(200);
  });

  it('hides private repositories and drafts exactly as the release itself', async () => {
    const r = await seededRepo({ private: true });
    const rel = await release(r.api, { tag_name: 'v1' });
    const url = `${r.api}/releases/${rel.id}/reactions`;
    const own = (await req('POST', url, { token: reader.token, body: { content: 'eyes' } })).body;
    expect(own.content).toBe('eyes');
    for (const token of [undefined, stranger.token, 'wharf_bogus']) {
      const status = token === 'wharf_bogus' ? 401 : 404;
      expectGitHubError(await req('GET', url, { token }), status);
      expectGitHubError(await req('POST', url, { token, body: { content: 'eyes' } }), status);
      expectGitHubError(await req('DELETE', `${url}/${own.id}`, { token }), status);
    }
    // A public_repo token does not reach a private repository at all.
    const publicOnly = await createUser(server, uniqueName('pub'), ['public_repo']);
    await addCollaborator(server, owner, r.name, publicOnly, 'pull');
    expectGitHubError(await req('POST', url, { token: publicOnly.token, body: { content: 'eyes' } }), 404);
    expect((await req('GET', url, { token: reader.token })).body.map((x: any) => x.id)).toEqual([own.id]);

    const draft = await release(r.api, { tag_name: 'v2', draft: true });
    const durl = `${r.api}/releases/${draft.id}/reactions`;
    expect(draft.reactions).toEqual({ url: durl, ...zeros });
    expectGitHubError(await req('GET', durl, { token: reader.token }), 404);
    expectGitHubError(await req('POST', durl, { token: reader.token, body: { content: 'eyes' } }), 404);
    const pushed = await req('POST', durl, { token: pusher.token, body: { content: 'eyes' } });
    expect(pushed.status).toBe(201);
    expectGitHubError(await req('DELETE', `${durl}/${pushed.body.id}`, { token: reader.token }), 404);
    expect((await req('GET', durl, { token: pusher.token })).body).toHaveLength(1);

    // Deleting the release takes its reactions with it.
    expect((await req('DELETE', `${r.api}/releases/${draft.id}`, { token: owner.token })).status).toBe(204);
    expectGitHubError(await req('GET', durl, { token: owner.token }), 404);
  });

  it('immutable releases still accept reactions', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    await server.wharf.ctx.db.updateTable('releases').set({ immutable: 1 }).where('id', '=', rel.id).execute();
    const res = await req('POST', `${r.api}/releases/${rel.id}/reactions`, { token: reader.token, body: { content: 'rocket' } });
    expect(res.status).toBe(201);
    const after = await req('GET', `${r.api}/releases/${rel.id}`, {});
    expect(after.body).toMatchObject({ immutable: true, reactions: { rocket: 1, total_count: 1 } });
    expect((await req('DELETE', `${r.api}/releases/${rel.id}/reactions/${res.body.id}`, { token: reader.token })).status).toBe(204);
  });

  it('10 concurrent identical reactions by one user: exactly one 201, the rest 200 with the same object', async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const url = `${r.api}/releases/${rel.id}/reactions`;
    for (const user of [reader, pusher]) {
      const results = await Promise.all(Array.from({ length: 10 }, () => req('POST', url, { token: user.token, body: { content: 'hooray' } })));
      const statuses = results.map((x) => x.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(results.map((x) => JSON.stringify(x.body))).size).toBe(1);
    }
    const rows = await server.wharf.ctx.db.selectFrom('release_reactions').selectAll().where('release_id', '=', rel.id).execute();
    expect(rows).toHaveLength(2);
    expect((await req('GET', `${r.api}/releases/${rel.id}`, {})).body.reactions).toMatchObject({ total_count: 2, hooray: 2 });
  });

  it("works through Octokit's reactions methods, unmodified", async () => {
    const r = await seededRepo();
    const rel = await release(r.api, { tag_name: 'v1' });
    const [o, repo] = r.full.split('/') as [string, string];
    const octokit = new Octokit({ auth: reader.token, baseUrl: server.api });
    const created = await octokit.rest.reactions.createForRelease({ owner: o, repo, release_id: rel.id, content: 'rocket' });
    expect(created.status).toBe(201);
    expect(created.data.content).toBe('rocket');
    const repeat = await octokit.rest.reactions.createForRelease({ owner: o, repo, release_id: rel.id, content: 'rocket' });
    expect(repeat.status).toBe(200);
    expect(repeat.data.id).toBe(created.data.id);
    await octokit.rest.reactions.createForRelease({ owner: o, repo, release_id: rel.id, content: 'eyes' });
    const listed = await octokit.rest.reactions.listForRelease({ owner: o, repo, release_id: rel.id, content: 'rocket' });
    expect(listed.data.map((x) => x.id)).toEqual([created.data.id]);
    const all = await octokit.paginate(octokit.rest.reactions.listForRelease, { owner: o, repo, release_id: rel.id, per_page: 1 });
    expect(all.map((x) => x.content)).toEqual(['rocket', 'eyes']);
    const deleted = await octokit.rest.reactions.deleteForRelease({ owner: o, repo, release_id: rel.id, reaction_id: created.data.id });
    expect(deleted.status).toBe(204);
    const got = await octokit.rest.repos.getRelease({ owner: o, repo, release_id: rel.id });
    expect(got.data.reactions).toMatchObject({ total_count: 1, eyes: 1, rocket: 0 });
    requests += 7;
  });
});
