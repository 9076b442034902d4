/**
 * Two Wharf nodes sharing PostgreSQL, a bucket and the repositories directory, behind nginx:
 * they must answer as one server would, the races that one server settles must be settled the
 * same way across nodes, and losing a node must lose nothing acknowledged.
 * Runs when a PostgreSQL server is configured for tests (WHARF_TEST_DATABASE_URL), as in CI.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { clusterAvailable, startCluster, type Cluster } from './cluster.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe.skipIf(!clusterAvailable)('two nodes behind nginx', () => {
  let cluster: Cluster;
  let alice: TestUser;

  beforeAll(async () => {
    cluster = await startCluster({
      env: { WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_AUTHENTICATED: '100000', WHARF_RATE_LIMIT_ANONYMOUS: '100000' },
    });
    alice = await createUser(cluster.lb, uniqueName('alice'));
  }, 120_000);
  afterAll(() => cluster?.close());

  it('answers the same on either node: users, tokens, repositories, git data', async () => {
    const [a, b] = cluster.nodes;
    const bob = await createUser({ ...cluster.lb, api: a!.api }, uniqueName('bob'));
    const onB = await call('GET', `${b!.api}/user`, { token: bob.token });
    expect(onB.status).toBe(200);
    expect(onB.body.login).toBe(bob.login);
    const repo = await createRepo({ ...cluster.lb, api: b!.api }, bob, { private: true });
    // URLs name the balancer, whichever node answered.
    expect(repo.json.url).toBe(`${cluster.lb.api}/repos/${repo.full}`);
    expect((await call('GET', `${a!.api}/repos/${repo.full}`, { token: bob.token })).body.id).toBe(repo.json.id);
    expectGitHubError(await call('GET', `${a!.api}/repos/${repo.full}`, { token: alice.token }), 404, 'Not Found');

    // A push through the balancer lands in the shared repositories directory: both nodes see it.
    const work = await WorkRepo.create();
    const sha = await work.commit('first');
    await work.push(cluster.lb, repo.full, bob.token, 'main');
    for (const node of cluster.nodes) {
      const ref = await call('GET', `${node.api}/repos/${repo.full}/git/ref/heads/main`, { token: bob.token });
      expect(ref.body.object.sha).toBe(sha);
    }
  });

  it("the refs door answers alike on both nodes, at once: an immutable release's tag survives pushes to either", async () => {
    const [a, b] = cluster.nodes;
    const repo = await createRepo({ ...cluster.lb, api: a!.api }, alice, { auto_init: true });
    expect((await call('PUT', `${a!.api}/repos/${repo.full}/immutable-releases`, { token: alice.token })).status).toBe(204);
    const rel = await call('POST', `${b!.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1' } });
    expect(rel.body.immutable).toBe(true);
    const pushes = await Promise.all(
      cluster.nodes.map(async (node) => {
        const work = await WorkRepo.create();
        try {
          await work.push({ ...cluster.lb, base: node.base }, repo.full, alice.token, ':refs/tags/v1');
          return 'pushed';
        } catch (err) {
          return (err as { stderr?: string }).stderr ?? '';
        }
      }),
    );
    for (const output of pushes) expect(output).toContain('tag v1 belongs to an immutable release and cannot be deleted');
    for (const node of cluster.nodes) {
      expect((await call('GET', `${node.api}/repos/${repo.full}/git/ref/tags/v1`, { token: alice.token })).status).toBe(200);
    }
  });

  it('counts one rate limit across nodes', async () => {
    // A caller of its own: its count starts at zero.
    const carol = await createUser(cluster.lb, uniqueName('carol'));
    for (let i = 1; i <= 6; i++) {
      const res = await call('GET', `${cluster.nodes[i % 2]!.api}/user`, { token: carol.token });
      expect(res.status).toBe(200);
      // Each node counts its own requests at once and the other's once they are written (about a second).
      const used = Number(res.headers.get('x-ratelimit-used'));
      expect(used).toBeGreaterThanOrEqual(Math.ceil(i / 2));
      expect(used).toBeLessThanOrEqual(i);
    }
    // Once both nodes have written their counts, each reports all six requests.
    const deadline = Date.now() + 30_000;
    let seen: number[] = [];
    while (Date.now() < deadline) {
      seen = [];
      for (const node of cluster.nodes) seen.push((await call('GET', `${node.api}/rate_limit`, { token: carol.token })).body.resources.core.used);
      if (seen.every((u) => u === 6)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(seen).toEqual([6, 6]);
  });

  it('gives one winner when nodes race for one repository name', async () => {
    const name = uniqueName('race');
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => call('POST', `${cluster.nodes[i % 2]!.api}/user/repos`, { token: alice.token, body: { name } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const lost of results.filter((r) => r.status !== 201)) expectGitHubError(lost, 422, 'Validation Failed');
  });

  it('gives one winner when nodes race to create one tag', async () => {
    const repo = await createRepo(cluster.lb, alice);
    const work = await WorkRepo.create();
    const first = await work.commit('one');
    const second = await work.commit('two');
    await work.push(cluster.lb, repo.full, alice.token, 'main');
    for (let round = 0; round < 3; round++) {
      const ref = `refs/tags/v${round}.0.0`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          call('POST', `${cluster.nodes[i % 2]!.api}/repos/${repo.full}/git/refs`, { token: alice.token, body: { ref, sha: i % 2 ? first : second } }),
        ),
      );
      const won = results.filter((r) => r.status === 201);
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r) => r.status !== 201)) expectGitHubError(lost, 422, 'Reference already exists');
      // The tag points where the winner said, on both nodes.
      for (const node of cluster.nodes) {
        const got = await call('GET', `${node.api}/repos/${repo.full}/git/ref/tags/v${round}.0.0`, { token: alice.token });
        expect(got.body.object.sha).toBe(won[0]!.body.object.sha);
      }
    }
  });

  it('gives one winner when nodes race to publish a release for one new tag', async () => {
    const repo = await createRepo(cluster.lb, alice);
    const work = await WorkRepo.create();
    const first = await work.commit('one');
    const second = await work.commit('two');
    await work.push(cluster.lb, repo.full, alice.token, 'main');
    for (let round = 0; round < 3; round++) {
      const tag = `v${round}.1.0`;
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          call('POST', `${cluster.nodes[i % 2]!.api}/repos/${repo.full}/releases`, {
            token: alice.token,
            body: { tag_name: tag, target_commitish: i % 2 ? first : second, name: `attempt ${i}` },
          }),
        ),
      );
      const won = results.filter((r) => r.status === 201);
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r) => r.status !== 201)) {
        expect(expectGitHubError(lost, 422, 'Validation Failed').errors[0]).toMatchObject({ field: 'tag_name', code: 'already_exists' });
      }
      // Attempt i targeted `first` when i is odd: the tag must point where the winner asked.
      const winnerSha = Number(won[0]!.body.name.split(' ')[1]) % 2 ? first : second;
      for (const node of cluster.nodes) {
        const ref = await call('GET', `${node.api}/repos/${repo.full}/git/ref/tags/${tag}`, { token: alice.token });
        expect(ref.body.object.sha).toBe(winnerSha);
        const listed = await call('GET', `${node.api}/repos/${repo.full}/releases`, { token: alice.token });
        expect(listed.body.filter((r: { tag_name: string }) => r.tag_name === tag)).toHaveLength(1);
      }
    }
  });

  it('gives one winner when nodes race to upload one asset name, and serves the winner’s bytes', async () => {
    const repo = await createRepo(cluster.lb, alice, { auto_init: true });
    const release = await call('POST', `${cluster.lb.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v1.0.0' } });
    for (let round = 0; round < 3; round++) {
      const name = `tool-${round}.tar.gz`;
      const bodies = Array.from({ length: 6 }, () => randomBytes(200_000));
      const results = await Promise.all(
        bodies.map((raw, i) =>
          call('POST', `${cluster.nodes[i % 2]!.uploads}/repos/${repo.full}/releases/${release.body.id}/assets?name=${name}`, {
            token: alice.token,
            raw,
            headers: { 'content-type': 'application/gzip' },
          }),
        ),
      );
      const won = results.filter((r) => r.status === 201);
      expect(won).toHaveLength(1);
      for (const lost of results.filter((r) => r.status !== 201)) {
        expect(expectGitHubError(lost, 422, 'Validation Failed').errors[0]).toMatchObject({ field: 'name', code: 'already_exists' });
      }
      const winner = bodies[results.indexOf(won[0]!)]!;
      // Through the balancer and the presigned redirect, from the bucket.
      const download = await fetch(won[0]!.body.browser_download_url);
      expect(download.status).toBe(200);
      expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(winner));
    }
  });

  it('loses nothing acknowledged when a node dies mid-upload, and the other keeps serving', async () => {
    const [a, b] = cluster.nodes;
    const repo = await createRepo(cluster.lb, alice, { auto_init: true });
    const release = (await call('POST', `${cluster.lb.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: 'v2.0.0' } })).body;
    const assetsUrl = (node: { uploads: string }, name: string) => `${node.uploads}/repos/${repo.full}/releases/${release.id}/assets?name=${name}`;
    const done = randomBytes(3 * 1024 * 1024);
    const acknowledged = await call('POST', assetsUrl(a!, 'done.bin'), { token: alice.token, raw: done, headers: { 'content-type': 'application/octet-stream' } });
    expect(acknowledged.status).toBe(201);

    // A 64 MiB upload to node A, which is killed once a third of it has been sent.
    const total = 64 * 1024 * 1024;
    let sent = 0;
    // Assigned inside the stream callback; typed so that the await below is not narrowed to null.
    let killed = null as Promise<void> | null;
    const interrupted = new Promise<string>((resolve) => {
      const req = http.request(assetsUrl(a!, 'partial.bin'), {
        method: 'POST',
        headers: { authorization: `token ${alice.token}`, 'content-type': 'application/octet-stream', 'content-length': String(total) },
      });
      req.on('response', (res) => resolve(`answered ${res.statusCode}`));
      req.on('error', (err) => resolve(`failed: ${err.message}`));
      const chunk = randomBytes(256 * 1024);
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (sent >= total / 3 && !killed) {
            killed = a!.kill();
            return;
          }
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(await interrupted).toMatch(/^failed/);
    await killed;
    expect(a!.process).toBeNull();

    // Node B (alone behind the balancer now) serves the acknowledged asset, and nothing half-done.
    const listed = await call('GET', `${cluster.lb.api}/repos/${repo.full}/releases/${release.id}/assets`, { token: alice.token });
    expect(listed.status).toBe(200);
    const states = Object.fromEntries(listed.body.map((x: { name: string; state: string }) => [x.name, x.state]));
    expect(states['done.bin']).toBe('uploaded');
    // The interrupted upload is at most an unfinished record (which the sweeper expires), never an asset.
    expect(states['partial.bin'] ?? 'absent').not.toBe('uploaded');
    const bytes = await fetch(acknowledged.body.browser_download_url);
    expect(sha256(Buffer.from(await bytes.arrayBuffer()))).toBe(sha256(done));
    const after = randomBytes(100_000);
    const more = await call('POST', assetsUrl(cluster.lb, 'after.bin'), { token: alice.token, raw: after, headers: { 'content-type': 'application/octet-stream' } });
    expect(more.status).toBe(201);
    const direct = await call('GET', `${b!.api}/repos/${repo.full}/releases/assets/${more.body.id}`, { token: alice.token });
    expect(direct.body.state).toBe('uploaded');
    await a!.start();
  });

  it('keeps serving through the balancer when a node dies, and the node rejoins', async () => {
    const [a] = cluster.nodes;
    await a!.kill();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await call('GET', `${cluster.lb.api}/user`, { token: alice.token })).status);
    expect(statuses).toEqual(Array(10).fill(200));
    const created = await createRepo(cluster.lb, alice);
    await a!.start();
    expect((await call('GET', `${a!.api}/repos/${created.full}`, { token: alice.token })).status).toBe(200);
  });
});
