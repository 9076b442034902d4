/**
 * @module webhooks/delivery
 * Sends due deliveries, on any node: each is taken with a lease in the database, so no two nodes
 * send one delivery at the same time, and a node that dies mid-attempt leaves it to the next
 * (the receiver may then see that delivery twice, with the same `X-GitHub-Delivery`).
 *
 * - At most `WHARF_WEBHOOK_WORKERS` deliveries in flight per node; a slow receiver holds one of
 *   those, never a request handler.
 * - Each attempt: 10 s timeout (configurable), no redirects, response body capped, outbound
 *   policy checked on the connected address (net/outbound-request.ts). Recorded with its request
 *   and response.
 * - A failure (network error, timeout, non-2xx) is retried after `base · 2^(n-1)` (plus up to 25%
 *   jitter, at most the configured maximum), until the retry window (24 h) has passed since the
 *   delivery was queued; then the delivery is marked failed.
 * - A hook whose deliveries have failed without a success for `WHARF_WEBHOOK_DISABLE_AFTER_MS`
 *   is disabled, with a log line and the reason on the hook (`last_response.message`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AppContext } from '../context.ts';
import type { Kysely } from 'kysely';
import type { Database, Webhook, WebhookJob } from '../db/schema.ts';
import { claimJobs, insertAttempt, lockWebhookRow, purgeDeliveries, settleJob, updateWebhook } from '../db/repos/webhooks-repo.ts';
import { purgeEvents } from '../events/outbox.ts';
import { ENTERPRISE_VERSION } from '../http/api-headers.ts';
import { OutboundRefusedError } from '../net/outbound-policy.ts';
import { outboundRequest, OutboundTimeoutError } from '../net/outbound-request.ts';
import { LEASE_HOLDER, runWithLease } from '../services/leases.ts';
import { GroupCommit } from '../util/group-commit.ts';
import { PollLoop } from '../util/poll-loop.ts';
import { isoSeconds } from '../util/time.ts';
import { payloadUrls } from './hooks.ts';
import { outboundPolicyFor, secretBoxFor } from './runtime.ts';
import { signatures } from './signature.ts';

export const USER_AGENT = 'GitHub-Hookshot/wharf';

const TARGET_TYPES: Record<Webhook['scope'], string> = { repository: 'repository', organization: 'organization', global: 'business' };

/** The request of one attempt: headers and body exactly as sent. */
export function buildRequest(ctx: AppContext, hook: Webhook, job: WebhookJob): { headers: Record<string, string>; body: string } {
  const body = hook.content_type === 'json' ? job.payload : `payload=${encodeURIComponent(job.payload)}`;
  const urls = payloadUrls(ctx, hook);
  const headers: Record<string, string> = {
    Accept: '*/*',
    'User-Agent': USER_AGENT,
    'X-GitHub-Delivery': job.guid,
    'X-GitHub-Event': job.event,
    'X-GitHub-Hook-ID': String(hook.id),
    'X-GitHub-Hook-Installation-Target-Type': TARGET_TYPES[hook.scope],
    'X-GitHub-Hook-Installation-Target-ID': String(hook.repository_id ?? hook.account_id ?? 1),
    'X-GitHub-Enterprise-Host': new URL(urls.web).host,
    'X-GitHub-Enterprise-Version': ENTERPRISE_VERSION,
    'Content-Type': hook.content_type === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
  };
  if (hook.secret_ciphertext) {
    const sig = signatures(secretBoxFor(ctx.config).open(hook.secret_ciphertext), body);
    headers['X-Hub-Signature'] = sig.sha1;
    headers['X-Hub-Signature-256'] = sig.sha256;
  }
  return { headers, body };
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Wait before retry number `failures` (1 = first retry). */
export function retryDelay(ctx: AppContext, failures: number): number {
  const { retryBaseMs, retryMaxDelayMs } = ctx.config.webhooks;
  const exp = Math.min(retryMaxDelayMs, retryBaseMs * 2 ** Math.min(30, failures - 1));
  return Math.min(retryMaxDelayMs, Math.round(exp * (1 + Math.random() * 0.25)));
}

interface Outcome {
  ok: boolean;
  status: string;
  statusCode: number;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  durationMs: number;
}

async function attempt(ctx: AppContext, hook: Webhook, request: { headers: Record<string, string>; body: string }): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await outboundRequest(outboundPolicyFor(ctx.config), {
      method: 'POST',
      url: hook.url,
      headers: request.headers,
      body: request.body,
      timeoutMs: ctx.config.webhooks.timeoutMs,
      maxResponseBytes: ctx.config.webhooks.maxResponseBytes,
      insecureTls: hook.insecure_ssl === '1',
    });
    const ok = res.status >= 200 && res.status < 300;
    return {
      ok,
      status: ok ? 'OK' : `Invalid HTTP Response: ${res.status}`,
      statusCode: res.status,
      responseHeaders: flatHeaders(res.headers),
      responseBody: res.body.toString('utf8'),
      durationMs: res.durationMs,
    };
  } catch (err) {
    const status =
      err instanceof OutboundTimeoutError
        ? 'timed out'
        : err instanceof OutboundRefusedError
          ? err.message
          : `failed to connect: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    return { ok: false, status, statusCode: 0, responseHeaders: null, responseBody: null, durationMs: performance.now() - started };
  }
}

/** One finished attempt, waiting to be recorded. */
interface Settlement {
  job: WebhookJob;
  hook: Webhook;
  request: { headers: Record<string, string>; body: string };
  outcome: Outcome;
  /** When the attempt ended (epoch ms). */
  now: number;
}

/**
 * Records an attempt in `trx` and settles its delivery (delivered, failed, or due again after a
 * backoff), if this node still holds it; updates the hook's last response, and disables a hook
 * that has failed for too long.
 */
async function recordAttempt(ctx: AppContext, trx: Kysely<Database>, s: Settlement): Promise<void> {
  const { job, hook, request, outcome, now } = s;
  // The hook first: the attempt's foreign key share-locks it, and the hook is updated below; a
  // share lock raised to an update lock deadlocks against the hook's deletion (which locks the
  // hook, then its deliveries) on PostgreSQL.
  await lockWebhookRow(trx, hook.id);
  const failures = job.attempts + 1;
  const givenUp = !outcome.ok && now - job.created_ms >= ctx.config.webhooks.retryWindowMs;
  const settled = await settleJob(trx, job.id, LEASE_HOLDER, {
    state: outcome.ok ? 'delivered' : givenUp ? 'failed' : 'pending',
    attempts: failures,
    next_attempt_at: outcome.ok || givenUp ? now : now + retryDelay(ctx, failures),
  });
  // Another node took the delivery over (this one stalled past its lease): its attempt counts.
  if (!settled) return;
  await insertAttempt(trx, {
    job,
    deliveredAt: isoSeconds(new Date(now)),
    nowMs: now,
    durationSeconds: Math.round(outcome.durationMs) / 1000,
    status: outcome.status,
    statusCode: outcome.statusCode,
    url: hook.url,
    requestHeaders: request.headers,
    requestBody: job.payload,
    responseHeaders: outcome.responseHeaders,
    responseBody: outcome.responseBody,
  });
  const failingSince = outcome.ok ? null : (hook.failing_since ?? now);
  const disable = !outcome.ok && hook.active === 1 && now - failingSince! >= ctx.config.webhooks.disableAfterMs;
  const reason = disable
    ? `Disabled by Wharf at ${isoSeconds(new Date(now))}: deliveries failed for ${Math.round((now - failingSince!) / 1000)} s without a success (last: ${outcome.status})`
    : null;
  await updateWebhook(trx, hook.id, {
    last_response_code: outcome.statusCode,
    last_response_status: outcome.ok ? 'active' : 'failed',
    last_response_message: outcome.ok ? 'OK' : outcome.status,
    failing_since: failingSince,
    ...(disable ? { active: 0, disabled_reason: reason } : {}),
  });
  if (disable) ctx.log.warn({ hook: hook.id, url: hook.url, reason }, 'webhook disabled after failing deliveries');
}

/**
 * Records finished attempts in shared transactions: every attempt that ends while one commit is
 * under way goes into the next (`util/group-commit.ts`). A commit is durable (an fsync on SQLite)
 * and, with SQLite, holds the process's one write connection; one per attempt made delivery cost
 * the request handlers dearly (bench: events). An attempt's promise settles once its record is
 * committed; if that fails, its delivery stays leased and is attempted again when the lease expires.
 */
function attemptRecorder(ctx: AppContext): AttemptRecorder {
  const commit = (batch: readonly Settlement[]) =>
    ctx.db.transaction().execute(async (trx) => {
      // By hook, so that two nodes' batches lock hooks in one order.
      for (const settlement of [...batch].sort((a, b) => a.hook.id - b.hook.id || a.job.id - b.job.id)) await recordAttempt(ctx, trx, settlement);
      return batch.map(() => undefined);
    });
  return new GroupCommit({
    commit,
    alone: async (settlement) => {
      await commit([settlement]);
    },
    // SQLite's calls are synchronous: nothing else would run between one attempt's record and
    // its commit. Letting the responses that have already arrived be handled first is what puts
    // several attempts into one commit.
    gather: () => new Promise<void>((resolve) => setImmediate(resolve)),
  });
}

type AttemptRecorder = GroupCommit<Settlement, void>;

/** Makes one attempt at `job` and has it recorded; the job is settled only if this node still holds it. */
async function deliverJob(ctx: AppContext, recorder: AttemptRecorder, job: WebhookJob): Promise<void> {
  const hook = await ctx.db.selectFrom('webhooks').selectAll().where('id', '=', job.hook_id).executeTakeFirst();
  if (!hook) return;
  const request = buildRequest(ctx, hook, job);
  const outcome = await attempt(ctx, hook, request);
  await recorder.submit({ job, hook, request, outcome, now: Date.now() });
}

/** The delivery loop of one node: a bounded pool fed from the database. */
export class DeliveryWorker {
  readonly #ctx: AppContext;
  readonly #loop: PollLoop;
  readonly #recorder: AttemptRecorder;
  #inFlight = new Set<Promise<void>>();
  #lastPurge = 0;

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
    this.#recorder = attemptRecorder(ctx);
    this.#loop = new PollLoop(() => this.#round(), {
      idleMs: ctx.config.eventsPollMs,
      onError: (err) => ctx.log.error({ err }, 'webhook delivery loop failed; will retry'),
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled([...this.#inFlight]);
  }

  async #round(): Promise<number> {
    const claimed = await this.#fill();
    await this.#purgeNow();
    // Deliveries were waiting and slots are left: look again at once.
    return claimed > 0 && this.#inFlight.size < this.#ctx.config.webhooks.workers ? 0 : this.#ctx.config.eventsPollMs;
  }

  async #fill(): Promise<number> {
    const room = this.#ctx.config.webhooks.workers - this.#inFlight.size;
    if (room <= 0) return 0;
    const now = Date.now();
    // The lease outlasts the attempt (timeout) with room for recording it; a node that dies
    // mid-attempt holds the delivery back no longer than this.
    const jobs = await claimJobs(this.#ctx.db, LEASE_HOLDER, now, now + this.#ctx.config.webhooks.timeoutMs + 5_000, room);
    for (const job of jobs) {
      const running: Promise<void> = deliverJob(this.#ctx, this.#recorder, job)
        .catch((err: unknown) => this.#ctx.log.error({ err, delivery: job.guid }, 'webhook delivery failed to record'))
        .finally(() => {
          this.#inFlight.delete(running);
          // A slot freed: look for more at once.
          this.#loop.wake();
        });
      this.#inFlight.add(running);
    }
    return jobs.length;
  }

  /** Old attempts, finished deliveries and handled events go after the retention period (one node, hourly). */
  async #purgeNow(): Promise<void> {
    if (Date.now() - this.#lastPurge < 60_000) return;
    this.#lastPurge = Date.now();
    await runWithLease(this.#ctx, 'webhooks:purge', 3_600_000, async () => {
      const before = Date.now() - this.#ctx.config.webhooks.retentionMs;
      await purgeDeliveries(this.#ctx.db, before);
      await purgeEvents(this.#ctx.db, before);
    });
  }
}
