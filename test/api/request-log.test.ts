/**
 * The request log: exactly one line per request with method, route, status, duration, user and,
 * for failures, the reason; credentials in query strings redacted; JSON or pretty output.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from '../../src/config/logger.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

function sink(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({ write: (chunk, _enc, done) => ((text += String(chunk)), done()) });
  return { stream, lines: () => text.split('\n').filter((line) => line.length > 0) };
}

describe('request log', () => {
  const out = sink();
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    server = await startServer({ logger: createLogger({ logLevel: 'info', logFormat: 'json' }, out.stream) });
    alice = await createUser(server);
  });
  afterAll(() => server.close());

  /** The JSON lines logged for the request answered with this request id. */
  function linesOf(requestId: string | null): Array<Record<string, unknown>> {
    expect(requestId).toBeTruthy();
    return out
      .lines()
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.reqId === requestId);
  }

  it('writes one line for a successful request, with route, status, duration and user', async () => {
    const repo = await createRepo(server, alice);
    const res = await call('GET', `${server.api}/repos/${repo.full}/releases?per_page=5`, { token: alice.token });
    expect(res.status).toBe(200);
    const lines = linesOf(res.headers.get('x-github-request-id'));
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      level: 30,
      method: 'GET',
      route: '/api/v3/repos/:owner/:repo/releases',
      url: `/api/v3/repos/${repo.full}/releases?per_page=5`,
      status: 200,
      user: alice.login,
      msg: expect.stringMatching(new RegExp(`^GET /api/v3/repos/${repo.full}/releases\\?per_page=5 200 [\\d.]+ms ${alice.login}$`)),
    });
    expect(typeof line!.responseTime).toBe('number');
    expect(line!.error).toBeUndefined();
  });

  it('says why a request failed: the message the client was given', async () => {
    const missing = await call('GET', `${server.api}/repos/${alice.login}/no-such-repo/releases`, { token: alice.token });
    expect(missing.status).toBe(404);
    expect(linesOf(missing.headers.get('x-github-request-id'))).toEqual([
      expect.objectContaining({ status: 404, user: alice.login, error: 'Not Found', route: '/api/v3/repos/:owner/:repo/releases' }),
    ]);

    const repo = await createRepo(server, alice);
    const invalid = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: alice.token, body: { tag_name: '' } });
    expect(invalid.status).toBe(422);
    const [line] = linesOf(invalid.headers.get('x-github-request-id'));
    expect(line).toMatchObject({ status: 422, error: 'Validation Failed', method: 'POST' });
    expect(String(line!.msg)).toMatch(/ 422 [\d.]+ms \S+ — Validation Failed$/);

    const anonymous = await call('GET', `${server.api}/user`);
    expect(anonymous.status).toBe(401);
    expect(linesOf(anonymous.headers.get('x-github-request-id'))).toEqual([expect.objectContaining({ status: 401, user: null, error: 'Requires authentication' })]);

    const bad = await call('GET', `${server.api}/user`, { token: 'not-a-real-token' });
    expect(bad.status).toBe(401);
    expect(linesOf(bad.headers.get('x-github-request-id'))).toEqual([expect.objectContaining({ status: 401, user: null, error: 'Bad credentials' })]);
  });

  it('logs unrouted paths and pages with a null route and the page failure', async () => {
    const before = out.lines().length;
    const res = await fetch(`${server.base}/no-such-owner/no-such-repo/releases`);
    expect(res.status).toBe(404);
    const added = out
      .lines()
      .slice(before)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.url === '/no-such-owner/no-such-repo/releases');
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ status: 404, user: null, error: expect.any(String) });
  });

  it('keeps passing health probes out of the info log', async () => {
    const probes = () => out.lines().filter((line) => line.includes('"url":"/healthz"')).length;
    const before = probes();
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.base}/healthz?x`)).status).toBe(200);
    const missing = await fetch(`${server.base}/healthz/nope`);
    expect(missing.status).toBe(404);
    expect(probes()).toBe(before);
    expect(out.lines().some((line) => line.includes('"url":"/healthz/nope"'))).toBe(true);
  });

  it('keeps query-string credentials out of the log', async () => {
    const res = await call('GET', `${server.api}/meta?access_token=sekrit-token-value&per_page=1`, { skipSchema: true });
    const lines = linesOf(res.headers.get('x-github-request-id'));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.url).toBe('/api/v3/meta?access_token=[REDACTED]&per_page=1');
    expect(out.lines().join('\n')).not.toContain('sekrit-token-value');
  });
});

describe('log format', () => {
  it('defaults to pretty on a terminal and JSON otherwise', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('prints a request as one readable line in pretty format', async () => {
    const out = sink();
    const server = await startServer({ logger: createLogger({ logLevel: 'info', logFormat: 'pretty' }, out.stream) });
    try {
      const res = await call('GET', `${server.api}/repos/nobody/nothing`);
      expect(res.status).toBe(404);
      const requestLines = out.lines().filter((line) => line.includes('/repos/nobody/nothing'));
      expect(requestLines).toHaveLength(1);
      expect(requestLines[0]).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/api\/v3\/repos\/nobody\/nothing 404 [\d.]+ms — Not Found \{.*"reqId":"[0-9A-F:]+".*"route":"\/api\/v3\/repos\/:owner\/:repo"/,
      );
      expect(requestLines[0]).not.toContain('{"level"');
    } finally {
      await server.close();
    }
  });
});
