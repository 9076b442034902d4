import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: TestUser;
let reader: TestUser;
let pusher: TestUser;
let stranger: TestUser;

/** A repository with two commits on main at fixed dates, pushed over smart HTTP. */
async function seededRepo(options: { private?: boolean } = {}) {
  const { name, full } = await createRepo(server, owner, { private: options.private ?? false });
  const work = await WorkRepo.create();
  const first = await work.commit('first', { date: '2024-01-01T10:00:00Z' });
  const second = await work.commit('second', { date: '2024-02-01T10:00:00Z' });
  await work.push(server, full, owner.token, 'main');
  await addCollaborator(server, owner, name, reader, 'pull');
  await addCollaborator(server, owner, name, pusher, 'push');
  return { name, full, work, first, second, api: `${server.api}/repos/${full}` };
}

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('own'));
  reader = await createUser(server, uniqueName('read'));
  pusher = await createUser(server, uniqueName('push'));
  stranger = await createUser(server, uniqueName('str'));
});
afterAll(() => server.close());

describe('creating releases', () => {
  it('publishes on a new lightweight tag at the default branch with GitHub fields', async () => {
    const r = await seededRepo();
    const res = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0', name: 'One', body: 'Hello @' + reader.login } });
    expect(res.status).toBe(201);
    const rel = res.body;
    expect(res.headers.get('location')).toBe(`${r.api}/releases/${rel.id}`);
    expect(rel).toMatchObject({
      tag_name: 'v1.0.0',
      target_commitish: 'main',
      name: 'One',
      draft: false,
      prerelease: false,
      immutable: false,
      created_at: '2024-02-01T10:00:00Z',
      url: `${r.api}/releases/${rel.id}`,
      html_url: `${server.base}/${r.full}/releases/tag/v1.0.0`,
      assets_url: `${r.api}/releases/${rel.id}/assets`,
      upload_url: `${server.uploads}/repos/${r.full}/releases/${rel.id}/assets{?name,label}`,
      tarball_url: `${r.api}/tarball/v1.0.0`,
      zipball_url: `${r.api}/zipball/v1.0.0`,
      assets: [],
      mentions_count: 1,
    });
    expect(rel.author.login).toBe(owner.login);
    expect(Date.parse(rel.published_at)).toBeGreaterThan(Date.now() - 60_000);
    const ref = await call('GET', `${r.api}/git/ref/tags/v1.0.0`, {});
    expect(ref.body.object).toMatchObject({ type: 'commit', sha: r.second });
    const tarball = await fetch(rel.tarball_url);
    expect(tarball.status).toBe(200);
  });

  it('creates the tag at a given branch, tag or full SHA, and refuses targets that name nothing', async () => {
    const r = await seededRepo();
    const bySha = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'at-sha', target_commitish: r.first } });
    expect(bySha.status).toBe(201);
    expect(bySha.body.created_at).toBe('2024-01-01T10:00:00Z');
    expect((await call('GET', `${r.api}/git/ref/tags/at-sha`, {})).body.object.sha).toBe(r.first);
    const byTag = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'from-tag', target_commitish: 'at-sha' } });
    expect((await call('GET', `${r.api}/git/ref/tags/from-tag`, {})).body.object.sha).toBe(r.first);
    expect(byTag.status).toBe(201);
    for (const target of [r.first.slice(0, 7), 'HEAD', 'no-such-branch', 'refs/tags/at-sha']) {
      const bad = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: `t-${Math.random()}`.replace('.', ''), target_commitish: target } });
      expect(expectGitHubError(bad, 422, 'Validation Failed').errors).toEqual([{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]);
    }
    // An existing tag wins over target_commitish, and hub's empty target means the default branch.
    const existing = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'at-sha-2', target_commitish: '' } });
    expect(existing.body.target_commitish).toBe('main');
    const tags = await call('GET', `${r.api}/tags`, {});
    expect(tags.body.map((t: { name: string }) => t.name).sort()).toEqual(['at-sha', 'at-sha-2', 'from-tag']);
  });

  it('gives one published release per tag while drafts share tags freely', async () => {
    const r = await seededRepo();
    expect((await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v2' } })).status).toBe(201);
    const dup = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v2' } });
    expect(expectGitHubError(dup, 422, 'Validation Failed').errors).toEqual([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
    const d1 = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v3', draft: true } });
    const d2 = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v3', draft: true } });
    expect(d1.status).toBe(201);
    expect(d2.status).toBe(201);
    expect(d1.body.html_url).toMatch(new RegExp(`/releases/tag/untagged-[0-9a-f]{20}$`));
    expect(d1.body.published_at).toBeNull();
    expect(d1.body.tag_name).toBe('v3');
    expectGitHubError(await call('GET', `${r.api}/git/ref/tags/v3`, {}), 404);
    expectGitHubError(await call('GET', `${r.api}/releases/tags/v3`, { token: owner.token }), 404);
    const head = await fetch(`${r.api}/releases/tags/v3`, { method: 'HEAD', headers: { authorization: `token ${owner.token}` } });
    expect(head.status).toBe(404);
  });

  it('gives exactly one 201 to twenty concurrent creates of one tag', async () => {
    const r = await seededRepo();
    const results = await Promise.all(Array.from({ length: 20 }, () => call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'race' } })));
    const statuses = results.map((x) => x.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 422)).toHaveLength(19);
    const list = await call('GET', `${r.api}/releases`, { token: owner.token });
    expect(list.body).toHaveLength(1);
  });

  it('rejects bad input with GitHub errors and changes nothing', async () => {
    const r = await seededRepo();
    const post = (body: unknown) => call('POST', `${r.api}/releases`, { token: owner.token, body });
    expectGitHubError(await post({}), 422, 'Invalid request.\n\n"tag_name" wasn\'t supplied.');
    expectGitHubError(await post({ tag_name: 5 }), 422, /^Invalid request\.\n\nFor 'properties\/tag_name'/);
    expectGitHubError(await post({ tag_name: 'x', draft: 'yes' }), 422, /properties\/draft/);
    expectGitHubError(await post({ tag_name: 'x', make_latest: true }), 422, "Invalid request.\n\nFor 'properties/make_latest', true is not a string.");
    expectGitHubError(await post({ tag_name: 'x', make_latest: 'maybe' }), 422, /make_latest/);
    for (const tag of ['bad..tag', 'has space', 'ends.lock', '-x', 'a'.repeat(40).replace(/a/g, 'f')]) {
      const res = await post({ tag_name: tag });
      const body = expectGitHubError(res, 422, 'Validation Failed');
      expect(body.errors).toContainEqual({ resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name is not a valid tag' });
      expect(body.errors).toContainEqual({ resource: 'Release', code: 'custom', message: 'Published releases must have a valid tag' });
    }
    const long = await post({ tag_name: 'long', body: 'x'.repeat(125_001) });
    expect(expectGitHubError(long, 422).errors[0]).toMatchObject({ field: 'body', code: 'custom', message: 'body is too long (maximum is 125000 characters)' });
    const latestPre = await post({ tag_name: 'pre', prerelease: true, make_latest: 'true' });
    expect(expectGitHubError(latestPre, 422).errors[0]).toMatchObject({ code: 'custom', message: 'Latest release cannot be draft or prerelease.' });
    expectGitHubError(
      await call('POST', `${r.api}/releases`, { token: owner.token, raw: '{"tag_name":', headers: { 'content-type': 'application/json' } }),
      400,
      'Problems parsing JSON',
    );
    expectGitHubError(await call('POST', `${r.api}/releases`, { token: owner.token, raw: '"v1"', headers: { 'content-type': 'application/json' } }), 400);
    expect((await call('GET', `${r.api}/releases`, { token: owner.token })).body).toEqual([]);
    expect((await call('GET', `${r.api}/tags`, {})).body).toEqual([]);
    // hub serialises the whole release struct; read-only members are ignored.
    const hub = await post({
      name: 'Hub',
      tag_name: 'hub',
      target_commitish: '',
      body: 'b',
      draft: false,
      prerelease: false,
      assets: null,
      tarball_url: '',
      zipball_url: '',
      html_url: '',
      upload_url: '',
      url: '',
      created_at: '0001-01-01T00:00:00Z',
      published_at: '0001-01-01T00:00:00Z',
    });
    expect(hub.status).toBe(201);
    expect(hub.body.created_at).toBe('2024-02-01T10:00:00Z');
  });
});

