/**
 * @module http/push-checks
 * Where a push's pre-receive hook (`git/hooks.ts`) asks the refs door before git moves a ref.
 *
 * Each Wharf process listens on a loopback port of its own (chosen by the system, never exposed)
 * for its own pushes only: the process that runs a push's `git receive-pack` registers the push
 * (repository, pusher) under a random id and a one-push secret, hands both to git through the
 * environment, and forgets them when git has exited. The hook posts git's update lines to
 * `/pre-receive/{id}` with the secret; an unknown id or a wrong secret gets 403, so another local
 * user reaching the port learns nothing and can approve nothing. The rules themselves read the
 * database and git (`services/refs.ts`), so every node answers alike; only "which push is this"
 * lives in the memory of the process that is serving it, for as long as it serves it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { AppContext } from '../context.ts';
import type { Repository } from '../db/schema.ts';
import { hookEnvironment, installHooks } from '../git/hooks.ts';
import { checkRefChanges, recordChangeIntents, type RefActor, type RefChange } from '../services/refs.ts';

/** More update lines than any real push sends (each is about 100 bytes). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const ZERO = /^0+$/;

interface PendingPush {
  ctx: AppContext;
  repo: Repository;
  actor: RefActor;
  secret: Buffer;
}

/** Parses git's pre-receive input: one `<old> <new> <ref>` per line, all-zero ids for "absent". */
export function parseUpdateLines(input: string): RefChange[] | null {
  const changes: RefChange[] = [];
  for (const line of input.split('\n')) {
    if (!line.trim()) continue;
    const m = /^([0-9a-f]{40,64}) ([0-9a-f]{40,64}) (refs\/\S+)$/.exec(line.trim());
    if (!m) return null;
    changes.push({ ref: m[3]!, before: ZERO.test(m[1]!) ? null : m[1]!, after: ZERO.test(m[2]!) ? null : m[2]! });
  }
  return changes;
}

export class PushChecks {
  readonly #pending = new Map<string, PendingPush>();
  #server: http.Server | null = null;
  #url = '';

  constructor(readonly hooksDir: string) {}

  static forConfig(config: AppContext['config']): PushChecks {
    return new PushChecks(path.join(config.dataDir, 'git-hooks'));
  }

  async start(): Promise<void> {
    await installHooks(this.hooksDir);
    const server = http.createServer((req, res) => void this.#answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pre-receive/`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Registers a push about to run: the environment its git processes need, and `done` to call
   * once git has exited.
   */
  register(ctx: AppContext, repo: Repository, actor: RefActor): { env: Record<string, string>; done: () => void } {
    if (!this.#server) throw new Error('push checks are not running');
    const id = randomBytes(12).toString('hex');
    const secret = randomBytes(32);
    this.#pending.set(id, { ctx, repo, actor, secret });
    return {
      env: hookEnvironment(this.hooksDir, this.#url + id, secret.toString('hex')),
      done: () => this.#pending.delete(id),
    };
  }

  async #answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const push = this.#authenticate(req);
    if (!push) {
      req.resume();
      return send(403, { message: 'Forbidden' });
    }
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) return send(413, { message: 'Too many ref updates' });
        chunks.push(chunk);
      }
      const changes = parseUpdateLines(Buffer.concat(chunks).toString('utf8'));
      if (!changes) return send(400, { message: 'Unreadable ref updates' });
      const refusals = await checkRefChanges(push.ctx, push.repo, changes, push.actor);
      // Allowed: who is about to move these refs is remembered before git moves them, so the
      // push's events name the pusher even if this process dies before recording them.
      if (refusals.length === 0) await recordChangeIntents(push.ctx, push.repo, changes, push.actor);
      send(200, { refusals });
    } catch (err) {
      push.ctx.log.error({ err }, 'pre-receive check failed');
      send(500, { message: 'check failed' });
    }
  }

  #authenticate(req: http.IncomingMessage): PendingPush | null {
    const m = /^\/pre-receive\/([0-9a-f]{24})$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return null;
    const push = this.#pending.get(m[1]!);
    const given = /^Bearer ([0-9a-f]{64})$/.exec(req.headers.authorization ?? '')?.[1];
    if (!push || !given) return null;
    return timingSafeEqual(Buffer.from(given, 'hex'), push.secret) ? push : null;
  }
}
