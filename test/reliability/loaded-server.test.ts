/**
 * A loaded server answers every request. When the event loop is busy (a burst of GraphQL, git
 * processes, the rest of the suite on two cores), timers run before the sockets are read: a
 * deadline judged on the clock then cuts off a client whose body already arrived, and closing a
 * socket with unread bytes resets the connection, so the client never reads the answer
 * (`read ECONNRESET`). Deadlines here are judged on bytes that arrived, and a connection is only
 * ever closed after its answer, gracefully.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, uniqueName } from '../support/fixtures.ts';
import { workingChildGits as childGits } from '../support/processes.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { starveLoop } from './support/busy-loop.ts';
import { parseRaw, portOf } from './support/raw-http.ts';

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startServer({ env: { WHARF_BODY_TIMEOUT_MS: '300', WHARF_BODY_MIN_RATE: '1024' } });
  port = portOf(server.base);
});
afterAll(() => server?.close());

interface Exchange {
  socket: net.Socket;
  /** The whole answer once the server closes the connection (or one complete answer arrives), and any socket error. */
  answer: Promise<{ status: number; body: string; error: string | null }>;
}

function open(): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | null = null;
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const answer = new Promise<{ status: number; body: string; error: string | null }>((done) => {
      socket.on('close', () => {
        const res = parseRaw(Buffer.concat(chunks).toString('utf8'), 0);
        done({ status: res.status, body: res.body, error });
      });
    });
    socket.once('connect', () => resolve({ socket, answer }));
    socket.once('error', reject);
  });
}

const QUERY = JSON.stringify({ query: '{ meta { __typename } }' });
const head = (length: number, path = '/api/graphql') =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;

describe('a starved event loop', () => {
  it('answers a request whose body arrived while the loop was busy past the body timeout', async () => {
    const results = [];
    for (const path of ['/api/graphql', '/api/v3/markdown']) {
      const body = path === '/api/graphql' ? QUERY : JSON.stringify({ text: 'hello' });
      const ex = await open();
      ex.socket.write(head(Buffer.byteLength(body), path));
      // The server has the headers and waits for the body…
      await new Promise((r) => setTimeout(r, 100));
      // …which reaches the kernel at once, while the loop is busy for three body timeouts. (Busy in
      // the check phase: the next iteration runs its due timers before it reads any socket.)
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          ex.socket.write(body);
          starveLoop(1000);
          resolve();
        }),
      );
      results.push(await ex.answer);
    }
    for (const res of results) {
      expect(res.error).toBeNull();
      expect(res.status).not.toBe(408);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(500);
    }
  });

  it('still cuts off a client that stops sending, with a 408 it can read (no reset)', async () => {
    const ex = await open();
    // A body that never comes, and more bytes than the server will read after it gave up.
    ex.socket.write(head(200_000));
    const answer = await ex.answer;
    expect(answer.error).toBeNull();
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body).message).toBe('Request Timeout');
  });

  it('cuts off a body that trickles below the minimum rate, with a 408 it can read', async () => {
    const ex = await open();
    ex.socket.write(head(10_000));
    let sent = 0;
    const trickle = setInterval(() => {
      if (!ex.socket.destroyed && ex.socket.writable) ex.socket.write('x');
      sent++;
    }, 50);
    const started = Date.now();
    const answer = await ex.answer;
    clearInterval(trickle);
    expect(answer.error).toBeNull();
    expect(answer.status).toBe(408);
    // Never idle (a byte every 50 ms), yet cut once the grace period showed ~20 bytes/s.
    expect(sent).toBeGreaterThan(4);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('keeps idle connections open longer than common clients do (they close first)', async () => {
    const ex = await open();
    ex.socket.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await new Promise<string>((resolve) => ex.socket.once('data', (c: Buffer) => resolve(c.toString('latin1'))));
    ex.socket.destroy();
    // Node's fetch and undici keep idle sockets 4 s, Go's clients (gh, goreleaser) 90 s.
    expect(first).toMatch(/\r\nKeep-Alive: timeout=95\r\n/i);
  });
});

