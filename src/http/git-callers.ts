/**
 * @module http/git-callers
 * Every request's git work runs on behalf of its caller (`git/git-slots.ts`): the user, or the
 * anonymous client's address, for the pool's fair turns; and a signal that fires when the client
 * goes away before its answer is complete, which kills the git processes still working for it and
 * gives up its places in the queue.
 */
import { setMaxListeners } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { runAsCaller } from '../git/git-slots.ts';

export function trackGitCallers(app: FastifyInstance): void {
  // A callback hook: the handler then runs inside `runAsCaller`, and so does all it awaits.
  app.addHook('preHandler', (request, reply, done) => {
    // Most requests never run git: the signal (a controller and a 'close' listener) is made only
    // when git work first asks for it.
    let abandoned: AbortController | null = null;
    const signal = (): AbortSignal => {
      if (!abandoned) {
        abandoned = new AbortController();
        const controller = abandoned;
        // One request may run many git processes at once (a GraphQL query reads many releases' tags),
        // each listening for the abandonment: that is not a leak, so no listener limit applies.
        setMaxListeners(0, controller.signal);
        // Already gone (a body cut off by its deadline while a hook waited, or the client hung up
        // while a query ran): no git process may start for it.
        if ((reply.raw.destroyed && !reply.raw.writableFinished) || request.raw.socket?.destroyed) controller.abort();
        else {
          reply.raw.once('close', () => {
            if (!reply.raw.writableFinished) controller.abort();
          });
        }
      }
      return abandoned.signal;
    };
    // The key is read when git work asks for a turn, not now: some routes learn their caller only
    // in the handler (GraphQL, browser downloads), and a signed-in caller is a user wherever it
    // connects from, so its turns are its own and not its address's.
    const caller = {
      get key() {
        return request.principal ? `user:${request.principal.user.id}` : `ip:${request.ip}`;
      },
      get signal() {
        return signal();
      },
    };
    runAsCaller(caller, done);
  });
}
