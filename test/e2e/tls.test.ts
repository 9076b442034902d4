import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { startTlsServer, type TestCa, type TlsTestServer } from '../support/tls.ts';

let ca: TestCa;
let server: TestServer;
let alice: TestUser;
let tls: TlsTestServer;

beforeAll(async () => {
  tls = await startTlsServer({ WHARF_HTTP2: 'true' });
  ({ ca, server } = tls);
  alice = await createUser(server);
});
afterAll(() => tls.close());

function rawGet(url: string, ca?: string): Promise<{ status: number; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, alpn: res.socket && 'alpnProtocol' in res.socket ? (res.socket.alpnProtocol as string | false) : null });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS served by Wharf itself', () => {
  it('serves the API over TLS with every URL on the https origin the client used', async () => {
    expect(server.base).toMatch(/^https:\/\/localhost:\d+$/);
    const root = await call('GET', `${server.api}/`, { token: alice.token });
    expect(root.status).toBe(200);
    expect(root.body.current_user_url).toBe(`${server.api}/user`);
    const repo = await createRepo(server, alice);
    expect(repo.json.url).toBe(`${server.api}/repos/${repo.full}`);
    expect(repo.json.clone_url).toBe(`${server.base}/${repo.full}.git`);
  });

  it('is refused by a client that does not trust the CA, and accepted by one that does', async () => {
    await expect(rawGet(`${server.api}/`)).rejects.toThrow(/self[- ]signed|unable to get local issuer|certificate/i);
    const ok = await rawGet(`${server.api}/`, ca.ca);
    expect(ok.status).toBe(200);
  });

  it('accepts git pushes and clones over HTTPS, on HTTP/1.1 and HTTP/2', async () => {
    const repo = await createRepo(server, alice);
    const work = await WorkRepo.create();
    const sha = await work.commit('over tls');
    await work.push(server, repo.full, alice.token, 'refs/heads/main');
    const branches = await call('GET', `${server.api}/repos/${repo.full}/branches`, { token: alice.token });
    expect(branches.body[0]).toMatchObject({ name: 'main', commit: { sha } });
    const url = new URL(`${server.base}/${repo.full}.git`);
    url.username = 'x';
    url.password = alice.token;
    for (const version of ['HTTP/1.1', 'HTTP/2']) {
      const target = path.join(await mkdtemp(path.join(tmpdir(), 'wharf-clone-')), 'c');
      await work.git('-c', `http.version=${version}`, 'clone', '-q', url.toString(), target);
      expect(await work.git('-C', target, 'rev-parse', 'HEAD')).toBe(sha);
    }
  });

  it('speaks HTTP/2 to clients that ask for it (ALPN), with the same answers', async () => {
    const session = http2Connect(server.base, { ca: ca.ca });
    try {
      expect(await new Promise((resolve) => session.on('connect', () => resolve(session.alpnProtocol)))).toBe('h2');
      const ask = (headers: Record<string, string>, body?: string) =>
        new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
          const stream = session.request(headers);
          let text = '';
          let head: Record<string, unknown> = {};
          stream.setEncoding('utf8');
          stream.on('response', (h) => (head = h));
          stream.on('data', (chunk: string) => (text += chunk));
          stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, text }));
          stream.on('error', reject);
          stream.end(body);
        });
      const root = await ask({ ':path': '/api/v3/', authorization: `token ${alice.token}` });
      expect(root.status).toBe(200);
      expect(root.headers['x-oauth-scopes']).toBe('repo, read:org');
      expect(JSON.parse(root.text).current_user_url).toBe(`${server.api}/user`);
      const gql = await ask(
        { ':path': '/api/graphql', ':method': 'POST', authorization: `token ${alice.token}`, 'content-type': 'application/json' },
        JSON.stringify({ query: '{viewer{login}}' }),
      );
      expect(JSON.parse(gql.text)).toEqual({ data: { viewer: { login: alice.login } } });
      const missing = await ask({ ':path': '/api/v3/repos/nobody/nothing' });
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.text).message).toBe('Not Found');
    } finally {
      session.close();
    }
  });

  it('shuts down promptly while an HTTP/2 client keeps its connection open', async () => {
    const other = await startServer({ env: { WHARF_TLS_CERT: ca.certFile, WHARF_TLS_KEY: ca.keyFile, WHARF_HTTP2: 'true' }, hostName: 'localhost' });
    const session = http2Connect(other.base, { ca: ca.ca });
    session.on('error', () => {});
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const stream = session.request({ ':path': '/api/v3/' });
      stream.on('data', () => {});
      stream.on('end', resolve);
      stream.on('error', reject);
      stream.end();
    });
    const started = Date.now();
    await other.close();
    await goaway;
    // Without a GOAWAY the idle session would hold the server open for its 72 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
