/**
 * Scenario 6 — overload. More clients than Wharf can serve in time, from wrk processes of their
 * own, saturate both cores: first the read API alone (the latest release, 256 connections), then a
 * mixed set at once (REST reads, a release page, a feed, a browser download, from one wrk rotating
 * through them, and GraphQL queries that each read every release's tag commit from git, from
 * another). The figure that matters is not throughput but that every request got an answer: its
 * result, or `503` with `Retry-After` when Wharf sheds load on purpose (admission control,
 * `WHARF_MAX_REQUESTS_IN_PROGRESS`), within the bound `docs/reliability.md` states.
 *
 * wrk's own figures do not say that. Its "timeout" errors are answers that came later than
 * `--timeout` (it never gives up on a request), its latency percentiles are corrected for
 * coordinated omission (synthetic samples added for every slow answer), and a request still
 * unanswered when the run ends is counted nowhere. So each wrk thread drives exactly one
 * connection, and a Lua script keeps the books: `request` notes the time a request is sent (the
 * monotonic clock, through LuaJIT's FFI), `response` the time its answer came, by kind, into a
 * histogram; `done` adds the threads up, and whatever a thread still waits for is a request in
 * flight at the end, with its age. wrk's "Socket errors" line counts the rest: connections refused
 * (connect), closed or reset without an answer (read), writes refused (write), and answers later
 * than `--timeout`, set above the bound (timeout).
 *
 * The same wrk, with the same script and connections, against nginx serving a small JSON file
 * shows the client's own ceiling in the same run: far above what it measures on Wharf, so the
 * figures are Wharf's. The body timeout is the test suite's (1 s), where a deadline judged on the
 * clock used to close sockets whose bodies were waiting in the kernel.
 */
import { writeFileSync } from 'node:fs';
import type { BenchContext } from '../lib/context.ts';
import { wrk, type LoadResult, type SocketErrors } from '../lib/native-clients.ts';
import { startNginx, type NginxServer } from '../lib/nginx.ts';
import { createRelease, createRepo, createUser, startWharf, uploadHeaders, assetUploadUrl } from '../lib/wharf.ts';

const RELEASES = 20;
const ZERO = { on: 'wharf', op: '<=', value: 0 } as const;
const READ_CONNECTIONS = 256;
const MIXED_CONNECTIONS = 192;
const GRAPHQL_CONNECTIONS = 64;
/**
 * The bound every request must be answered within (docs/reliability.md): the longest wait for a
 * place (`WHARF_REQUEST_QUEUE_TIMEOUT_MS`, 2 s) plus the longest preparation among these routes
 * (a GraphQL query's `WHARF_GRAPHQL_TIMEOUT_MS`, 10 s), plus 3 s for the kernel's accept queue
 * while connections are being taken in, one per turn of the event loop.
 */
export const ANSWER_BOUND_SECONDS = 15;
/** wrk's `--timeout`, above the bound: a "timeout" is an answer later than this. */
const WRK_TIMEOUT_SECONDS = 20;

