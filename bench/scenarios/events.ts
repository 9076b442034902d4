/**
 * Scenario 6 — events. What webhooks cost the writes that cause them, and how fast Wharf
 * delivers:
 * - releases created and 4 KiB assets uploaded per second (wrk, 16 connections, each request
 *   creating a new tag or asset) on a repository with no hooks, then on one with 8 hooks taking
 *   every event, on the same server in the same run; the ratio is the added cost (the outbox
 *   write itself is in both: every change records its events, hooks or not);
 * - deliveries per second: the backlog the hooked writes left, drained into a local receiver
 *   (a bare Node server in its own process), against that receiver's own ceiling measured with
 *   wrk, so the receiver is shown not to be the limit.
 */
import path from 'node:path';
import { startHookReceiver, type BaselineServer } from '../lib/baselines.ts';
import type { BenchContext } from '../lib/context.ts';
import { wrk, type LoadResult } from '../lib/native-clients.ts';
import { api, createRelease, createRepo, createUser, expectStatus, ROOT, startWharf, type BenchRepo, type WharfServer } from '../lib/wharf.ts';

const HOOKS = 8;
/** Deliveries in flight at once (Wharf's default). */
const WORKERS = 8;
const CONNECTIONS = 16;
const ASSET_BYTES = 4096;
/** About the size of a `release` payload. */
const RECEIVER_BODY_BYTES = 8192;
/** A backlog is drained when the receiver has heard nothing new for this long. */
const QUIET_MS = 3000;
const SCRIPT = path.join(ROOT, 'bench/lib/wrk-unique-posts.lua');

interface ReceiverStats {
  count: number;
  lastMs: number;
}

async function stats(receiver: BaselineServer): Promise<ReceiverStats> {
  return (await fetch(`${receiver.base}/stats`)).json() as Promise<ReceiverStats>;
}

/** Waits until deliveries stop arriving; the rate is what arrived over the time it took. */
async function drain(receiver: BaselineServer, timeoutMs: number): Promise<{ deliveries: number; seconds: number; perSecond: number }> {
  const start = await stats(receiver);
  const startMs = Date.now();
  const deadline = startMs + timeoutMs;
  let last: ReceiverStats;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    last = await stats(receiver);
    if (last.count > start.count && Date.now() - last.lastMs >= QUIET_MS) break;
    if (last.count === start.count && Date.now() - startMs >= QUIET_MS * 2) break;
    if (Date.now() > deadline) throw new Error(`deliveries still arriving after ${timeoutMs / 1000} s`);
  }
  const deliveries = last.count - start.count;
  const seconds = Math.max(0.001, (last.lastMs - startMs) / 1000);
  return { deliveries, seconds, perSecond: deliveries / seconds };
}

function checked(what: string, r: LoadResult): LoadResult {
  if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) throw new Error(`${what}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} socket errors`);
  return r;
}

function latencyNote(withHooks: LoadResult, without: LoadResult): string {
  return `p50 ${withHooks.p50Ms.toFixed(1)} ms, p99 ${withHooks.p99Ms.toFixed(1)} ms with hooks (${without.p50Ms.toFixed(1)} / ${without.p99Ms.toFixed(1)} ms without)`;
}

