/**
 * The fast path of remembered reads (docs/performance.md#the-fast-path) against Fastify's way:
 * two servers share one store, one answering remembered reads ahead of Fastify, the other with the
 * fast path off. Every answer — status, body and every header but the request id and the date —
 * must be the same, for every kind of caller, representation and conditional request; the fast
 * path must count against the rate limit as the route does, honour revocation at once, and write
 * the same request-log line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/config/logger.ts';
import { flushRateCounts } from '../../src/http/rate-limit.ts';
import { rememberedReadsAnswered } from '../../src/http/remembered-reads.ts';
import { addCollaborator, createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call, type CallResult } from '../support/http.ts';
import { ADMIN_TOKEN, releaseStores, startServer, type TestServer } from '../support/server.ts';

const EXTERNAL = 'http://wharf.test';
/** Per request, or per server's own count of the caller's requests (each node counts in memory first). */
const VOLATILE = new Set(['x-github-request-id', 'date', 'x-ratelimit-remaining', 'x-ratelimit-used']);

let logText = '';
let dataDir: string;
let fast: TestServer;
let framework: TestServer;
let owner: TestUser;
let reader: TestUser;
let stranger: TestUser;
let publicRepo: { full: string; name: string };
let privateRepo: { full: string; name: string };
const releaseIds: number[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-fast-reads-'));
  const env = { WHARF_EXTERNAL_URL: EXTERNAL, WHARF_READ_CACHE_TTL_MS: '60000', WHARF_RATE_LIMIT: 'true', WHARF_RATE_LIMIT_ANONYMOUS: '100000' };
  const sink = new Writable({ write: (chunk, _enc, done) => ((logText += String(chunk)), done()) });
  fast = await startServer({ dataDir, env, logger: createLogger({ logLevel: 'info', logFormat: 'json' }, sink) });
  framework = await startServer({ dataDir, env: { ...env, WHARF_READ_FAST_PATH: 'false' } });
  owner = await createUser(fast);
  reader = await createUser(fast);
  stranger = await createUser(fast);
  publicRepo = await createRepo(fast, owner, { auto_init: true });
  privateRepo = await createRepo(fast, owner, { auto_init: true, private: true });
  for (const repo of [publicRepo, privateRepo]) {
    await addCollaborator(fast, owner, repo.name, reader, 'pull');
    for (const [tag, draft] of [
      ['v1.0.0', false],
      ['v1.1.0', false],
      ['v2.0.0', true],
    ] as const) {
      const created = await call('POST', `${fast.api}/repos/${repo.full}/releases`, {
        token: owner.token,
        body: { tag_name: tag, name: tag, body: `Notes for **${tag}**`, draft },
      });
      expect(created.status).toBe(201);
      if (repo === publicRepo) releaseIds.push(created.body.id);
    }
  }
}, 120_000);

afterAll(async () => {
  await fast?.close();
  await framework?.close();
  await rm(dataDir, { recursive: true, force: true });
  await releaseStores(dataDir);
});

function reads(repo: { full: string }): string[] {
  return [
    `/repos/${repo.full}/releases/latest`,
    `/repos/${repo.full}/releases/tags/v1.0.0`,
    `/repos/${repo.full}/releases/tags/v2.0.0`,
    `/repos/${repo.full}/releases/${releaseIds[1]}`,
    `/repos/${repo.full}/releases?per_page=2`,
    `/repos/${repo.full}/releases?per_page=2&page=2`,
  ];
}

function headersOf(res: CallResult): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!VOLATILE.has(name)) out[name] = value;
  });
  return out;
}

async function get(server: TestServer, p: string, token: string | null, headers: Record<string, string> = {}): Promise<CallResult> {
  return call('GET', server.api + p, { token, headers, skipSchema: true });
}

