/**
 * Octokit as tools embed it (`@octokit/rest` with the retry and throttling plugins), over HTTPS
 * with a private CA, through the whole release-and-asset workflow. Uploads go through the
 * release's `upload_url`, the only way Octokit reaches a GHES-style upload endpoint.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { Agent, fetch as undiciFetch, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { createTestCa, type TestCa } from '../support/tls.ts';

const ReleaseOctokit = Octokit.plugin(retry, throttling);

let ca: TestCa;
let server: TestServer;
let alice: TestUser;
let owner: string;
let repo: string;
let octokit: InstanceType<typeof ReleaseOctokit>;
let previous: Dispatcher;
const limitHits: string[] = [];

beforeAll(async () => {
  ca = await createTestCa();
  // Rate limiting on, as on github.com: the throttling plugin must never see a false "0 remaining".
  server = await startServer({
    env: {
      WHARF_TLS_CERT: ca.certFile,
      WHARF_TLS_KEY: ca.keyFile,
      WHARF_RATE_LIMIT: 'true',
      WHARF_RATE_LIMIT_AUTHENTICATED: '100000',
      WHARF_RATE_LIMIT_CONTENT_PER_MINUTE: '100000',
    },
    hostName: 'localhost',
  });
  const dispatcher = new Agent({ connect: { ca: ca.ca } });
  previous = getGlobalDispatcher();
  setGlobalDispatcher(dispatcher);
  process.env.GIT_SSL_CAINFO = ca.caFile;
  alice = await createUser(server);
  owner = alice.login;
  const created = await createRepo(server, alice);
  repo = created.name;
  const work = await WorkRepo.create();
  await work.commit('initial');
  await work.push(server, created.full, alice.token, 'refs/heads/main');
  octokit = new ReleaseOctokit({
    auth: alice.token,
    baseUrl: server.api,
    request: { fetch: (url: string, init: object) => undiciFetch(url, { ...init, dispatcher }) },
    throttle: {
      onRateLimit: (_after: number, options: { url: string }) => {
        limitHits.push(`primary ${options.url}`);
        return false;
      },
      onSecondaryRateLimit: (_after: number, options: { url: string }) => {
        limitHits.push(`secondary ${options.url}`);
        return false;
      },
    },
  });
});
afterAll(async () => {
  setGlobalDispatcher(previous);
  await server.close();
});

describe('Octokit with the retry and throttling plugins', () => {
  it('runs the whole release-and-asset workflow', async () => {
    const created = await octokit.rest.repos.createRelease({ owner, repo, tag_name: 'v1.0.0', name: 'One', body: 'Notes', draft: true });
    expect(created.status).toBe(201);
    expect(created.data.upload_url).toBe(`${server.uploads}/repos/${owner}/${repo}/releases/${created.data.id}/assets{?name,label}`);

    const first = await octokit.rest.repos.uploadReleaseAsset({
      owner,
      repo,
      release_id: created.data.id,
      url: created.data.upload_url,
      name: 'app.txt',
      data: 'hello from octokit\n',
      headers: { 'content-type': 'text/plain' },
    });
    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ name: 'app.txt', state: 'uploaded', size: 19, content_type: 'text/plain' });

    // No content type given: Octokit sends a JSON type for string bodies; Wharf stores what it is told.
    const second = await octokit.rest.repos.uploadReleaseAsset({
      owner,
      repo,
      release_id: created.data.id,
      url: created.data.upload_url,
      name: 'two file.txt',
      label: 'Second file',
      data: 'second\n',
    });
    expect(second.data).toMatchObject({ name: 'two.file.txt', label: 'Second file' });

    const duplicate = await octokit.rest.repos
      .uploadReleaseAsset({ owner, repo, release_id: created.data.id, url: created.data.upload_url, name: 'app.txt', data: 'again' })
      .catch((err: { status: number; response: { data: { errors: Array<{ code: string }> } } }) => err);
    expect(duplicate).toMatchObject({ status: 422 });
    expect((duplicate as { response: { data: { errors: Array<{ code: string }> } } }).response.data.errors[0]?.code).toBe('already_exists');

    const assets = await octokit.rest.repos.listReleaseAssets({ owner, repo, release_id: created.data.id });
    expect(assets.data.map((a) => a.name)).toEqual(['app.txt', 'two.file.txt']);
    const bytes = await octokit.rest.repos.getReleaseAsset({ owner, repo, asset_id: first.data.id, headers: { accept: 'application/octet-stream' } });
    expect(Buffer.from(bytes.data as unknown as ArrayBuffer).toString('utf8')).toBe('hello from octokit\n');

    const renamed = await octokit.rest.repos.updateReleaseAsset({ owner, repo, asset_id: second.data.id, name: 'second.txt', label: 'Renamed' });
    expect(renamed.data).toMatchObject({ name: 'second.txt', label: 'Renamed' });

    const published = await octokit.rest.repos.updateRelease({ owner, repo, release_id: created.data.id, draft: false });
    expect(published.data.draft).toBe(false);
    expect(published.data.published_at).not.toBeNull();
    const byTag = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag: 'v1.0.0' });
    expect(byTag.data.id).toBe(created.data.id);
    const latest = await octokit.rest.repos.getLatestRelease({ owner, repo });
    expect(latest.data.tag_name).toBe('v1.0.0');

    const gql = await octokit.graphql<{ repository: { release: { databaseId: number; isLatest: boolean; releaseAssets: { nodes: Array<{ name: string }> } } } }>(
      'query($owner:String!,$name:String!){repository(owner:$owner,name:$name){release(tagName:"v1.0.0"){databaseId isLatest releaseAssets(first:10){nodes{name}}}}}',
      { owner, name: repo },
    );
    expect(gql.repository.release).toEqual({ databaseId: created.data.id, isLatest: true, releaseAssets: { nodes: [{ name: 'app.txt' }, { name: 'second.txt' }] } });

    const meta = await octokit.rest.meta.get();
    expect(meta.data).toMatchObject({ verifiable_password_authentication: false });
    const limits = await octokit.rest.rateLimit.get();
    const core = limits.data.resources.core;
    expect(core.limit).toBe(100_000);
    expect(core.used).toBeGreaterThanOrEqual(8); // the REST calls above (uploads and GraphQL are not counted)
    expect(core.remaining).toBe(core.limit - core.used);
    expect(Number(limits.headers['x-ratelimit-remaining'])).toBe(core.remaining);

    expect((await octokit.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: first.data.id })).status).toBe(204);
    expect((await octokit.rest.repos.deleteRelease({ owner, repo, release_id: created.data.id })).status).toBe(204);
    await expect(octokit.rest.repos.getRelease({ owner, repo, release_id: created.data.id })).rejects.toMatchObject({ status: 404 });
    expect(limitHits).toEqual([]);
  });

  // Drafts keep the set-up cheap (no tags to create); pushers see them in the list like any release.
  it('paginates over 250 releases, newest first, following GitHub-format Link headers', { timeout: 180_000 }, async () => {
    const total = 250;
    for (let start = 0; start < total; start += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, total - start) }, (_, i) =>
          call('POST', `${server.api}/repos/${owner}/${repo}/releases`, {
            token: alice.token,
            body: { tag_name: `v2.${start + i}.0`, name: `R${start + i}`, draft: true },
            skipSchema: true,
          }).then((res) => {
            if (res.status !== 201) throw new Error(`create: ${res.status} ${res.text}`);
          }),
        ),
      );
    }
    const pages: number[] = [];
    const all = await octokit.paginate(octokit.rest.repos.listReleases, { owner, repo, per_page: 100 }, (response) => {
      pages.push(response.data.length);
      return response.data;
    });
    expect(pages).toEqual([100, 100, 50]);
    expect(all).toHaveLength(total);
    expect(new Set(all.map((r) => r.id)).size).toBe(total);
    const created = all.map((r) => r.created_at);
    expect([...created].sort().reverse()).toEqual(created);
    const defaults = await octokit.paginate(octokit.rest.repos.listReleases, { owner, repo });
    expect(defaults).toHaveLength(total);
    expect(limitHits).toEqual([]);
  });
});
