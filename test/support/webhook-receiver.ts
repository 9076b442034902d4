/**
 * A real HTTP receiver for webhook tests, on a loopback port: records every request (headers and
 * raw body) and answers as the test tells it (status, or hang until the client gives up).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The JSON payload (decoded from `payload=` for form deliveries). */
  json: any;
  at: number;
}

export type Behaviour = (req: Received, index: number) => number | 'hang';

export class WebhookReceiver {
  readonly received: Received[] = [];
  behaviour: Behaviour = () => 200;
  #server: http.Server;
  #waiters: Array<() => void> = [];
  port = 0;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(host = '127.0.0.1'): Promise<WebhookReceiver> {
    const server = http.createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const raw = String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded') ? (new URLSearchParams(body).get('payload') ?? '') : body;
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          json = null;
        }
        const rec: Received = { headers: req.headers, body, json, at: Date.now() };
        const index = receiver.received.length;
        receiver.received.push(rec);
        for (const w of receiver.#waiters.splice(0)) w();
        const answer = receiver.behaviour(rec, index);
        if (answer === 'hang') return; // never answers; the sender's timeout ends it
        res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    receiver.port = (server.address() as AddressInfo).port;
    return receiver;
  }

  url(host = '127.0.0.1'): string {
    return `http://${host}:${this.port}/hook`;
  }

  /** Waits until `predicate` holds over what was received (polling on every arrival). */
  async waitFor(predicate: (received: Received[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `receiver: condition not met in ${timeoutMs} ms; got ${this.received.map((r) => `${String(r.headers['x-github-event'])}:${r.json?.action ?? ''}`).join(', ')}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