describe('remembered reads answered ahead of Fastify', () => {
  it('answers exactly as Fastify does, header for header, for every caller, representation and validator', async () => {
    const callers: Array<[string, string | null]> = [
      ['anonymous', null],
      ['owner', owner.token],
      ['reader', reader.token],
      ['stranger', stranger.token],
    ];
    const before = rememberedReadsAnswered(fast.wharf.ctx);
    let compared = 0;
    for (const repo of [publicRepo, privateRepo]) {
      for (const p of reads(repo)) {
        for (const [who, token] of callers) {
          for (const accept of ['application/vnd.github+json', 'application/vnd.github.full+json']) {
            const where = `GET ${p} as ${who} (${accept})`;
            // The first read may render and remember; the second is then remembered on both.
            await get(fast, p, token, { accept });
            await get(framework, p, token, { accept });
            const got = await get(fast, p, token, { accept });
            const expected = await get(framework, p, token, { accept });
            expect(got.status, where).toBe(expected.status);
            expect(got.text, where).toBe(expected.text);
            expect(headersOf(got), where).toEqual(headersOf(expected));
            expect(got.headers.get('x-github-request-id'), where).toMatch(/^[0-9A-F]{4}:[0-9A-F]{4}:[0-9A-F]{6}:[0-9A-F]{6}$/);
            if (expected.status !== 200) continue;
            const validators: Array<Record<string, string>> = [
              { 'if-none-match': expected.headers.get('etag')! },
              { 'if-modified-since': expected.headers.get('last-modified') ?? '' },
            ];
            for (const validator of validators) {
              if (Object.values(validator)[0] === '') continue;
              const conditionalGot = await get(fast, p, token, { accept, ...validator });
              const conditionalExpected = await get(framework, p, token, { accept, ...validator });
              expect(conditionalGot.status, `${where} ${JSON.stringify(validator)}`).toBe(conditionalExpected.status);
              expect(conditionalGot.text).toBe(conditionalExpected.text);
              expect(headersOf(conditionalGot), `${where} ${JSON.stringify(validator)}`).toEqual(headersOf(conditionalExpected));
            }
            compared += 1;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(40);
    // The comparison was with the fast path's answers, not Fastify's on both sides.
    expect(rememberedReadsAnswered(fast.wharf.ctx) - before).toBeGreaterThan(compared);
  }, 300_000);

  it('counts each answer against the rate limit, and not a 304, as the route does', async () => {
    const latest = `/repos/${publicRepo.full}/releases/latest`;
    // The other node served this caller in the test before: its counts reach the database up to a
    // flush late (services/rate-counts.ts), and one landing mid-test would move the count here.
    await Promise.all([flushRateCounts(framework.wharf.ctx), flushRateCounts(fast.wharf.ctx)]);
    const first = await get(fast, latest, reader.token);
    const before = rememberedReadsAnswered(fast.wharf.ctx);
    const second = await get(fast, latest, reader.token);
    expect(rememberedReadsAnswered(fast.wharf.ctx)).toBe(before + 1);
    const remaining = (res: CallResult) => Number(res.headers.get('x-ratelimit-remaining'));
    expect(remaining(second)).toBe(remaining(first) - 1);
    const notModified = await get(fast, latest, reader.token, { 'if-none-match': second.headers.get('etag')! });
    expect(notModified.status).toBe(304);
    const third = await get(fast, latest, reader.token);
    expect(remaining(third)).toBe(remaining(second) - 1);
    expect(rememberedReadsAnswered(fast.wharf.ctx)).toBe(before + 3);
  });

  it('refuses a revoked token and hides a private repository from a stranger on the very next request', async () => {
    const member = await createUser(fast);
    await addCollaborator(fast, owner, privateRepo.name, member, 'pull');
    const latest = `/repos/${privateRepo.full}/releases/latest`;
    expect((await get(fast, latest, member.token)).status).toBe(200);
    expect((await get(fast, latest, member.token)).status).toBe(200);
    expect((await get(fast, latest, stranger.token)).status).toBe(404);
    expect((await get(fast, latest, null)).status).toBe(404);
    // Revoked through the other server (another node): refused here at once.
    expect((await call('DELETE', `${framework.api}/admin/users/${member.login}/authorizations`, { token: ADMIN_TOKEN })).status).toBe(204);
    const refused = await get(fast, latest, member.token);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ message: 'Bad credentials' });
  });

  it('writes one request-log line per answer, as Fastify does', async () => {
    const p = `/repos/${publicRepo.full}/releases/tags/v1.1.0`;
    const rendered = await get(fast, p, owner.token);
    const remembered = await get(fast, p, owner.token);
    const lineOf = (res: CallResult) => {
      const id = res.headers.get('x-github-request-id');
      const lines = logText
        .split('\n')
        .filter((l) => l.includes(`"reqId":"${id}"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      return lines[0]!;
    };
    // Poll: the line is written when the response has finished, which may be after the client read it.
    const deadline = Date.now() + 30_000;
    while (!logText.includes(String(remembered.headers.get('x-github-request-id'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const a = lineOf(rendered);
    const b = lineOf(remembered);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const key of ['level', 'method', 'route', 'url', 'status', 'user', 'remoteAddress', 'pid', 'hostname']) expect(b[key], key).toEqual(a[key]);
    expect(b.route).toBe('/api/v3/repos/:owner/:repo/releases/tags/*');
    expect(b.msg).toMatch(new RegExp(`^GET /api/v3${p.replace(/[.*?]/g, '\\$&')} 200 [\\d.]+ms ${owner.login}$`));
  });
});