describe('reading releases', () => {
  it('lists newest first with drafts only for pushers, paginated with Link', async () => {
    const r = await seededRepo();
    const ids: number[] = [];
    for (const [i, target] of [r.first, r.second, r.second].entries()) {
      const res = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: `v0.${i}`, target_commitish: target } });
      ids.push(res.body.id);
    }
    const draft = await call('POST', `${r.api}/releases`, { token: pusher.token, body: { tag_name: 'v9', draft: true } });
    const mine = await call('GET', `${r.api}/releases`, { token: pusher.token });
    expect(mine.body.map((x: { id: number }) => x.id)).toEqual([draft.body.id, ids[2], ids[1], ids[0]]);
    for (const token of [null, reader.token]) {
      const theirs = await call('GET', `${r.api}/releases`, { token });
      expect(theirs.body.map((x: { id: number }) => x.id)).toEqual([ids[2], ids[1], ids[0]]);
      expectGitHubError(await call('GET', `${r.api}/releases/${draft.body.id}`, { token }), 404);
    }
    const page = await call('GET', `${r.api}/releases?per_page=2&page=2`, { token: pusher.token });
    expect(page.body.map((x: { id: number }) => x.id)).toEqual([ids[1], ids[0]]);
    expect(page.headers.get('link')).toBe(`<${r.api}/releases?per_page=2&page=1>; rel="prev", <${r.api}/releases?per_page=2&page=1>; rel="first"`);
    expect((await call('GET', `${r.api}/releases?per_page=1`, {})).headers.get('link')).toBe(
      `<${r.api}/releases?per_page=1&page=2>; rel="next", <${r.api}/releases?per_page=1&page=3>; rel="last"`,
    );
    const byTag = await call('GET', `${r.api}/releases/tags/v0.1`, {});
    expect(byTag.body.id).toBe(ids[1]);
    expect(byTag.headers.get('etag')).toBeTruthy();
    expectGitHubError(await call('GET', `${r.api}/releases/abc`, {}), 404);
    expectGitHubError(await call('GET', `${r.api}/releases/999999`, {}), 404);
  });

  it('finds tags containing a slash whether the slash is raw or escaped', async () => {
    const r = await seededRepo();
    const created = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'release/1.0+b' } });
    expect(created.body.html_url).toBe(`${server.base}/${r.full}/releases/tag/release/1.0%2Bb`);
    expect((await call('GET', `${r.api}/releases/tags/release/1.0%2Bb`, {})).body.id).toBe(created.body.id);
    expect((await call('GET', `${r.api}/releases/tags/release%2F1.0%2Bb`, {})).body.id).toBe(created.body.id);
    const head = await fetch(`${r.api}/releases/tags/release%2F1.0%2Bb`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('renders body_html and body_text on request, sanitized', async () => {
    const r = await seededRepo();
    const body = '# Notes\n\n**bold** <script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))';
    const created = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'md', body } });
    const html = await call('GET', `${r.api}/releases/${created.body.id}`, { headers: { accept: 'application/vnd.github.html+json' } });
    expect(html.body.body).toBeUndefined();
    expect(html.body.body_html).toContain('<strong>bold</strong>');
    expect(html.body.body_html).not.toMatch(/<script|onerror|href="javascript:/i);
    expect(html.headers.get('x-github-media-type')).toBe('github.v3; param=html; format=json');
    const full = await call('GET', `${r.api}/releases/${created.body.id}`, { headers: { accept: 'application/vnd.github.full+json' } });
    expect(full.body.body).toBe(body);
    expect(full.body.body_text).toContain('bold');
    expect(full.body.body_text).not.toContain('<');
    const text = await call('GET', `${r.api}/releases/${created.body.id}`, { headers: { accept: 'application/vnd.github.v3.text+json' } });
    expect(Object.keys(text.body)).not.toContain('body_html');
  });
});

