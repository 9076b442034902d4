/**
 * @module http/header-deadline
 * Node checks its header deadline (`headersTimeout`) on an interval timer, and a timer runs before
 * the event loop reads the sockets. After the loop was starved (a burst of work on a loaded
 * machine), headers that reached the kernel in time are still unread when the check runs, and the
 * client, which did nothing wrong, is answered `408` instead of its result. Here the same check
 * runs after the poll phase (a timer, then `setImmediate`): whatever arrived has been read and
 * parsed by then, and only connections whose headers really are late are cut off — with the usual
 * `408` through the server's `clientError` handler.
 *
 * The check is Node's own (its list of connections and their deadlines), only moved in the loop.
 * Node keeps both behind symbols; should a Node release rename them, its own check stays on.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

interface ConnectionsList {
  expired(headersTimeout: number, requestTimeout: number): Array<{ socket?: Socket | null }>;
}

function internal(server: Server, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(server).find((s) => s.description === description);
}

/** Moves Node's header (and request) deadline check, every `intervalMs`, after the poll phase; call before `listen`. */
export function checkHeaderDeadlinesAfterReading(server: Server, intervalMs: number): void {
  server.once('listening', () => {
    const intervalKey = internal(server, 'http.server.connectionsCheckingInterval');
    const connectionsKey = internal(server, 'http.server.connections');
    const slots = server as unknown as Record<symbol, unknown>;
    const connections = connectionsKey ? (slots[connectionsKey] as ConnectionsList | undefined) : undefined;
    if (!intervalKey || typeof connections?.expired !== 'function') return;
    clearInterval(slots[intervalKey] as NodeJS.Timeout);
    let pending: NodeJS.Immediate | null = null;
    const check = () => {
      pending = null;
      if (!server.listening || (server.headersTimeout === 0 && server.requestTimeout === 0)) return;
      for (const parser of connections.expired(server.headersTimeout, server.requestTimeout)) {
        const socket = parser.socket;
        if (!socket || socket.destroyed) continue;
        // As Node does: the server's clientError handler answers (408) and closes.
        if (socket.listenerCount('error') === 0) socket.on('error', () => undefined);
        server.emit('clientError', Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
      }
    };
    const timer = setInterval(() => {
      pending ??= setImmediate(check);
    }, intervalMs);
    timer.unref();
    // Node clears this slot when the server closes.
    slots[intervalKey] = timer;
  });
}
