/**
 * @module features/git
 * A repository's git data: the REST views and refs API (tags, branches, refs, commits, source
 * archives) and git's smart HTTP protocol (clone, fetch, push) at `{web}/{owner}/{repo}.git`,
 * whose pushes ask the refs door before their refs move (`http/push-checks.ts`).
 */
import type { AppContext } from '../context.ts';
import type { Feature } from '../features.ts';
import { gitHttpRoutes } from '../http/git-http.ts';
import { PushChecks } from '../http/push-checks.ts';
import { gitDataRoutes } from '../http/routes/git-data.ts';

const pushChecks = new WeakMap<AppContext, PushChecks>();

export function pushChecksFor(ctx: AppContext): PushChecks {
  let checks = pushChecks.get(ctx);
  if (!checks) {
    checks = PushChecks.forConfig(ctx.config);
    pushChecks.set(ctx, checks);
  }
  return checks;
}

export const gitFeature: Feature = {
  name: 'git',
  api: gitDataRoutes,
  raw: (app, ctx) => gitHttpRoutes(app, ctx, pushChecksFor(ctx)),
  async start(ctx) {
    await pushChecksFor(ctx).start();
  },
  async stop(ctx) {
    await pushChecks.get(ctx)?.stop();
    pushChecks.delete(ctx);
  },
};
