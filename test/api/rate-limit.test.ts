import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { sweepAssets } from '../../src/services/asset-sweeper.ts';

let server: TestServer;
let user: TestUser;

beforeAll(async () => {
  server = await startServer({ env: { WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_ANONYMOUS: '3', WHARF_RATE_LIMIT_AUTHENTICATED: '50' } });
  user = await createUser(server, uniqueName('rl'));
});
afterAll(() => server.close());

describe('rate limits', () => {
  it('counts anonymous requests per client and answers 403 with retry-after once exhausted', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await call('GET', `${server.api}/users/${user.login}`, {});
      expect(res.status).toBe(200);
      seen.push(res.headers.get('x-ratelimit-remaining')!);
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      expect(res.headers.get('x-ratelimit-resource')).toBe('core');
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    }
    expect(seen).toEqual(['2', '1', '0']);
    const over = await call('GET', `${server.api}/users/${user.login}`, {});
    expectGitHubError(over, 403, /^API rate limit exceeded for 127\.0\.0\.1\./);
    expect(over.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Authenticated callers have their own, larger budget.
    const authed = await call('GET', `${server.api}/user`, { token: user.token });
    expect(authed.status).toBe(200);
    expect(authed.headers.get('x-ratelimit-limit')).toBe('50');
  });

  it('reports the budget at /rate_limit without spending it, and does not charge 304s', async () => {
    const before = await call('GET', `${server.api}/rate_limit`, { token: user.token });
    expect(before.status).toBe(200);
    const again = await call('GET', `${server.api}/rate_limit`, { token: user.token });
    expect(again.body.resources.core.used).toBe(before.body.resources.core.used);
    const first = await call('GET', `${server.api}/user`, { token: user.token });
    const used = Number(first.headers.get('x-ratelimit-used'));
    const cached = await call('GET', `${server.api}/user`, { token: user.token, headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(cached.status).toBe(304);
    const after = await call('GET', `${server.api}/rate_limit`, { token: user.token });
    expect(after.body.resources.core.used).toBe(used);
  });

  it('sends no rate-limit headers and 404s /rate_limit when disabled', async () => {
    const off = await startServer();
    try {
      const res = await call('GET', `${off.api}/`, {});
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      expectGitHubError(await call('GET', `${off.api}/rate_limit`, {}), 404, 'Rate limiting is not enabled.');
    } finally {
      await off.close();
    }
  });

  it('has the sweeper drop windows that ended, keeping the current ones counting', async () => {
    const ctx = server.wharf.ctx;
    const bucket = `ip:${uniqueName('old-client')}`;
    const nowSec = Math.floor(Date.now() / 1000);
    // Two windows that ended long ago (a primary one and a content minute), as a busy day leaves behind.
    await ctx.db
      .insertInto('rate_limits')
      .values([
        { bucket, window_start: nowSec - 3 * 24 * 3600, used: 7 },
        { bucket: `content:${bucket}`, window_start: nowSec - 2 * 3600, used: 2 },
      ])
      .execute();
    const first = await call('GET', `${server.api}/user`, { token: user.token });
    const used = Number(first.headers.get('x-ratelimit-used'));

    const result = await sweepAssets(ctx);
    expect(result.rateLimitWindows).toBeGreaterThanOrEqual(2);
    const left = await ctx.db
      .selectFrom('rate_limits')
      .select('window_start')
      .where('bucket', 'in', [bucket, `content:${bucket}`])
      .execute();
    expect(left).toEqual([]);
    const oldest = await ctx.db
      .selectFrom('rate_limits')
      .select((eb) => eb.fn.min('window_start').as('oldest'))
      .executeTakeFirstOrThrow();
    expect(Number(oldest.oldest)).toBeGreaterThan(nowSec - server.config.rateLimit.windowSeconds - 60);
    // The current window survived: the count goes on from where it was.
    const next = await call('GET', `${server.api}/user`, { token: user.token });
    expect(Number(next.headers.get('x-ratelimit-used'))).toBe(used + 1);
  });
});