describe('latest', () => {
  it('follows make_latest and falls back to the legacy rule', async () => {
    const r = await seededRepo();
    // GitHub's exact rule (Wharf's default keeps old-line patches from becoming latest: test/api/channels.test.ts).
    await call('PATCH', `${r.api}/releases/rules`, { token: owner.token, body: { latest: 'github' } });
    expectGitHubError(await call('GET', `${r.api}/releases/latest`, {}), 404);
    const old = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v1', target_commitish: r.first } });
    const newer = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v2', target_commitish: r.second } });
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(newer.body.id);
    // A maintenance release published later becomes latest by default, as on GitHub…
    const maint = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v1.1', target_commitish: r.first } });
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(maint.body.id);
    // …unless it says make_latest "false"; "legacy" picks by commit date.
    await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v1.2', target_commitish: r.first, make_latest: 'false' } });
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(maint.body.id);
    await call('PATCH', `${r.api}/releases/${old.body.id}`, { token: owner.token, body: { make_latest: 'legacy' } });
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(newer.body.id);
    await call('PATCH', `${r.api}/releases/${old.body.id}`, { token: owner.token, body: { make_latest: 'true' } });
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(old.body.id);
    // Prereleases and drafts never are latest; deleting the latest hands it on.
    await call('PATCH', `${r.api}/releases/${old.body.id}`, { token: owner.token, body: { prerelease: true } });
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(newer.body.id);
    expect((await call('DELETE', `${r.api}/releases/${newer.body.id}`, { token: owner.token })).status).toBe(204);
    const after = await call('GET', `${r.api}/releases/latest`, {});
    expect(after.body.tag_name).toMatch(/^v1\.[12]$/);
    expect(after.body.tag_name).toBe('v1.2');
  });
});

