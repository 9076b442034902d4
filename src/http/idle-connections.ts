/**
 * @module http/idle-connections
 * Node closes a socket on which nothing moved for the server timeout (`WHARF_IDLE_TIMEOUT_MS`),
 * whether the silence is the client's or Wharf's own: a request whose answer takes longer than
 * the timeout to prepare (a loaded machine, a slow query) lost its connection with no answer at
 * all. Here the timeout closes only connections that are idle on the client's side: between
 * requests, or while an answer is being sent and the client does not read it. While Wharf is
 * still preparing an answer it waits; request bodies have their own progress watch
 * (`progress-deadline.ts`), so a client that stops sending is still cut off.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export function closeOnlyIdleConnections(server: Server): void {
  const current = new WeakMap<Socket, ServerResponse>();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => current.set(request.socket, response));
  // A listener here replaces Node's default, which destroys the socket.
  server.on('timeout', (socket: Socket) => {
    const response = current.get(socket);
    if (response && !response.headersSent && !response.writableEnded) return;
    socket.destroy();
  });
}
