/**
 * @module http/progress-deadline
 * Deadlines on request bodies measured in bytes that arrived, not in wall-clock time.
 *
 * A timer that fires while the event loop is busy runs before the loop reads the sockets
 * (timers come before the poll phase): a body that arrived on time can still sit unread in the
 * kernel. Judging such a request "too slow" and closing its socket would drop a client that did
 * nothing wrong, and closing a socket with unread bytes makes the kernel send a reset that
 * destroys the answer written just before. So every check here runs after the loop has had a
 * chance to read (a timer, then `setImmediate`, which runs after the poll phase), and time the
 * loop spent starved (beyond one check interval) is not counted against the client.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface ProgressRule {
  /** Longest time without a new byte. */
  idleMs: number;
  /** Slowest average rate accepted (bytes per second), judged once `graceMs` of observed time has passed; 0: none. */
  minBytesPerSecond: number;
  graceMs: number;
}

export type Stall = 'idle' | 'slow';

export interface ProgressSource {
  /** Bytes received so far (anything monotonic: the socket's `bytesRead`, a byte counter). */
  bytes(): number;
  /** True while the client is not to blame for missing progress (our side is not reading). */
  waitingOnUs?(): boolean;
}

/**
 * Watches `source` and calls `onStall` once when the client stops making progress by `rule`.
 * Returns a function that stops watching (call it when the body is complete or the request ends).
 */
export function watchProgress(source: ProgressSource, rule: ProgressRule, onStall: (why: Stall) => void): () => void {
  const interval = Math.max(10, Math.min(1000, Math.floor(rule.idleMs / 4)));
  const startBytes = source.bytes();
  let lastBytes = startBytes;
  let lastCheck = Date.now();
  /** Observed time: wall-clock time minus what the loop spent starved beyond one interval. */
  let observed = 0;
  let observedAtProgress = 0;
  let stopped = false;
  let immediate: NodeJS.Immediate | null = null;

  const judge = () => {
    immediate = null;
    if (stopped) return;
    const now = Date.now();
    const elapsed = Math.min(now - lastCheck, 2 * interval);
    lastCheck = now;
    const bytes = source.bytes();
    // Time our side spends not reading is not the client's: the clock stops.
    if (!source.waitingOnUs?.()) observed += elapsed;
    if (bytes !== lastBytes) {
      lastBytes = bytes;
      observedAtProgress = observed;
    }
    let why: Stall | null = null;
    if (observed - observedAtProgress >= rule.idleMs) why = 'idle';
    else if (rule.minBytesPerSecond > 0 && observed >= rule.graceMs && ((bytes - startBytes) * 1000) / observed < rule.minBytesPerSecond) why = 'slow';
    if (why) {
      stop();
      onStall(why);
    }
  };
  const timer = setInterval(() => {
    // After the poll phase: bytes waiting in the kernel have been read by then.
    immediate ??= setImmediate(judge);
  }, interval);
  timer.unref();

  function stop() {
    stopped = true;
    clearInterval(timer);
    if (immediate) clearImmediate(immediate);
  }
  return stop;
}

/** How long a socket answered with an error stays open to drain what the client still sends. */
const LINGER_MS = 1_000;

/**
 * Ends a connection after `answer` without a reset: the answer is written and the sending side
 * closed, then whatever the client still sends is read and discarded until it closes its side
 * (or `LINGER_MS` passes). Destroying a socket with unread input instead makes the kernel send a
 * reset, and a client that has not read the answer yet loses it (`read ECONNRESET`): the
 * "lingering close" web servers have always done.
 */
export function closeGracefully(socket: Socket, answer?: string): void {
  if (socket.destroyed) return;
  if (answer !== undefined && socket.writable) socket.end(answer);
  else if (socket.writable) socket.end();
  socket.on('data', () => undefined);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

const lingering = new WeakSet<Socket>();

/**
 * Closes the connection of a request whose body was not read to its end once its answer is
 * written (a refused upload is not drained: the rest of a 2 GiB file would otherwise still
 * arrive), without a reset. Node closes a `Connection: close` socket right after the answer
 * (`destroySoon`); with the body still arriving, the kernel then resets the connection and a
 * client that has not read the answer yet gets none at all. Here the socket lingers instead
 * (`closeGracefully`). HTTP/2 ends the stream alone and needs nothing.
 */
export function closeAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete || request.raw.httpVersionMajor !== 1) return;
  reply.header('connection', 'close');
  // The answer's socket: a request stream destroyed by its reader (an upload cut off) has let go of its own.
  const socket = (reply.raw.socket ?? request.raw.socket) as Socket | null;
  if (!socket || lingering.has(socket)) return;
  lingering.add(socket);
  // Node calls it (when present) after the last byte of a `Connection: close` answer.
  socket.destroySoon = () => closeGracefully(socket);
}
