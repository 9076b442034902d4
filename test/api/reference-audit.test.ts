/**
 * Details of the Releases API reference a GitHub client notices, checked section by section
 * against a real server: headers on every answer, conditional requests with either validator,
 * the upload host's 201, and error shapes on paths no route serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: TestUser;
let reader: TestUser;
let repo: { full: string; api: string; uploads: string };

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('own'));
  reader = await createUser(server, uniqueName('read'));
  const { name, full } = await createRepo(server, owner, {});
  const work = await WorkRepo.create();
  await work.commit('first', { date: '2024-01-01T10:00:00Z' });
  await work.push(server, full, owner.token, 'main');
  await addCollaborator(server, owner, name, reader, 'pull');
  repo = { full, api: `${server.api}/repos/${full}`, uploads: `${server.uploads}/repos/${full}` };
});
afterAll(() => server.close());

async function upload(releaseId: number, name: string, bytes: string) {
  return call('POST', `${repo.uploads}/releases/${releaseId}/assets?name=${encodeURIComponent(name)}`, {
    token: owner.token,
    raw: bytes,
    headers: { 'content-type': 'text/plain' },
  });
}

describe('§1.10 conditional requests', () => {
  it('answers If-Modified-Since with 304 on single objects, and sees asset changes in the release', async () => {
    const created = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'ims-1' } });
    expect(created.status).toBe(201);
    const url = `${repo.api}/releases/${created.body.id}`;
    const first = await call('GET', url, { token: owner.token });
    const lastModified = first.headers.get('last-modified')!;
    expect(lastModified).toMatch(/ GMT$/);

    const same = await call('GET', url, { token: owner.token, headers: { 'if-modified-since': lastModified } });
    expect(same.status).toBe(304);
    expect(same.text).toBe('');
    expect(same.headers.get('etag')).toBe(first.headers.get('etag'));
    // Older copy: the full answer. A validator that does not parse is ignored.
    const older = new Date(Date.parse(lastModified) - 1000).toUTCString();
    expect((await call('GET', url, { token: owner.token, headers: { 'if-modified-since': older } })).status).toBe(200);
    expect((await call('GET', url, { token: owner.token, headers: { 'if-modified-since': 'yesterday' } })).status).toBe(200);
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3): a stale ETag gets the body.
    const both = await call('GET', url, { token: owner.token, headers: { 'if-modified-since': lastModified, 'if-none-match': '"stale"' } });
    expect(both.status).toBe(200);
    // Lists carry no Last-Modified, so If-Modified-Since alone never makes them 304.
    expect((await call('GET', `${repo.api}/releases`, { token: owner.token, headers: { 'if-modified-since': new Date(Date.now() + 3600_000).toUTCString() } })).status).toBe(200);

    // An upload changes the release's representation (its embedded assets) without touching the
    // release row; a client revalidating with the date must not be told nothing changed.
    await new Promise((r) => setTimeout(r, 1100));
    const up = await upload(created.body.id, 'a.txt', 'hello');
    expect(up.status).toBe(201);
    const afterUpload = await call('GET', url, { token: owner.token, headers: { 'if-modified-since': lastModified } });
    expect(afterUpload.status).toBe(200);
    expect(afterUpload.body.assets).toHaveLength(1);
    const lastModified2 = afterUpload.headers.get('last-modified')!;
    expect(Date.parse(lastModified2)).toBeGreaterThan(Date.parse(lastModified));

    // So does deleting that asset.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call('DELETE', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token })).status).toBe(204);
    const afterDelete = await call('GET', url, { token: owner.token, headers: { 'if-modified-since': lastModified2 } });
    expect(afterDelete.status).toBe(200);
    expect(afterDelete.body.assets).toEqual([]);

    // The same validator works on the asset object and on get-by-tag and latest.
    const up2 = await upload(created.body.id, 'b.txt', 'hello');
    const assetUrl = `${repo.api}/releases/assets/${up2.body.id}`;
    const asset = await call('GET', assetUrl, { token: owner.token });
    expect((await call('GET', assetUrl, { token: owner.token, headers: { 'if-modified-since': asset.headers.get('last-modified')! } })).status).toBe(304);
    for (const path of ['releases/tags/ims-1', 'releases/latest']) {
      const one = await call('GET', `${repo.api}/${path}`, { token: owner.token });
      expect((await call('GET', `${repo.api}/${path}`, { token: owner.token, headers: { 'if-modified-since': one.headers.get('last-modified')! } })).status).toBe(304);
    }
  });
});

describe('§3.10.2 upload response headers', () => {
  it('answers 201 with a weak ETag, Last-Modified and no-cache, and no Location', async () => {
    const created = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'up-1', draft: true } });
    const up = await upload(created.body.id, 'x.txt', 'bytes');
    expect(up.status).toBe(201);
    expect(up.headers.get('etag')).toMatch(/^W\/"[0-9a-f]{32}"$/);
    expect(up.headers.get('last-modified')).toBe(new Date(up.body.updated_at).toUTCString());
    expect(up.headers.get('cache-control')).toBe('no-cache');
    expect(up.headers.get('location')).toBeNull();
    expect(up.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });
});

describe('§1.3 / §1.7 headers on release routes', () => {
  it('sends X-Accepted-OAuth-Scopes: repo on every release and asset route, errors included', async () => {
    const created = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'scopes-1' } });
    const up = await upload(created.body.id, 's.txt', 'bytes');
    const id = created.body.id;
    const answers = [
      created,
      await call('GET', `${repo.api}/releases`, { token: owner.token }),
      await call('GET', `${repo.api}/releases/${id}`, { token: owner.token }),
      await call('GET', `${repo.api}/releases/${id}/assets`, { token: owner.token }),
      await call('GET', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token }),
      await call('PATCH', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token, body: { label: 'l' } }),
      await call('POST', `${repo.api}/releases/generate-notes`, { token: owner.token, body: { tag_name: 'scopes-2' } }),
      await call('PATCH', `${repo.api}/releases/${id}`, { token: reader.token, body: { name: 'no' } }),
      await call('GET', `${repo.api}/releases/999999`, { token: owner.token }),
      await call('DELETE', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token }),
    ];
    expect(answers.map((a) => a.status)).toEqual([201, 200, 200, 200, 200, 200, 200, 403, 404, 204]);
    for (const a of answers) expect(a.headers.get('x-accepted-oauth-scopes')).toBe('repo');
    // Routes that are not about repositories accept any token.
    expect((await call('GET', `${server.api}/user`, { token: owner.token })).headers.get('x-accepted-oauth-scopes')).toBe('');
  });

  it('answers paths no route serves (trailing slash, unsupported method) with the API headers', async () => {
    const created = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'nf-1' } });
    for (const [method, url] of [
      ['GET', `${repo.api}/releases/${created.body.id}/`],
      ['PUT', `${repo.api}/releases/${created.body.id}`],
      ['POST', `${repo.api}/releases/latest`],
    ] as const) {
      const res = await call(method, url, { token: owner.token, body: method === 'GET' ? undefined : {} });
      expectGitHubError(res, 404, 'Not Found');
      expect(res.body.status).toBe('404');
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('x-github-request-id')).toMatch(/^[0-9A-F]{4}:/);
      expect(res.headers.get('x-github-media-type')).toBe('github.v3; format=json');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
    // Bad credentials are still 401 there, as everywhere on the API.
    expectGitHubError(await call('GET', `${repo.api}/releases/${created.body.id}/`, { token: 'not-a-token' }), 401, 'Bad credentials');
  });
});

describe('§1.5 documentation_url of validation failures', () => {
  it('links a 422 to the endpoint’s anchor and other errors to the generic page', async () => {
    const docs = 'https://docs.github.com/enterprise-server@3.19/rest';
    const created = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'docs-1' } });
    const up = await upload(created.body.id, 'd.txt', 'bytes');
    await upload(created.body.id, 'e.txt', 'bytes');
    const cases: Array<[string, Promise<any>, string]> = [
      ['create: already_exists', call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'docs-1' } }), 'releases/releases#create-a-release'],
      ['create: Invalid request.', call('POST', `${repo.api}/releases`, { token: owner.token, body: { name: 'no tag' } }), 'releases/releases#create-a-release'],
      [
        'update: latest on prerelease',
        call('PATCH', `${repo.api}/releases/${created.body.id}`, { token: owner.token, body: { prerelease: true, make_latest: 'true' } }),
        'releases/releases#update-a-release',
      ],
      [
        'rename onto a taken name',
        call('PATCH', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token, body: { name: 'e.txt' } }),
        'releases/assets#update-a-release-asset',
      ],
      [
        'generate-notes: no tag',
        call('POST', `${repo.api}/releases/generate-notes`, { token: owner.token, body: {} }),
        'releases/releases#generate-release-notes-content-for-a-release',
      ],
    ];
    for (const [what, pending, anchor] of cases) {
      const body = expectGitHubError(await pending, 422);
      expect(body.documentation_url, what).toBe(`${docs}/${anchor}`);
    }
    // 404, 403 and 400 keep the generic page.
    expect(expectGitHubError(await call('PATCH', `${repo.api}/releases/999999`, { token: owner.token, body: {} }), 404).documentation_url).toBe(docs);
    expect(expectGitHubError(await call('PATCH', `${repo.api}/releases/${created.body.id}`, { token: reader.token, body: {} }), 403).documentation_url).toBe(docs);
    expect(
      expectGitHubError(await call('POST', `${repo.api}/releases`, { token: owner.token, raw: '{', headers: { 'content-type': 'application/json' } }), 400).documentation_url,
    ).toBe(docs);
    // The upload host keeps its own generic link (recorded on uploads.github.com).
    expect(expectGitHubError(await upload(created.body.id, 'd.txt', 'again'), 422).documentation_url).toBe('https://docs.github.com/rest');
  });
});

describe('§7 open questions: the answers Wharf chose (docs/releases.md, docs/assets.md)', () => {
  it('pins name/body null, draft archive URLs, paging bounds and PATCH state', async () => {
    const draft = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'open-q', draft: true } });
    expect(draft.body).toMatchObject({ name: null, body: null, tarball_url: `${repo.api}/tarball/open-q`, zipball_url: `${repo.api}/zipball/open-q` });
    // The rollup is always there, with zeros, on drafts too.
    expect(draft.body.reactions).toEqual({
      url: `${repo.api}/releases/${draft.body.id}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    });
    expect(draft.body).not.toHaveProperty('discussion_url');
    const empty = await call('POST', `${repo.api}/releases`, { token: owner.token, body: { tag_name: 'open-q2', name: '', body: '' } });
    expect(empty.body).toMatchObject({ name: '', body: '' });

    const all = await call('GET', `${repo.api}/releases?per_page=100`, { token: owner.token });
    for (const query of ['per_page=0', 'per_page=abc', 'per_page=-5&page=0']) {
      const res = await call('GET', `${repo.api}/releases?${query}`, { token: owner.token });
      expect(
        res.body.map((r: any) => r.id),
        query,
      ).toEqual(all.body.slice(0, 30).map((r: any) => r.id));
    }
    const beyond = await call('GET', `${repo.api}/releases?per_page=1&page=9999&x=1`, { token: owner.token });
    expect(beyond.body).toEqual([]);
    expect(beyond.headers.get('link')).toMatch(/per_page=1&x=1&page=\d+>; rel="prev", <[^>]*page=1>; rel="first"$/);

    const up = await upload(draft.body.id, 'state.txt', 'bytes');
    const ok = await call('PATCH', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token, body: { state: 'uploaded', label: null } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ state: 'uploaded', label: null });
    const bad = expectGitHubError(await call('PATCH', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token, body: { state: 'open' } }), 422, 'Validation Failed');
    expect(bad.errors).toEqual([{ resource: 'ReleaseAsset', field: 'state', code: 'invalid' }]);
    const noName = expectGitHubError(await call('PATCH', `${repo.api}/releases/assets/${up.body.id}`, { token: owner.token, body: { name: '' } }), 422, 'Validation Failed');
    expect(noName.errors).toEqual([{ resource: 'ReleaseAsset', field: 'name', code: 'missing_field' }]);
  });
});
