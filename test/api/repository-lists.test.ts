/**
 * Repository lists (`/users/{u}/repos`, `/user/repos`, the owner page) cost a fixed number of
 * queries whatever the page size: permissions come from one batched query, not one per row.
 */
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
const repos: Array<{ name: string; private: boolean; bob: string | null }> = [];
let queries = 0;

// Reads only: the writes a request may make (a token's last use, at most once a minute; a new
// rate-limit window) depend on the clock, not on the page size.
const countQueries: KyselyPlugin = {
  transformQuery(args) {
    if (args.node.kind === 'SelectQueryNode') queries += 1;
    return args.node;
  },
  async transformResult(args) {
    return args.result;
  },
};

beforeAll(async () => {
  // No outbox consumers: their polls would run on the counted database beside the request.
  server = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false' } });
  alice = await createUser(server);
  bob = await createUser(server);
  for (let i = 0; i < 12; i++) {
    const isPrivate = i % 4 === 3;
    const bobRole = i % 3 === 0 ? 'push' : i === 7 ? 'pull' : null;
    const repo = await createRepo(server, alice, { name: `r${String(i).padStart(2, '0')}`, private: isPrivate });
    if (bobRole) await addCollaborator(server, alice, repo.name, bob, bobRole);
    repos.push({ name: repo.name, private: isPrivate, bob: bobRole });
  }
  const ctx = server.wharf.ctx;
  (ctx as { db: typeof ctx.db }).db = ctx.db.withPlugin(countQueries);
});
afterAll(() => server.close());

async function counted(url: string, token: string | null) {
  queries = 0;
  const res = await call('GET', url, { token });
  return { res, queries };
}

describe('repository lists', () => {
  it("embed each repository's permission for the caller", async () => {
    const { res } = await counted(`${server.api}/users/${alice.login}/repos?per_page=100`, bob.token);
    expect(res.status).toBe(200);
    // Bob sees the public repositories and the private ones he collaborates on.
    const visible = repos.filter((r) => !r.private || r.bob);
    expect(res.body.map((r: { name: string }) => r.name)).toEqual(visible.map((r) => r.name));
    for (const [i, r] of visible.entries()) {
      const push = r.bob === 'push';
      expect(res.body[i].permissions, r.name).toMatchObject({ admin: false, push, pull: true });
    }
    const own = await call('GET', `${server.api}/user/repos?per_page=100`, { token: alice.token });
    expect(own.body.every((r: { permissions: { admin: boolean } }) => r.permissions.admin)).toBe(true);
    const anonymous = await call('GET', `${server.api}/users/${alice.login}/repos?per_page=100`, {});
    expect(anonymous.body.map((r: { name: string }) => r.name)).toEqual(repos.filter((r) => !r.private).map((r) => r.name));
    expect(anonymous.body[0].permissions).toBeUndefined();
  });

  it('cost the same number of queries for a page of 2 and a page of 10', async () => {
    for (const path of [`/users/${alice.login}/repos`, '/user/repos']) {
      const small = await counted(`${server.api}${path}?per_page=2`, bob.token);
      const large = await counted(`${server.api}${path}?per_page=10`, bob.token);
      expect(small.res.body).toHaveLength(2);
      expect(large.res.body.length).toBeGreaterThan(2);
      expect(large.queries, path).toBe(small.queries);
    }
    // The owner page lists through the same service, with the same visibility rules.
    const page = await call('GET', `${server.base}/${alice.login}`, {});
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>r10</strong>');
    expect(page.text).not.toContain('<strong>r11</strong>');
  });
});
