/**
 * @module features/health
 * `GET /healthz`: the process is up and its event loop answers. `GET /readyz`: this node can
 * serve — the database answers, the blob store can be written and git runs — and it is not
 * shutting down (load balancers stop sending it traffic as soon as SIGTERM arrives). Both are
 * unauthenticated, answer small JSON, and are cheap enough to poll every few seconds.
 */
import type { AppContext } from '../context.ts';
import { sql } from 'kysely';
import type { Feature } from '../features.ts';
import { runGit } from '../git/git.ts';

/** Nodes that are stopping, by context: readiness fails from the first moment of shutdown. */
const stopping = new WeakSet<AppContext>();

/** Each check's outcome: "ok" or what failed. */
async function readiness(ctx: AppContext): Promise<Record<string, string>> {
  const probe = async (fn: () => Promise<unknown>): Promise<string> => {
    try {
      await withTimeout(fn(), 2_000);
      return 'ok';
    } catch (err) {
      return (err as Error).message || String(err);
    }
  };
  const [database, blobStore, git] = await Promise.all([probe(() => sql`select 1`.execute(ctx.db)), probe(() => ctx.blobs.check()), probe(() => runGit(null, ['--version']))]);
  return { database, blobStore, git, shutdown: stopping.has(ctx) ? 'shutting down' : 'ok' };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const healthFeature: Feature = {
  name: 'health',
  web(app, ctx) {
    app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const checks = await readiness(ctx);
      const ready = Object.values(checks).every((v) => v === 'ok');
      return reply
        .code(ready ? 200 : 503)
        .header('cache-control', 'no-store')
        .send({ status: ready ? 'ready' : 'unready', checks });
    });
  },
  async stop(ctx) {
    stopping.add(ctx);
  },
};
