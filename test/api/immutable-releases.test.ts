/**
 * Immutable releases (docs/immutable-releases.md): the repository and organization settings with
 * api.github.com's paths and shapes; releases published while on are `immutable: true`, their
 * assets and tag frozen on every path (REST, refs API, push, force push), title and notes still
 * editable; drafts and releases published before stay mutable; tag names reserved for good, also
 * across release, tag and repository deletion.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { assertDotcomResponse } from '../support/webhook-schemas.ts';

let server: TestServer;
let owner: TestUser;
let writer: TestUser;

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('owner'), ['repo', 'admin:org']);
  writer = await createUser(server);
});
afterAll(async () => {
  await server?.close();
});

async function setting(full: string, token = owner.token) {
  const res = await call('GET', `${server.api}/repos/${full}/immutable-releases`, { token, skipSchema: true });
  if (res.status === 200) assertDotcomResponse('GET', '/repos/{owner}/{repo}/immutable-releases', 200, res.body);
  return res;
}

async function push(work: WorkRepo, full: string, ...refspecs: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    await work.push(server, full, owner.token, ...refspecs);
    return { ok: true, output: '' };
  } catch (err) {
    const e = err as { stderr?: string };
    return { ok: false, output: e.stderr ?? '' };
  }
}

async function upload(full: string, releaseId: number, name: string) {
  return call('POST', `${server.uploads}/repos/${full}/releases/${releaseId}/assets?name=${name}`, { token: owner.token, raw: 'bytes', headers: { 'content-type': 'text/plain' } });
}

describe('immutable releases', () => {
  it('the repository setting: 404 while off, enabled by PUT, off again by DELETE; administrators only', async () => {
    const { full, name } = await createRepo(server, owner);
    await addCollaborator(server, owner, name, writer, 'push');
    expect((await setting(full)).status).toBe(404);
    expect((await call('PUT', `${server.api}/repos/${full}/immutable-releases`, { token: writer.token })).status).toBe(403);
    expect((await call('PUT', `${server.api}/repos/${full}/immutable-releases`, { token: owner.token })).status).toBe(204);
    const on = await setting(full);
    expect(on.body).toEqual({ enabled: true, enforced_by_owner: false });
    expect((await setting(full, writer.token)).status).toBe(403);
    expect((await call('DELETE', `${server.api}/repos/${full}/immutable-releases`, { token: owner.token })).status).toBe(204);
    expect((await setting(full)).status).toBe(404);

    // A private repository's setting is not found for anyone who cannot see the repository.
    const hidden = await createRepo(server, owner, { private: true });
    const stranger = await createUser(server);
    for (const token of [stranger.token, null]) {
      const res = await call('PUT', `${server.api}/repos/${hidden.full}/immutable-releases`, { token });
      expect(res.status).toBe(404);
    }
  });

  it('freezes what it should on every path once published, and only that', async () => {
    const { full } = await createRepo(server, owner, { auto_init: true });
    const api = `${server.api}/repos/${full}`;
    const before = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v0' } });
    expect(before.body.immutable).toBe(false);
    expect((await call('PUT', `${api}/immutable-releases`, { token: owner.token })).status).toBe(204);

    // The way in: draft, upload, publish.
    const draft = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v1', draft: true } });
    expect(draft.body.immutable).toBe(false);
    expect((await upload(full, draft.body.id, 'a.txt')).status).toBe(201);
    const published = await call('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false } });
    expect(published.status).toBe(200);
    expect(published.body.immutable).toBe(true);
    const id = draft.body.id as number;
    const assetId = published.body.assets[0].id as number;

    expectGitHubError(await upload(full, id, 'b.txt'), 422, 'Cannot upload assets to an immutable release');
    expectGitHubError(await call('PATCH', `${api}/releases/assets/${assetId}`, { token: owner.token, body: { name: 'c.txt' } }), 422, /immutable release/);
    expectGitHubError(await call('DELETE', `${api}/releases/assets/${assetId}`, { token: owner.token }), 422, /immutable release/);
    const retag = await call('PATCH', `${api}/releases/${id}`, { token: owner.token, body: { tag_name: 'v1b' } });
    expect(retag.status).toBe(422);
    expect(retag.body.errors[0].message).toBe('tag_name cannot be changed on an immutable release');
    expect((await call('PATCH', `${api}/releases/${id}`, { token: owner.token, body: { draft: true } })).status).toBe(422);
    // Title, notes and prerelease stay editable.
    const edited = await call('PATCH', `${api}/releases/${id}`, { token: owner.token, body: { name: 'One', body: 'notes', prerelease: true } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'One', body: 'notes', prerelease: true, immutable: true });

    // The tag: not by the refs API, not by a push, not by a force push.
    const refDelete = await call('DELETE', `${api}/git/refs/tags/v1`, { token: owner.token });
    expectGitHubError(refDelete, 422, 'tag v1 belongs to an immutable release and cannot be deleted');
    const work = await WorkRepo.create();
    await work.git('fetch', '-q', new URL(`${server.base}/${full}.git`).toString(), 'main');
    await work.git('reset', '-q', '--hard', 'FETCH_HEAD');
    const deleted = await push(work, full, ':refs/tags/v1');
    expect(deleted.ok).toBe(false);
    expect(deleted.output).toContain('remote: error: refs/tags/v1: tag v1 belongs to an immutable release and cannot be deleted');
    expect(deleted.output).toContain('[remote rejected]');
    await work.commit('moved');
    const moved = await push(work, full, '--force', 'HEAD:refs/tags/v1');
    expect(moved.ok).toBe(false);
    expect(moved.output).toContain('cannot be moved');

    // Not frozen: the release published before the setting, and new drafts.
    expect((await upload(full, before.body.id, 'late.txt')).status).toBe(201);
    const other = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v2', draft: true } });
    expect((await upload(full, other.body.id, 'x.txt')).status).toBe(201);
  });

  it('an upload still arriving when the release is published immutable is refused, and leaves nothing', async () => {
    const { full } = await createRepo(server, owner, { auto_init: true });
    const api = `${server.api}/repos/${full}`;
    await call('PUT', `${api}/immutable-releases`, { token: owner.token });
    const draft = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v1', draft: true } });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new Uint8Array(512).fill(97));
        await held;
        controller.enqueue(new Uint8Array(512).fill(98));
        controller.close();
      },
    });
    const uploading = fetch(`${server.uploads}/repos/${full}/releases/${draft.body.id}/assets?name=slow.bin`, {
      method: 'POST',
      headers: { authorization: `token ${owner.token}`, 'content-type': 'application/octet-stream', 'content-length': '1024' },
      body,
      duplex: 'half',
    } as RequestInit);
    await new Promise((r) => setTimeout(r, 500));
    const published = await call('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false } });
    expect(published.body.immutable).toBe(true);
    release();
    const res = await uploading;
    expect(res.status).toBe(422);
    expect(((await res.json()) as { message: string }).message).toBe('Cannot upload assets to an immutable release');
    expect((await call('GET', `${api}/releases/${draft.body.id}/assets`, { token: owner.token })).body).toEqual([]);
  });

  it('reserves the tag name for good: after the release, the tag and the repository are deleted', async () => {
    const name = uniqueName('reserve');
    const { full } = await createRepo(server, owner, { name, auto_init: true });
    const api = `${server.api}/repos/${full}`;
    await call('PUT', `${api}/immutable-releases`, { token: owner.token });
    const rel = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v9' } });
    expect(rel.body.immutable).toBe(true);
    expect((await call('DELETE', `${api}/releases/${rel.body.id}`, { token: owner.token })).status).toBe(204);
    // The release is gone: its tag may go now, but the name stays taken.
    expect((await call('DELETE', `${api}/git/refs/tags/v9`, { token: owner.token })).status).toBe(204);
    const reuse = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v9' } });
    expect(reuse.status).toBe(422);
    expect(reuse.body.errors[0]).toMatchObject({ resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name was used by an immutable release' });
    const main = (await call('GET', `${api}/git/ref/heads/main`, { token: owner.token })).body.object.sha as string;
    expectGitHubError(
      await call('POST', `${api}/git/refs`, { token: owner.token, body: { ref: 'refs/tags/v9', sha: main } }),
      422,
      'tag name v9 was used by an immutable release and cannot be reused',
    );
    const work = await WorkRepo.create();
    await work.git('fetch', '-q', new URL(`${server.base}/${full}.git`).toString(), 'main');
    const pushed = await push(work, full, 'FETCH_HEAD:refs/tags/v9');
    expect(pushed.ok).toBe(false);
    expect(pushed.output).toContain('tag name v9 was used by an immutable release and cannot be reused');

    expect((await call('DELETE', api, { token: ADMIN_TOKEN })).status).toBe(204);
    await createRepo(server, owner, { name, auto_init: true });
    expect((await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v9' } })).status).toBe(422);
    // Drafts may still carry the name (they are not published); other names are free.
    expect((await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v10' } })).status).toBe(201);
  });

  it("an organization's policy: all, none or selected repositories; enforced repositories cannot opt out", async () => {
    const org = await call('POST', `${server.api}/admin/organizations`, { token: ADMIN_TOKEN, body: { login: uniqueName('org'), admin: owner.login } });
    expect(org.status).toBe(201);
    const login = org.body.login as string;
    const a = await call('POST', `${server.api}/orgs/${login}/repos`, { token: owner.token, body: { name: 'a', auto_init: true } });
    const b = await call('POST', `${server.api}/orgs/${login}/repos`, { token: owner.token, body: { name: 'b' } });
    const settings = `${server.api}/orgs/${login}/settings/immutable-releases`;
    const get = async () => {
      const res = await call('GET', settings, { token: owner.token, skipSchema: true });
      assertDotcomResponse('GET', '/orgs/{org}/settings/immutable-releases', 200, res.body);
      return res.body;
    };
    expect(await get()).toEqual({ enforced_repositories: 'none' });
    // Someone else, even with the scope, finds no such settings; without the scope it is GitHub's 403.
    const stranger = await createUser(server, uniqueName('stranger'), ['admin:org']);
    expect((await call('GET', settings, { token: stranger.token })).status).toBe(404);
    expect((await call('GET', settings, { token: writer.token })).status).toBe(403);
    expect((await call('PUT', settings, { token: owner.token, body: { enforced_repositories: 'some' } })).status).toBe(422);
    expect((await call('PUT', settings, { token: owner.token, body: { enforced_repositories: 'none', selected_repository_ids: [a.body.id] } })).status).toBe(422);

    expect((await call('PUT', settings, { token: owner.token, body: { enforced_repositories: 'selected', selected_repository_ids: [a.body.id] } })).status).toBe(204);
    expect(await get()).toEqual({ enforced_repositories: 'selected' });
    const list = await call('GET', `${settings}/repositories`, { token: owner.token, skipSchema: true });
    assertDotcomResponse('GET', '/orgs/{org}/settings/immutable-releases/repositories', 200, list.body);
    expect(list.body.repositories.map((r: { id: number }) => r.id)).toEqual([a.body.id]);
    expect((await setting(`${login}/a`)).body).toEqual({ enabled: true, enforced_by_owner: true });
    expect((await setting(`${login}/b`)).status).toBe(404);
    expect((await call('DELETE', `${server.api}/repos/${login}/a/immutable-releases`, { token: owner.token })).status).toBe(409);
    const rel = await call('POST', `${server.api}/repos/${login}/a/releases`, { token: owner.token, body: { tag_name: 'v1' } });
    expect(rel.body.immutable).toBe(true);

    expect((await call('PUT', `${settings}/repositories/${b.body.id}`, { token: owner.token })).status).toBe(204);
    expect((await call('DELETE', `${settings}/repositories/${a.body.id}`, { token: owner.token })).status).toBe(204);
    expect((await setting(`${login}/a`)).status).toBe(404);
    expect((await setting(`${login}/b`)).body).toEqual({ enabled: true, enforced_by_owner: true });
    expect((await call('PUT', `${settings}/repositories`, { token: owner.token, body: { selected_repository_ids: [a.body.id, b.body.id] } })).status).toBe(204);
    expect((await setting(`${login}/a`)).body.enforced_by_owner).toBe(true);

    expect((await call('PUT', settings, { token: owner.token, body: { enforced_repositories: 'all' } })).status).toBe(204);
    // Selecting needs the `selected` policy, as on GitHub.
    expect((await call('PUT', `${settings}/repositories/${a.body.id}`, { token: owner.token })).status).toBe(409);
    const other = await call('POST', `${server.api}/orgs/${login}/repos`, { token: owner.token, body: { name: 'c' } });
    expect((await setting(`${login}/c`)).body).toEqual({ enabled: true, enforced_by_owner: true });
    expect(other.status).toBe(201);
    expect((await call('PUT', settings, { token: owner.token, body: { enforced_repositories: 'none' } })).status).toBe(204);
    expect((await setting(`${login}/c`)).status).toBe(404);
  });
});
