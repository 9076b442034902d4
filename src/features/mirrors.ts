/**
 * @module features/mirrors
 * Pull mirrors: the API extension and the scheduler. The scheduler runs on every node with
 * `WHARF_EVENT_CONSUMERS` on; a lease per mirror in the database (`mirror:<id>`) makes one node
 * at a time sync a given mirror.
 */
import type { Feature } from '../features.ts';
import type { AppContext } from '../context.ts';
import { mirrorRoutes } from '../http/routes/mirrors.ts';
import { syncDueMirrors } from '../services/mirrors.ts';
import { PollLoop } from '../util/poll-loop.ts';

const loops = new WeakMap<AppContext, PollLoop>();

/** Has this node's scheduler look for due mirrors now (after "Sync now"); nothing when it runs none. */
export function wakeMirrorScheduler(ctx: AppContext): void {
  loops.get(ctx)?.wake();
}

export const mirrorsFeature: Feature = {
  name: 'mirrors',
  api: (app, ctx) => mirrorRoutes(app, ctx, () => loops.get(ctx)?.wake()),
  async start(ctx) {
    if (!ctx.config.eventConsumers) return;
    const loop = new PollLoop(
      async () => {
        await syncDueMirrors(ctx);
        return ctx.config.mirrors.pollMs;
      },
      { idleMs: ctx.config.mirrors.pollMs, onError: (err) => ctx.log.error({ err }, 'mirror scheduler round failed') },
    );
    loop.start();
    loops.set(ctx, loop);
  },
  async stop(ctx) {
    const loop = loops.get(ctx);
    loops.delete(ctx);
    await loop?.stop();
  },
};
