/**
 * Over-long request targets, driven with undici (Node's fetch), whose limit on a response's
 * header section is 16 KiB: anything echoing the URL into a header must stay far inside it, and
 * targets over Wharf's documented limit (docs/api.md) are refused with 414 in GitHub's shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

/** Wharf's limit on the request target (path and query), docs/api.md. */
const LIMIT = 8192;

let server: TestServer;
let user: TestUser;
let full: string;
let privateFull: string;

beforeAll(async () => {
  server = await startServer();
  user = await createUser(server, uniqueName('longurl'));
  ({ full } = await createRepo(server, user, { auto_init: true }));
  ({ full: privateFull } = await createRepo(server, user, { auto_init: true, private: true }));
  for (const tag of ['v1', 'v2', 'v3']) expect((await call('POST', `${server.api}/repos/${full}/releases`, { token: user.token, body: { tag_name: tag } })).status).toBe(201);
});
afterAll(() => server.close());

/** Total bytes of a response's header section as the client received it. */
function headerBytes(res: Response): number {
  let n = 0;
  for (const [k, v] of res.headers) n += k.length + v.length + 4;
  return n;
}

/** A query that fills the target up to `length` bytes. */
function padded(path: string, length: number, filler = 'a'): string {
  const base = `${path}${path.includes('?') ? '&' : '?'}pad=`;
  return base + filler.repeat(Math.floor((length - base.length) / filler.length));
}

describe('long request targets', () => {
  it('keeps the Link header of a list small when the URL is near the limit', async () => {
    const path = padded(`/api/v3/repos/${full}/releases?per_page=1&page=2`, LIMIT - 16);
    expect(path.length).toBeLessThanOrEqual(LIMIT);
    const res = await fetch(`${server.base}${path}`, { headers: { authorization: `token ${user.token}` } });
    expect(res.status).toBe(200);
    expect((await res.json()).length).toBe(1);
    const link = res.headers.get('link')!;
    expect(link.length).toBeLessThanOrEqual(8192);
    expect(headerBytes(res)).toBeLessThan(12 * 1024);
    // The links still page through the same list: per_page is kept, the filler is not repeated four times.
    const next = /<([^>]+)>; rel="next"/.exec(link)![1]!;
    expect(new URL(next).searchParams.get('per_page')).toBe('1');
    expect(new URL(next).searchParams.get('page')).toBe('3');
    const third = await fetch(next, { headers: { authorization: `token ${user.token}` } });
    expect(third.status).toBe(200);
    expect((await third.json()).length).toBe(1);
  });

  it('keeps short query parameters in the Link header', async () => {
    const res = await fetch(`${server.base}/api/v3/repos/${full}/releases?per_page=1&page=1&flavour=x`, { headers: { authorization: `token ${user.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('link')).toContain('flavour=x');
  });

  it('refuses a target over the limit with 414 in GitHub shape, on every part of the server', async () => {
    const targets: Array<[string, string]> = [
      ['GET', `/api/v3/nothing/here`],
      ['GET', `/api/v3/repos/${full}/releases`],
      ['POST', `/api/uploads/repos/${full}/releases/1/assets`],
      ['POST', `/api/graphql`],
      // GET /api/graphql fits a page route's path (/:owner/:repo); it is the API's all the same.
      ['GET', `/api/graphql`],
      ['GET', `/${full}.git/info/refs`],
    ];
    for (const [method, path] of targets) {
      const body = method === 'POST' ? '{}' : undefined;
      const res = await fetch(`${server.base}${padded(path, LIMIT + 1)}`, { method, body, headers: { authorization: `token ${user.token}` } });
      expect(res.status, path).toBe(414);
      const text = await res.text();
      expect(res.headers.get('content-type'), `${path}: ${text.slice(0, 100)}`).toMatch(/^application\/json/);
      const error = JSON.parse(text);
      expect(error.message).toBe('URI Too Long');
      expect(typeof error.documentation_url === 'string' || path.startsWith('/api/uploads')).toBe(true);
      expect(headerBytes(res)).toBeLessThan(4096);
    }
    // A page answers with the HTML error page.
    const page = await fetch(`${server.base}${padded(`/${full}/releases`, LIMIT + 1)}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(414);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<h1>414 · Address too long</h1>');
    // At the limit exactly, the request is served.
    const atLimit = await fetch(`${server.base}${padded(`/api/v3/repos/${full}/releases`, LIMIT)}`, {});
    expect(atLimit.status).toBe(200);
  });

  it('keeps the sign-in redirect small, whatever the URL holds', async () => {
    // `%` triples when the address is put into `return_to`.
    const path = padded(`/${privateFull}/releases/new`, LIMIT - 16, '%25');
    const res = await fetch(`${server.base}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(res.status).toBe(404); // private: not even a hint to sign in
    const open = padded(`/${full}/releases/new`, LIMIT - 16, '%25');
    const redirect = await fetch(`${server.base}${open}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(redirect.status).toBe(303);
    const location = redirect.headers.get('location')!;
    expect(location.startsWith('/login')).toBe(true);
    expect(headerBytes(redirect)).toBeLessThan(12 * 1024);
  });
});
