/**
 * @module http/idle-connections
 * Node closes a socket on which nothing moved for the server timeout (`WHARF_IDLE_TIMEOUT_MS`),
 * whether the silence is the client's or Wharf's own: a request whose answer takes longer than
 * the timeout to prepare (a loaded machine, a slow query) lost its connection with no answer at
 * all. Here the timeout closes only connections that are idle on the client's side: between
 * requests, or while an answer is being sent and the client does not read it. While Wharf is
 * still preparing an answer it waits; request bodies have their own progress watch
 * (`progress-deadline.ts`), so a client that stops sending is still cut off.
 *
 * On close, the same judgement runs faster (`closeStalledWhileClosing`): a server closing waits
 * for answers in flight, but an answer the client has stopped reading (a download whose response
 * was never consumed) would otherwise hold the close for the whole idle timeout.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** While closing, an answer whose bytes stopped moving to the client for this long is dropped. */
export const STALLED_WHILE_CLOSING_MS = 5_000;

export interface ConnectionWatch {
  /** While the server closes: drops connections whose answer stalled on the client's side. */
  closeStalledWhileClosing(): () => void;
}

export function closeOnlyIdleConnections(server: Server): ConnectionWatch {
  const current = new WeakMap<Socket, ServerResponse>();
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => current.set(request.socket, response));
  // A listener here replaces Node's default, which destroys the socket. The keep-alive timeout
  // arrives here too. A socket timer fires in the timers phase, before the loop reads the sockets:
  // after a starved loop, a request that arrived in time may still wait in the kernel, and closing
  // its connection now would drop it unanswered (a reset, since its bytes are unread). So the
  // judgement waits for the poll phase (`setImmediate`) and spares a connection that received
  // bytes meanwhile; Node re-arms the timer on that activity.
  server.on('timeout', (socket: Socket) => {
    const bytesRead = socket.bytesRead;
    setImmediate(() => {
      if (socket.destroyed || socket.bytesRead !== bytesRead) return;
      const response = current.get(socket);
      if (response && !response.headersSent && !response.writableEnded) return;
      socket.destroy();
    });
  });
  return {
    closeStalledWhileClosing() {
      const seen = new Map<Socket, { mark: string; since: number }>();
      const timer = setInterval(() => {
        const now = Date.now();
        for (const socket of open) {
          const response = current.get(socket);
          // Only answers being sent, with bytes waiting that the client does not take.
          if (!response || !response.headersSent || response.writableFinished || socket.writableLength === 0) {
            seen.delete(socket);
            continue;
          }
          // Bytes move when the response writes more, or the kernel takes buffered ones.
          const mark = `${socket.bytesWritten}/${socket.writableLength}`;
          const last = seen.get(socket);
          if (!last || last.mark !== mark) seen.set(socket, { mark, since: now });
          else if (now - last.since >= STALLED_WHILE_CLOSING_MS) socket.destroy();
        }
      }, 250);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
