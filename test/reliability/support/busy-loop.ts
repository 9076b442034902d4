/**
 * Keeps the event loop busy for `ms`, as a long synchronous stretch of work in a loaded process
 * does: timers and sockets wait until it ends. The tests share the server's process, so this
 * holds the server's loop.
 */
export function starveLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}