export async function eventsScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  // Release creation runs git several times a request: a few seconds would count a handful of
  // requests on a busy machine.
  const seconds = Math.max(profile.writeSeconds, 10);
  ctx.log(`events: ${CONNECTIONS} connections, ${seconds} s per run, ${HOOKS} hooks`);
  let receiver: BaselineServer | null = null;
  let server: WharfServer | null = null;
  try {
    receiver = await startHookReceiver(work);
    server = await startWharf(work, work.dir('events-data'), { WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', WHARF_WEBHOOK_WORKERS: String(WORKERS) });
    const owner = await createUser(server, 'events');
    const plain = await createRepo(server, owner, 'no-hooks');
    const hooked = await createRepo(server, owner, 'hooked');
    for (let i = 0; i < HOOKS; i++) {
      await expectStatus(
        'create hook',
        201,
        api('POST', `${server.api}/repos/${hooked.full}/hooks`, owner.token, {
          events: ['*'],
          config: { url: `${receiver.base}/hook/${i}`, content_type: 'json', secret: 'bench' },
        }),
      );
    }
    await drain(receiver, 60_000);
    const headers = { authorization: `token ${owner.token}`, 'content-type': 'application/json' };
    const createRun = (repo: BenchRepo, prefix: string) =>
      wrk(`${server!.api}/repos/${repo.full}/releases`, { connections: CONNECTIONS, seconds, headers, script: { file: SCRIPT, args: ['release', prefix] } }).then((r) =>
        checked(`create releases (${prefix})`, r),
      );

    const createPlain = await createRun(plain, 'plain');
    const createHooked = await createRun(hooked, 'hooked');
    const backlog = await drain(receiver, 600_000);
    ctx.record({
      scenario: 'events',
      name: `Create release, ${CONNECTIONS} conns, ${HOOKS} hooks on every event`,
      unit: 'req/s',
      wharf: createHooked.requestsPerSecond,
      baselineName: 'same server, no hooks',
      baseline: createPlain.requestsPerSecond,
      note: latencyNote(createHooked, createPlain),
    });

    // One release per connection keeps every release far below the 1000-asset limit.
    const uploadsTo = async (repo: BenchRepo) => {
      const ids: string[] = [];
      for (let i = 0; i < CONNECTIONS; i++) ids.push(String((await createRelease(server!, repo, `assets-${i}`)).id));
      return ids;
    };
    const plainIds = await uploadsTo(plain);
    const hookedIds = await uploadsTo(hooked);
    await drain(receiver, 600_000);
    const uploadHeaders = { authorization: `token ${owner.token}`, 'content-type': 'application/octet-stream' };
    const uploadRun = (repo: BenchRepo, ids: string[], prefix: string) =>
      wrk(`${server!.uploads}/repos/${repo.full}/releases/${ids[0]}/assets`, {
        connections: CONNECTIONS,
        seconds,
        headers: uploadHeaders,
        script: { file: SCRIPT, args: ['asset', prefix, String(ASSET_BYTES), `/api/uploads/repos/${repo.full}/releases/%s/assets?name=%s`, ...ids] },
      }).then((r) => checked(`upload assets (${prefix})`, r));
    const uploadPlain = await uploadRun(plain, plainIds, 'plain');
    const uploadHooked = await uploadRun(hooked, hookedIds, 'hooked');
    const uploadBacklog = await drain(receiver, 600_000);
    ctx.record({
      scenario: 'events',
      name: `Upload 4 KiB asset, ${CONNECTIONS} conns, ${HOOKS} hooks on every event`,
      unit: 'req/s',
      wharf: uploadHooked.requestsPerSecond,
      baselineName: 'same server, no hooks',
      baseline: uploadPlain.requestsPerSecond,
      note: latencyNote(uploadHooked, uploadPlain),
    });

    // The receiver's ceiling, with the same native client the writes used.
    const ceiling = checked(
      'receiver ceiling',
      await wrk(`${receiver.base}/hook/ceiling`, { connections: CONNECTIONS, seconds, script: { file: SCRIPT, args: ['body', String(RECEIVER_BODY_BYTES)] } }),
    );
    for (const [label, drained] of [
      ['after release creation', backlog],
      ['after asset uploads', uploadBacklog],
    ] as const) {
      ctx.record({
        scenario: 'events',
        name: `Deliveries/s draining the backlog ${label}, ${HOOKS} hooks, ${WORKERS} workers`,
        unit: 'deliveries/s',
        wharf: drained.perSecond,
        baselineName: `receiver ceiling (wrk POST ${RECEIVER_BODY_BYTES / 1024} KiB)`,
        baseline: ceiling.requestsPerSecond,
        note: `${drained.deliveries} deliveries in ${drained.seconds.toFixed(1)} s; receiver ceiling p50 ${ceiling.p50Ms.toFixed(2)} ms`,
      });
    }
  } finally {
    await server?.stop();
    await receiver?.stop();
  }
}
