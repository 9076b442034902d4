/**
 * Abuse: slow clients are cut off without tying the server up; primary and secondary rate limits
 * hold under concurrent load with the right headers; JSON bodies and connections are bounded.
 */
import { Octokit } from '@octokit/rest';
import { throttling } from '@octokit/plugin-throttling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { connect, portOf, trickle, type RawResponse } from './support/raw-http.ts';

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startServer({
    env: {
      WHARF_HEADERS_TIMEOUT_MS: '1000',
      WHARF_BODY_TIMEOUT_MS: '1000',
      WHARF_IDLE_TIMEOUT_MS: '1500',
      WHARF_MAX_JSON_BODY: '4096',
    },
  });
  port = portOf(server.base);
});
afterAll(() => server.close());

function expectGitHubErrorBody(res: RawResponse, status: number): void {
  expect(res.status).toBe(status);
  const body = JSON.parse(res.body);
  expect(typeof body.message).toBe('string');
  expect(typeof body.documentation_url).toBe('string');
}

/** Latency of an ordinary request while the slow clients hold their sockets. */
async function healthyLatency(): Promise<number> {
  const start = Date.now();
  const res = await call('GET', `${server.api}/meta`, {});
  expect(res.status).toBe(200);
  return Date.now() - start;
}

describe('slow clients', () => {
  it('cuts off clients that trickle headers with a 408, while others are served at once', async () => {
    const slow = await Promise.all(Array.from({ length: 25 }, () => connect(port)));
    const results = slow.map((conn) => trickle(conn, ['GET /api/v3/meta HTTP/1.1\r\nHost: x\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: y\r\n`)], 150));
    const latencies = [];
    for (let i = 0; i < 5; i++) latencies.push(await healthyLatency());
    expect(Math.max(...latencies)).toBeLessThan(500);
    for (const res of await Promise.all(results)) {
      expectGitHubErrorBody(res, 408);
      expect(res.elapsed).toBeLessThan(3500);
    }
  });

  it('cuts off clients that trickle a JSON body, or promise more body than they send', async () => {
    const owner = await createUser(server, uniqueName('slowbody'));
    const repo = await createRepo(server, owner, { auto_init: true });
    const head = (length: number) =>
      `POST /api/v3/repos/${repo.full}/releases HTTP/1.1\r\nHost: x\r\nAuthorization: token ${owner.token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    const body = JSON.stringify({ tag_name: 'slow-v1' });
    const trickler = trickle(await connect(port), [head(body.length), ...body.split('')], 150);
    const liar = await connect(port);
    liar.write(head(body.length + 50) + body);
    const latency = await healthyLatency();
    expect(latency).toBeLessThan(500);
    for (const res of await Promise.all([trickler, liar.closed])) {
      expectGitHubErrorBody(res, 408);
      expect(res.elapsed).toBeLessThan(3500);
    }
    // Nothing was created by the requests that never finished.
    const list = await call('GET', `${server.api}/repos/${repo.full}/releases`, { token: owner.token });
    expect(list.body).toEqual([]);
  });

  it('closes connections that never send anything', async () => {
    const idle = await Promise.all(Array.from({ length: 10 }, () => connect(port)));
    const closed = await Promise.all(idle.map((c) => c.closed));
    for (const res of closed) expect(res.elapsed).toBeLessThan(4000);
  });
});

describe('request size limits', () => {
  it('refuses JSON bodies over the limit with 413 and huge headers with 431, GitHub-shaped', async () => {
    const user = await createUser(server, uniqueName('big'));
    const repo = await createRepo(server, user, { auto_init: true });
    const big = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: user.token, body: { tag_name: 'v1', body: 'x'.repeat(5000) } });
    expectGitHubError(big, 413);
    const conn = await connect(port);
    conn.write(`GET /api/v3/meta HTTP/1.1\r\nHost: x\r\nX-Huge: ${'h'.repeat(20_000)}\r\n\r\n`);
    expectGitHubErrorBody(await conn.closed, 431);
    const garbage = await connect(port);
    garbage.write('NOT HTTP AT ALL\r\n\r\n');
    expectGitHubErrorBody(await garbage.closed, 400);
    expect((await call('GET', `${server.api}/meta`, {})).status).toBe(200);
  });
});

describe('connection limit', () => {
  it('refuses connections beyond the limit and accepts again once some close', async () => {
    const limited = await startServer({ env: { WHARF_MAX_CONNECTIONS: '8' } });
    try {
      const p = portOf(limited.base);
      const held = await Promise.all(Array.from({ length: 8 }, () => connect(p)));
      const extra = await connect(p);
      const refused = await extra.closed;
      expect(refused.status).toBe(0);
      expect(refused.elapsed).toBeLessThan(1000);
      for (const c of held) c.socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const again = await connect(p);
      again.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect((await again.closed).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

/**
 * Limits count in fixed windows aligned to the clock (a minute for content creation, an hour for
 * the primary limit). A test whose requests straddle a window's end would see two budgets, so it
 * starts only when the current window has `margin` seconds left.
 */
async function awayFromWindowEnd(windowSeconds: number, margin = 10): Promise<void> {
  const left = windowSeconds - ((Date.now() / 1000) % windowSeconds);
  if (left < margin) await new Promise((r) => setTimeout(r, left * 1000 + 250));
}

describe('rate limits under load', () => {
  let limited: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    limited = await startServer({
      env: { WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_AUTHENTICATED: '1000', WHARF_RATE_LIMIT_ANONYMOUS: '30', WHARF_RATE_LIMIT_CONTENT_PER_MINUTE: '12' },
    });
    alice = await createUser(limited, uniqueName('rlalice'));
    bob = await createUser(limited, uniqueName('rlbob'));
  });
  afterAll(() => limited.close());

  it('lets exactly the anonymous budget through when requests arrive all at once', async () => {
    await awayFromWindowEnd(3600);
    const results = await Promise.all(Array.from({ length: 50 }, () => call('GET', `${limited.api}/meta`, {})));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 403);
    expect(ok.length).toBe(30);
    expect(refused.length).toBe(20);
    expect(new Set(ok.map((r) => r.headers.get('x-ratelimit-remaining')))).toEqual(new Set(Array.from({ length: 30 }, (_, i) => String(i))));
    for (const r of refused) {
      expectGitHubError(r, 403, /^API rate limit exceeded for 127\.0\.0\.1\./);
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Authenticated callers are counted per user, not per address.
    expect((await call('GET', `${limited.api}/meta`, { token: alice.token })).status).toBe(200);
  });

  it('counts per user across all of the user’s tokens, concurrently, without losing a count', async () => {
    await awayFromWindowEnd(3600);
    const second = await call('POST', `${limited.api}/admin/users/${alice.login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes: ['repo'] } });
    const before = Number((await call('GET', `${limited.api}/rate_limit`, { token: alice.token })).body.resources.core.used);
    const tokens = [alice.token, second.body.token];
    await Promise.all(Array.from({ length: 80 }, (_, i) => call('GET', `${limited.api}/user`, { token: tokens[i % 2] })));
    const after = (await call('GET', `${limited.api}/rate_limit`, { token: second.body.token })).body.resources.core.used;
    expect(after).toBe(before + 80);
    const other = (await call('GET', `${limited.api}/rate_limit`, { token: bob.token })).body.resources.core.used;
    expect(other).toBeLessThan(5);
  });

  it('applies a secondary limit to content creation that Octokit recognises', async () => {
    await awayFromWindowEnd(60, 15);
    const repo = await createRepo(limited, bob, { auto_init: true });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call('POST', `${limited.api}/repos/${repo.full}/releases`, { token: bob.token, body: { tag_name: `load-${i}`, draft: true } })),
    );
    // createRepo spent one write of the twelve.
    expect(results.filter((r) => r.status === 201).length).toBe(11);
    const refused = results.filter((r) => r.status === 403);
    expect(refused.length).toBe(9);
    for (const r of refused) {
      expectGitHubError(r, 403, /secondary rate limit/);
      const wait = Number(r.headers.get('retry-after'));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(60);
    }
    // Reads are not content creation.
    expect((await call('GET', `${limited.api}/repos/${repo.full}/releases`, { token: bob.token })).status).toBe(200);

    const ThrottledOctokit = Octokit.plugin(throttling);
    let secondary = 0;
    const octokit = new ThrottledOctokit({
      auth: bob.token,
      baseUrl: limited.api,
      throttle: {
        onRateLimit: () => false,
        onSecondaryRateLimit: () => {
          secondary += 1;
          return false;
        },
      },
    });
    await expect(octokit.rest.repos.createRelease({ owner: bob.login, repo: repo.name, tag_name: 'octo' })).rejects.toMatchObject({ status: 403 });
    expect(secondary).toBe(1);
  });
});