describe('header and keep-alive deadlines on a starved loop', () => {
  /** A server whose connections are checked often, and a connection to it accepted and settled. */
  async function settled(env: Record<string, string>): Promise<{ s: TestServer; ex: Exchange }> {
    const s = await startServer({ env });
    const ex = await new Promise<Exchange>((resolve, reject) => {
      const socket = net.connect(portOf(s.base), '127.0.0.1');
      const chunks: Buffer[] = [];
      let error: string | null = null;
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
      const answer = new Promise<{ status: number; body: string; error: string | null }>((done) => {
        socket.on('close', () => {
          const text = Buffer.concat(chunks).toString('latin1');
          // The last answer on the connection (a keep-alive connection may carry two).
          const last = text.lastIndexOf('HTTP/1.1 ');
          const res = parseRaw(last >= 0 ? text.slice(last) : text, 0);
          done({ status: res.status, body: res.body, error });
        });
      });
      socket.once('connect', () => resolve({ socket, answer }));
      socket.once('error', reject);
    });
    // The server has accepted the connection: its header clock runs from here.
    await new Promise((r) => setTimeout(r, 100));
    return { s, ex };
  }

  it('answers a request whose headers arrived while the loop was busy past the header timeout', async () => {
    const { s, ex } = await settled({ WHARF_HEADERS_TIMEOUT_MS: '300' });
    try {
      // The headers reach the kernel at once, while the loop is busy for three header timeouts:
      // Node's own check, on a timer, ran before the sockets were read and answered 408.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          ex.socket.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
          starveLoop(1000);
          resolve();
        }),
      );
      const answer = await ex.answer;
      expect(answer.error).toBeNull();
      expect(answer.status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('still answers 408 to a client whose headers never finish', async () => {
    const { s, ex } = await settled({ WHARF_HEADERS_TIMEOUT_MS: '300' });
    try {
      ex.socket.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\n');
      const answer = await ex.answer;
      expect(answer.error).toBeNull();
      expect(answer.status).toBe(408);
    } finally {
      await s.close();
    }
  });

  it('serves a request sent on a keep-alive connection just before its timeout while the loop was busy', async () => {
    const { s, ex } = await settled({ WHARF_KEEPALIVE_TIMEOUT_MS: '1000' });
    try {
      ex.socket.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => ex.socket.once('data', resolve));
      await new Promise((r) => setTimeout(r, 500));
      // The next request reaches the kernel before the keep-alive timeout; the loop is then busy
      // until well past it (and past Node's grace beyond it). Closed on the timer, the connection
      // was reset with the request unread: no answer at all.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          ex.socket.write('GET /api/v3/meta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
          starveLoop(2500);
          resolve();
        }),
      );
      const answer = await ex.answer;
      expect(answer.error).toBeNull();
      expect(answer.status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('the idle timeout', () => {
  it('does not close a connection while its answer is being prepared', async () => {
    const idle = await startServer({ env: { WHARF_IDLE_TIMEOUT_MS: '300' } });
    try {
      const owner = await createUser(idle, uniqueName('idle'));
      const repo = await createRepo(idle, owner, { auto_init: true });
      // Once the request is read the route starts git; the loop is then busy for longer than the
      // idle timeout, with not a byte moving on the socket while the answer is prepared.
      const onRequest = () => setImmediate(() => starveLoop(1000));
      idle.wharf.app.server.once('request', onRequest);
      const res = await fetch(`${idle.api}/repos/${repo.full}/tags`, { headers: { authorization: `token ${owner.token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([]);
    } finally {
      await idle.close();
    }
  });
});

describe('git smart HTTP bodies', () => {
  /** git processes this test process started (the server runs in it). */
  it('cuts off a trickled git request body and stops its git process', async () => {
    const gitServer = await startServer({ env: { WHARF_BODY_TIMEOUT_MS: '300', WHARF_BODY_MIN_RATE: '1024' } });
    try {
      const owner = await createUser(gitServer, uniqueName('gitslow'));
      const repo = await createRepo(gitServer, owner, { auto_init: true });
      const socket = net.connect(portOf(gitServer.base), '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', () => undefined);
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.write(`POST /${repo.full}.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\nContent-Length: 100000\r\n\r\n0032want `);
      const trickle = setInterval(() => socket.writable && socket.write('0'), 50);
      await closed;
      clearInterval(trickle);
      expect(parseRaw(Buffer.concat(chunks).toString('utf8'), 0).status).toBe(408);
      // The git process that was reading the body is gone with the request.
      const until = Date.now() + 5000;
      while (childGits() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(childGits()).toBe(0);
    } finally {
      await gitServer.close();
    }
  });
});
