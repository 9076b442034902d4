/**
 * Raw HTTP over a socket, for requests no well-behaved client library sends: trickled headers or
 * bodies, a Content-Length that lies, or nothing at all.
 */
import net from 'node:net';

export interface RawResponse {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connect to close. */
  elapsed: number;
}

export interface RawConnection {
  socket: net.Socket;
  /** Resolves when the server closes the connection, with whatever it answered. */
  closed: Promise<RawResponse>;
  write(data: string | Buffer): boolean;
}

export function parseRaw(text: string, elapsed: number): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || end < 0) return { status: 0, headers: {}, body: text, elapsed };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(end + 4), elapsed };
}

export function connect(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    const closed = new Promise<RawResponse>((done) => {
      socket.on('close', () => done(parseRaw(Buffer.concat(chunks).toString('utf8'), Date.now() - start)));
    });
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        write: (data) => (socket.destroyed ? false : socket.write(data)),
      }),
    );
    socket.once('error', reject);
  });
}

/** Sends `pieces` one by one, `gapMs` apart, until the server closes the connection. */
export async function trickle(conn: RawConnection, pieces: Array<string | Buffer>, gapMs: number): Promise<RawResponse> {
  let closed = false;
  void conn.closed.then(() => (closed = true));
  for (const piece of pieces) {
    if (closed) break;
    conn.write(piece);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return conn.closed;
}

export function portOf(base: string): number {
  return Number(new URL(base).port);
}