/** The books of one wrk run, added up over its threads by the Lua script's `done`. */
export interface Ledger {
  sent: number;
  /** Times wrk asked for a request again while one was unanswered (a full socket, a lost connection). */
  resent: number;
  /** Answered 2xx/3xx. */
  ok: number;
  /** Answered 503 with `Retry-After`: shed on purpose. */
  shed: number;
  /** 503 without `Retry-After`: not load shed on purpose. */
  bare503: number;
  other: number;
  /** Answered later than the bound. */
  late: number;
  /** Sent and not answered when wrk stopped. */
  inFlight: number;
  /** Of those, sent longer than the bound before the end. */
  inFlightPastBound: number;
  oldestInFlightMs: number;
  /** Latency of answered requests, as measured (no correction), in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * A wrk script for one connection per thread. `requestPart` is Lua that defines
 * `make_request()` (called once per request) and may set `wrk.method`, `wrk.body`, headers.
 */
export function ledgerScript(requestPart: string): string {
  return `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } wharf_timespec;
int clock_gettime(int clock, wharf_timespec *tp);
]]
local timespec = ffi.new("wharf_timespec")
local CLOCK_MONOTONIC = 1
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
${requestPart}
function init(args)
  bound_ms = tonumber(args[1])
  sent = 0; resent = 0; ok = 0; shed = 0; bare503 = 0; other = 0; late = 0; max_ms = 0
  since = nil; hist = {}
end
function request()
  -- wrk asks again when a write found the socket full (nothing was sent) or after a connection
  -- was lost (its socket errors count that): one request, sent once.
  if since then resent = resent + 1 else
    sent = sent + 1
    since = now_ms()
  end
  return make_request()
end
function response(status, headers, body)
  local ms = now_ms() - since
  since = nil
  if status >= 200 and status < 400 then ok = ok + 1
  elseif status == 503 then
    if headers["retry-after"] or headers["Retry-After"] then shed = shed + 1 else bare503 = bare503 + 1 end
  else other = other + 1 end
  if ms > bound_ms then late = late + 1 end
  if ms > max_ms then max_ms = ms end
  -- Buckets 1% wide: enough for percentiles, small to copy between threads.
  local b = math.floor(math.log(ms + 1) * 100)
  hist[b] = (hist[b] or 0) + 1
end
function done(summary, latency, requests)
  local t = { sent = 0, resent = 0, ok = 0, shed = 0, bare503 = 0, other = 0, late = 0 }
  local merged, answered, max_all, in_flight, past_bound, oldest = {}, 0, 0, 0, 0, 0
  local now = now_ms()
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
    local m = th:get("max_ms") or 0
    if m > max_all then max_all = m end
    local s = th:get("since")
    if s then
      in_flight = in_flight + 1
      local age = now - s
      if age > oldest then oldest = age end
      if age > th:get("bound_ms") then past_bound = past_bound + 1 end
    end
    for k, v in pairs(th:get("hist") or {}) do
      merged[k] = (merged[k] or 0) + v
      answered = answered + v
    end
  end
  local keys = {}
  for k, _ in pairs(merged) do table.insert(keys, k) end
  table.sort(keys)
  local function percentile(p)
    local want, seen = answered * p, 0
    for _, k in ipairs(keys) do
      seen = seen + merged[k]
      if seen >= want then return math.exp(k / 100) - 1 end
    end
    return 0
  end
  io.write(string.format("LEDGER sent %d resent %d ok %d shed %d bare503 %d other %d late %d inflight %d pastbound %d oldest %.1f p50 %.2f p99 %.2f max %.1f\\n",
    t.sent, t.resent, t.ok, t.shed, t.bare503, t.other, t.late, in_flight, past_bound, oldest, percentile(0.5), percentile(0.99), max_all))
end
`;
}

export const fixedRequest = `function make_request() return wrk.format() end`;

export function rotating(paths: string[]): string {
  return `
local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }
local n = 0
function make_request()
  n = n + 1
  return wrk.format(nil, paths[(n % #paths) + 1])
end`;
}

export function ledgerOf(output: string): Ledger {
  const m =
    /LEDGER sent (\d+) resent (\d+) ok (\d+) shed (\d+) bare503 (\d+) other (\d+) late (\d+) inflight (\d+) pastbound (\d+) oldest ([\d.]+) p50 ([\d.]+) p99 ([\d.]+) max ([\d.]+)/.exec(
      output,
    );
  if (!m) throw new Error(`wrk printed no ledger:\n${output}`);
  const n = m.slice(1).map(Number);
  return {
    sent: n[0]!,
    resent: n[1]!,
    ok: n[2]!,
    shed: n[3]!,
    bare503: n[4]!,
    other: n[5]!,
    late: n[6]!,
    inFlight: n[7]!,
    inFlightPastBound: n[8]!,
    oldestInFlightMs: n[9]!,
    p50Ms: n[10]!,
    p99Ms: n[11]!,
    maxMs: n[12]!,
  };
}

type Run = LoadResult & { socketErrors: SocketErrors; output: string };

/** One wrk process, one thread per connection (the ledger needs it), `--timeout` above the bound. */
function run(url: string, connections: number, seconds: number, headers: Record<string, string>, script: { file: string; args: string[] }): Promise<Run> {
  return wrk(url, { connections, threads: connections, seconds, headers, script, timeoutSeconds: WRK_TIMEOUT_SECONDS });
}

/** Requests sent and not answered, other than those in flight at the end within the bound. */
function unanswered(l: Ledger): number {
  const answered = l.ok + l.shed + l.bare503 + l.other;
  return l.sent - answered - (l.inFlight - l.inFlightPastBound);
}

export async function overloadScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  const seconds = Math.max(20, profile.loadSeconds * 2);
  const server = await startWharf(work, work.dir('overload-data'), { WHARF_BODY_TIMEOUT_MS: '1000' });
  let nginx: NginxServer | null = null;
  try {
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'overload');
    const releases = [];
    for (let i = 0; i < RELEASES; i++) releases.push(await createRelease(server, repo, `v${i}`));
    const upload = await fetch(`${assetUploadUrl(server, repo, releases[0]!.id, 'tool.tar.gz')}`, {
      method: 'POST',
      headers: { ...uploadHeaders(owner.token), 'content-type': 'application/gzip' },
      body: Buffer.alloc(16 * 1024, 7),
    });
    if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);

    const auth = { authorization: `token ${owner.token}` };
    const script = (name: string, requestPart: string) => {
      const file = work.file(`overload-${name}.lua`);
      writeFileSync(file, ledgerScript(requestPart));
      return { file, args: [String(ANSWER_BOUND_SECONDS * 1000)] };
    };
    const readScript = script('read', fixedRequest);
    const mixedScript = script(
      'mixed',
      rotating([
        `/api/v3/repos/${repo.full}/releases?per_page=30`,
        `/api/v3/repos/${repo.full}/releases/tags/v7`,
        `/api/v3/repos/${repo.full}/releases/latest`,
        `/${repo.full}/releases`,
        `/${repo.full}/releases.atom`,
        `/${repo.full}/releases/download/v0/tool.tar.gz`,
      ]),
    );
    const query = `{ repository(owner: "${owner.login}", name: "${repo.name}") { releases(first: ${RELEASES}) { nodes { tagName tagCommit { oid committedDate } } } } }`;
    const graphqlScript = script(
      'graphql',
      `wrk.method = "POST"\nwrk.body = ${JSON.stringify(JSON.stringify({ query }))}\nwrk.headers["Content-Type"] = "application/json"\n${fixedRequest}`,
    );
    const latest = `${server.api}/repos/${repo.full}/releases/latest`;

    // Warm-up (JIT, caches), not measured.
    await run(latest, 16, 3, auth, readScript);

    ctx.log(`overload: read API, ${READ_CONNECTIONS} connections for ${seconds} s (answer bound ${ANSWER_BOUND_SECONDS} s, wrk --timeout ${WRK_TIMEOUT_SECONDS} s)`);
    const read = await run(latest, READ_CONNECTIONS, seconds, auth, readScript);
    record(ctx, 'Read API (latest release)', `wrk, ${READ_CONNECTIONS} connections`, read);

    ctx.log(`overload: mixed routes and GraphQL at once, ${MIXED_CONNECTIONS} + ${GRAPHQL_CONNECTIONS} connections for ${seconds} s`);
    const [mixed, graphql] = await Promise.all([
      run(`${server.base}/`, MIXED_CONNECTIONS, seconds, auth, mixedScript),
      run(`${server.base}/api/graphql`, GRAPHQL_CONNECTIONS, seconds, auth, graphqlScript),
    ]);
    record(ctx, 'Mixed: REST, release page, feed, download', `wrk, ${MIXED_CONNECTIONS} connections`, mixed);
    record(ctx, 'Mixed: GraphQL reading 20 tag commits from git', `wrk, ${GRAPHQL_CONNECTIONS} connections`, graphql);

    const runs = [read, mixed, graphql];
    const ledgers = runs.map((r) => ledgerOf(r.output));
    const sum = (pick: (l: Ledger) => number) => ledgers.reduce((total, l) => total + pick(l), 0);
    const errors: SocketErrors = { connect: 0, read: 0, write: 0, timeout: 0 };
    for (const r of runs) for (const k of Object.keys(errors) as (keyof SocketErrors)[]) errors[k] += r.socketErrors[k];
    ctx.record({
      scenario: 'overload',
      name: 'Connections refused, closed without an answer, writes refused (wrk socket errors)',
      unit: 'errors',
      wharf: errors.connect + errors.read + errors.write,
      target: ZERO,
      note: `connect ${errors.connect}, read ${errors.read}, write ${errors.write}; answers past wrk's --timeout of ${WRK_TIMEOUT_SECONDS} s: ${errors.timeout}`,
    });
    ctx.record({
      scenario: 'overload',
      name: `Requests not answered within ${ANSWER_BOUND_SECONDS} s (answered late, lost, or in flight at the end for longer)`,
      unit: 'requests',
      wharf: sum((l) => l.late) + sum(unanswered),
      target: ZERO,
      note: `sent ${sum((l) => l.sent)}; answered late ${sum((l) => l.late)}; in flight when wrk stopped ${sum((l) => l.inFlight)} (oldest ${Math.max(...ledgers.map((l) => l.oldestInFlightMs)).toFixed(0)} ms, ${sum((l) => l.inFlightPastBound)} past the bound); never answered otherwise ${sum(unanswered) - sum((l) => l.inFlightPastBound)}`,
    });
    ctx.record({
      scenario: 'overload',
      name: 'Answers other than 2xx/3xx or 503 with Retry-After',
      unit: 'answers',
      wharf: sum((l) => l.other + l.bare503),
      target: ZERO,
      note: `2xx/3xx ${sum((l) => l.ok)}, shed (503 + Retry-After) ${sum((l) => l.shed)}`,
    });

    if (ctx.nginxBinary) {
      const file = work.file('overload-ceiling.json');
      writeFileSync(file, JSON.stringify({ tag_name: 'v1.0.0', name: 'ceiling', assets: [] }));
      nginx = await startNginx(ctx.nginxBinary, work, [
        (listen) => `
  server {
    listen ${listen};
    location = /ceiling { alias ${file}; default_type "application/json; charset=utf-8"; }
  }`,
      ]);
      const ceiling = await run(`${nginx.base}/ceiling`, READ_CONNECTIONS, Math.min(10, seconds), auth, readScript);
      ctx.clientCheck({
        what: 'Overload, read API',
        client: `wrk (${READ_CONNECTIONS} connections, a thread each, keeping the ledger in Lua)`,
        unit: 'req/s',
        ceiling: ceiling.requestsPerSecond,
        measured: Math.max(read.requestsPerSecond, mixed.requestsPerSecond),
        clientCores: ceiling.clientCores,
        clientCoreLimit: 2,
      });
    }
  } finally {
    await nginx?.stop();
    await server.stop();
  }
}

function record(ctx: BenchContext, what: string, client: string, r: Run): void {
  const l = ledgerOf(r.output);
  const e = r.socketErrors;
  ctx.record({
    scenario: 'overload',
    name: `${what}: answers per second under overload`,
    unit: 'req/s',
    wharf: r.requestsPerSecond,
    note:
      `${client}: sent ${l.sent}; answered ${l.ok} 2xx/3xx, ${l.shed} 503 + Retry-After (shed), ${l.bare503 + l.other} other; ` +
      `answered p50 ${l.p50Ms.toFixed(0)} ms, p99 ${l.p99Ms.toFixed(0)} ms, max ${l.maxMs.toFixed(0)} ms; late ${l.late}; ` +
      `in flight at the end ${l.inFlight} (oldest ${l.oldestInFlightMs.toFixed(0)} ms); ` +
      `socket errors connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`,
  });
}
