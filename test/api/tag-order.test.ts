import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

// Tags whose dates run against their names, so an order by date and the tag order disagree.
const TAGS: Array<[name: string, date: string]> = [
  ['v2.0.0-rc.1', '2020-01-01T00:00:00Z'],
  ['light/1.0', '2025-06-01T00:00:00Z'],
  ['v1.9.0', '2021-01-01T00:00:00Z'],
  ['release-10', '2022-01-01T00:00:00Z'],
  ['v1.10.0', '2019-01-01T00:00:00Z'],
  ['v2.0.0', '2018-01-01T00:00:00Z'],
  ['release-9', '2024-01-01T00:00:00Z'],
  ['v1.2.0', '2023-01-01T00:00:00Z'],
];
/** The documented tag order (docs/api.md): names descending, runs of digits compared as numbers. */
const TAG_ORDER = ['v2.0.0-rc.1', 'v2.0.0', 'v1.10.0', 'v1.9.0', 'v1.2.0', 'release-10', 'release-9', 'light/1.0'];

let server: TestServer;
let alice: TestUser;
let repo: { name: string; full: string };

beforeAll(async () => {
  server = await startServer();
  alice = await createUser(server, uniqueName('alice'));
  repo = await createRepo(server, alice);
  const work = await WorkRepo.create();
  for (const [name, date] of TAGS) {
    await work.commit(`commit for ${name}`, { date });
    await work.git('tag', name);
  }
  await work.push(server, repo.full, alice.token, 'refs/heads/main', 'refs/tags/*');
});
afterAll(() => server.close());

describe('one tag order everywhere tags are listed', () => {
  it('REST GET /tags lists the tag order, page by page', async () => {
    const all = await call('GET', `${server.api}/repos/${repo.full}/tags?per_page=100`, {});
    expect(all.status).toBe(200);
    expect(all.body.map((t: { name: string }) => t.name)).toEqual(TAG_ORDER);
    const second = await call('GET', `${server.api}/repos/${repo.full}/tags?per_page=3&page=2`, {});
    expect(second.body.map((t: { name: string }) => t.name)).toEqual(TAG_ORDER.slice(3, 6));
  });

  it('GraphQL refs gives the same order for DESC and its reverse by default (ASC)', async () => {
    const refs = async (direction: string) => {
      const res = await call('POST', `${server.base}/api/graphql`, {
        token: alice.token,
        skipSchema: true,
        body: {
          query: `query($o:String!,$n:String!){repository(owner:$o,name:$n){refs(refPrefix:"refs/tags/",first:100${direction}){nodes{name}}}}`,
          variables: { o: alice.login, n: repo.name },
        },
      });
      expect(res.body.errors).toBeUndefined();
      return res.body.data.repository.refs.nodes.map((n: { name: string }) => n.name);
    };
    expect(await refs(', direction: DESC')).toEqual(TAG_ORDER);
    expect(await refs('')).toEqual([...TAG_ORDER].reverse());
    expect(await refs(', direction: ASC')).toEqual([...TAG_ORDER].reverse());
  });

  it('the repository page and the tags feed list the tag order', async () => {
    const page = await call('GET', `${server.base}/${repo.full}`, { skipSchema: true, headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const shown = [...page.text.matchAll(/<a class="tag" href="[^"]*">([^<]*)<\/a>/g)].map((m) => m[1]);
    expect(shown).toEqual(TAG_ORDER);
    const feed = await call('GET', `${server.base}/${repo.full}/tags.atom`, { skipSchema: true });
    expect(feed.status).toBe(200);
    const titles = [...feed.text.matchAll(/<entry>[\s\S]*?<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(titles).toEqual(TAG_ORDER);
  });
});