describe('updating and deleting', () => {
  it('publishes a draft (creating its tag), unpublishes, and moves a release to another tag', async () => {
    const r = await seededRepo();
    const draft = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v5', target_commitish: r.first, draft: true } });
    const untagged = draft.body.html_url;
    // gh publishes with {"draft":false} after re-sending tag_name.
    const pub = await call('PATCH', `${r.api}/releases/${draft.body.id}`, { token: pusher.token, body: { tag_name: 'v5', draft: false } });
    expect(pub.status).toBe(200);
    expect(pub.body.draft).toBe(false);
    expect(pub.body.html_url).toBe(`${server.base}/${r.full}/releases/tag/v5`);
    expect(pub.body.html_url).not.toBe(untagged);
    expect(pub.body.created_at).toBe('2024-01-01T10:00:00Z');
    expect(pub.body.published_at).not.toBeNull();
    expect((await call('GET', `${r.api}/git/ref/tags/v5`, {})).body.object.sha).toBe(r.first);
    expect((await call('GET', `${r.api}/releases/latest`, {})).body.id).toBe(draft.body.id);

    const back = await call('PATCH', `${r.api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: true } });
    expect(back.body.draft).toBe(true);
    expect(back.body.published_at).toBeNull();
    expectGitHubError(await call('GET', `${r.api}/releases/latest`, {}), 404);
    expect((await call('GET', `${r.api}/git/ref/tags/v5`, {})).status).toBe(200);

    const moved = await call('PATCH', `${r.api}/releases/${draft.body.id}`, {
      token: owner.token,
      body: { tag_name: 'v6', target_commitish: 'main', draft: false, name: 'Six', body: 'notes' },
    });
    expect(moved.body).toMatchObject({ tag_name: 'v6', name: 'Six', body: 'notes', draft: false, created_at: '2024-02-01T10:00:00Z' });
    expect((await call('GET', `${r.api}/git/ref/tags/v6`, {})).body.object.sha).toBe(r.second);
    expect(Date.parse(moved.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(pub.body.updated_at));
    const other = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'v7' } });
    const clash = await call('PATCH', `${r.api}/releases/${other.body.id}`, { token: owner.token, body: { tag_name: 'v6' } });
    expect(expectGitHubError(clash, 422).errors[0]).toMatchObject({ code: 'already_exists', field: 'tag_name' });
    expect((await call('GET', `${r.api}/releases/${other.body.id}`, {})).body.tag_name).toBe('v7');
  });

  it('deletes a release but keeps its tag', async () => {
    const r = await seededRepo();
    const rel = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'gone' } });
    expectGitHubError(await call('DELETE', `${r.api}/releases/${rel.body.id}`, { token: reader.token }), 403);
    const del = await call('DELETE', `${r.api}/releases/${rel.body.id}`, { token: owner.token });
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expectGitHubError(await call('GET', `${r.api}/releases/${rel.body.id}`, {}), 404);
    expect((await call('GET', `${r.api}/git/ref/tags/gone`, {})).status).toBe(200);
    expectGitHubError(await call('DELETE', `${r.api}/releases/${rel.body.id}`, { token: owner.token }), 404);
    // The tag is free again for a new release.
    expect((await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'gone' } })).status).toBe(201);
  });

  it('turns a published release back into a draft when its tag is deleted by a push', async () => {
    const r = await seededRepo();
    const rel = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'pushed-away' } });
    await r.work.push(server, r.full, owner.token, ':refs/tags/pushed-away');
    const after = await call('GET', `${r.api}/releases/${rel.body.id}`, { token: owner.token });
    expect(after.body.draft).toBe(true);
    expect(after.body.published_at).toBeNull();
    expectGitHubError(await call('GET', `${r.api}/releases/tags/pushed-away`, {}), 404);
    expectGitHubError(await call('GET', `${r.api}/releases/latest`, {}), 404);
  });
});

describe('authorization', () => {
  it('applies the matrix of callers × repository visibility × endpoints', async () => {
    for (const isPrivate of [false, true]) {
      const r = await seededRepo({ private: isPrivate });
      const pub = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'p' } });
      const draft = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'd', draft: true } });
      const callers: Array<[string, string | null, { read: boolean; push: boolean }]> = [
        ['anonymous', null, { read: !isPrivate, push: false }],
        ['stranger', stranger.token, { read: !isPrivate, push: false }],
        ['reader', reader.token, { read: true, push: false }],
        ['pusher', pusher.token, { read: true, push: true }],
        ['owner', owner.token, { read: true, push: true }],
      ];
      for (const [who, token, can] of callers) {
        const label = `${who} on ${isPrivate ? 'private' : 'public'}`;
        const list = await call('GET', `${r.api}/releases`, { token });
        expect(list.status, label).toBe(can.read ? 200 : 404);
        if (can.read)
          expect(
            list.body.map((x: { id: number }) => x.id).filter((id: number) => id === draft.body.id || id === pub.body.id),
            label,
          ).toEqual(can.push ? [draft.body.id, pub.body.id] : [pub.body.id]);
        expect((await call('GET', `${r.api}/releases/${pub.body.id}`, { token })).status, label).toBe(can.read ? 200 : 404);
        expect((await call('GET', `${r.api}/releases/tags/p`, { token })).status, label).toBe(can.read ? 200 : 404);
        expect((await call('GET', `${r.api}/releases/latest`, { token })).status, label).toBe(can.read ? 200 : 404);
        expect((await call('GET', `${r.api}/releases/${draft.body.id}`, { token })).status, label).toBe(can.push ? 200 : 404);
        const create = await call('POST', `${r.api}/releases`, { token, body: { tag_name: `new-${who}` } });
        const expectedCreate = can.push ? 201 : !can.read ? 404 : token ? 422 : 401;
        expect(create.status, label).toBe(expectedCreate);
        if (expectedCreate === 422) expect(create.body.errors[0]).toMatchObject({ code: 'custom', field: 'author_id' });
        const patchDraft = await call('PATCH', `${r.api}/releases/${draft.body.id}`, { token, body: { name: 'x' } });
        expect(patchDraft.status, label).toBe(can.push ? 200 : 404);
        const patchPub = await call('PATCH', `${r.api}/releases/${pub.body.id}`, { token, body: { name: 'x' } });
        expect(patchPub.status, label).toBe(can.push ? 200 : !can.read ? 404 : token ? 403 : 401);
        const delDraft = await call('DELETE', `${r.api}/releases/${draft.body.id}`, { token });
        expect(delDraft.status, label).toBe(can.push ? 204 : 404);
        if (can.push) {
          const again = await call('POST', `${r.api}/releases`, { token: owner.token, body: { tag_name: 'd', draft: true } });
          draft.body.id = again.body.id;
        }
      }
    }
  });
});

describe('with Octokit', () => {
  it('runs the release workflow with an unmodified client', async () => {
    const r = await seededRepo();
    const octokit = new Octokit({ auth: owner.token, baseUrl: server.api });
    const [o, repo] = r.full.split('/') as [string, string];
    const created = await octokit.rest.repos.createRelease({ owner: o, repo, tag_name: 'v10', name: 'Ten', draft: true });
    expect(created.status).toBe(201);
    const published = await octokit.rest.repos.updateRelease({ owner: o, repo, release_id: created.data.id, draft: false, make_latest: 'true' });
    expect(published.data.draft).toBe(false);
    expect((await octokit.rest.repos.getLatestRelease({ owner: o, repo })).data.id).toBe(created.data.id);
    expect((await octokit.rest.repos.getReleaseByTag({ owner: o, repo, tag: 'v10' })).data.name).toBe('Ten');
    for (let i = 0; i < 5; i++) await octokit.rest.repos.createRelease({ owner: o, repo, tag_name: `bulk-${i}`, draft: true });
    const all = await octokit.paginate(octokit.rest.repos.listReleases, { owner: o, repo, per_page: 2 });
    expect(all).toHaveLength(6);
    await octokit.rest.repos.deleteRelease({ owner: o, repo, release_id: created.data.id });
    await expect(octokit.rest.repos.getRelease({ owner: o, repo, release_id: created.data.id })).rejects.toMatchObject({ status: 404 });
  });
});
