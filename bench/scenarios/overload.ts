/**
 * Scenario 6 — overload. More clients than Wharf can serve in time, from wrk processes of their
 * own, saturate both cores: first the read API alone (the latest release, 256 connections), then a
 * mixed set at once (REST reads, a release page, a feed, a browser download, from one wrk rotating
 * through them, and GraphQL queries that each read every release's tag commit from git, from
 * another). The figure that matters is not throughput but that every request got an answer: its
 * result, or `503` with `Retry-After` when Wharf sheds load on purpose (admission control,
 * `WHARF_MAX_REQUESTS_IN_PROGRESS`). A Lua `response` hook counts the answers by kind, and wrk's
 * "Socket errors" line counts the rest: connections refused (connect), reset or closed without an
 * answer (read), writes refused (write), answers later than wrk's 10 s timeout (timeout). The
 * targets are zero socket errors and zero answers of any other kind.
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
const TIMEOUT_SECONDS = 10;

/** How the answers of one wrk run were counted by its Lua hook. */
interface Answers {
  ok: number;
  shed: number;
  /** 503 without `Retry-After`: not load shed on purpose. */
  bare503: number;
  other: number;
}

/**
 * A wrk script: `requestPart` shapes the requests (Lua), the rest counts answers by kind in each
 * thread and prints the sums once the run is done (wrk's `done` sees the threads through `get`).
 */
function countingScript(requestPart: string): string {
  return `
local threads = {}
function setup(thread) table.insert(threads, thread) end
${requestPart}
function init(args) ok = 0; shed = 0; bare503 = 0; other = 0 end
function response(status, headers, body)
  if status >= 200 and status < 400 then ok = ok + 1
  elseif status == 503 then
    if headers["retry-after"] or headers["Retry-After"] then shed = shed + 1 else bare503 = bare503 + 1 end
  else other = other + 1 end
end
function done(summary, latency, requests)
  local t = { ok = 0, shed = 0, bare503 = 0, other = 0 }
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
  end
  io.write(string.format("ANSWERS ok %d shed %d bare503 %d other %d\\n", t.ok, t.shed, t.bare503, t.other))
end
`;
}

function rotating(paths: string[]): string {
  return `
local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, paths[(n % #paths) + 1])
end`;
}

function answersOf(output: string): Answers {
  const m = /ANSWERS ok (\d+) shed (\d+) bare503 (\d+) other (\d+)/.exec(output);
  if (!m) throw new Error(`wrk printed no answer counts:\n${output}`);
  return { ok: Number(m[1]), shed: Number(m[2]), bare503: Number(m[3]), other: Number(m[4]) };
}

type Run = LoadResult & { socketErrors: SocketErrors; output: string };

function socketErrorTotal(e: SocketErrors): number {
  return e.connect + e.read + e.write + e.timeout;
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
      writeFileSync(file, countingScript(requestPart));
      return { file, args: [] };
    };
    const readScript = script('read', '');
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
    const graphqlScript = script('graphql', `wrk.method = "POST"\nwrk.body = ${JSON.stringify(JSON.stringify({ query }))}\nwrk.headers["Content-Type"] = "application/json"`);
    const latest = `${server.api}/repos/${repo.full}/releases/latest`;

    // Warm-up (JIT, caches), not measured.
    await wrk(latest, { connections: 16, seconds: 3, headers: auth, script: readScript });

    ctx.log(`overload: read API, ${READ_CONNECTIONS} connections for ${seconds} s`);
    const read = await wrk(latest, { connections: READ_CONNECTIONS, seconds, headers: auth, script: readScript, timeoutSeconds: TIMEOUT_SECONDS });
    record(ctx, 'Read API (latest release)', `wrk, 2 threads, ${READ_CONNECTIONS} connections`, read);

    ctx.log(`overload: mixed routes and GraphQL at once, ${MIXED_CONNECTIONS} + ${GRAPHQL_CONNECTIONS} connections for ${seconds} s`);
    const [mixed, graphql] = await Promise.all([
      wrk(`${server.base}/`, { connections: MIXED_CONNECTIONS, seconds, headers: auth, script: mixedScript, timeoutSeconds: TIMEOUT_SECONDS }),
      wrk(`${server.base}/api/graphql`, { connections: GRAPHQL_CONNECTIONS, seconds, headers: auth, threads: 1, script: graphqlScript, timeoutSeconds: TIMEOUT_SECONDS }),
    ]);
    record(ctx, 'Mixed: REST, release page, feed, download', `wrk, 2 threads, ${MIXED_CONNECTIONS} connections`, mixed);
    record(ctx, 'Mixed: GraphQL reading 20 tag commits from git', `wrk, 1 thread, ${GRAPHQL_CONNECTIONS} connections`, graphql);

    const runs = [read, mixed, graphql];
    const errors: SocketErrors = { connect: 0, read: 0, write: 0, timeout: 0 };
    for (const r of runs) for (const k of Object.keys(errors) as (keyof SocketErrors)[]) errors[k] += r.socketErrors[k];
    ctx.record({
      scenario: 'overload',
      name: 'Socket errors: connections refused, closed without an answer, writes refused, answers past 10 s',
      unit: 'errors',
      wharf: socketErrorTotal(errors),
      target: ZERO,
      note: JSON.stringify(errors),
    });
    const answers = runs.map((r) => answersOf(r.output));
    ctx.record({
      scenario: 'overload',
      name: 'Answers other than 2xx/3xx or 503 with Retry-After',
      unit: 'answers',
      wharf: answers.reduce((s, a) => s + a.other + a.bare503, 0),
      target: ZERO,
      note: `2xx/3xx ${answers.reduce((s, a) => s + a.ok, 0)}, shed (503 + Retry-After) ${answers.reduce((s, a) => s + a.shed, 0)}`,
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
      const ceiling = await wrk(`${nginx.base}/ceiling`, {
        connections: READ_CONNECTIONS,
        seconds: Math.min(10, seconds),
        headers: auth,
        script: readScript,
        timeoutSeconds: TIMEOUT_SECONDS,
      });
      ctx.clientCheck({
        what: 'Overload, read API',
        client: `wrk (2 threads, ${READ_CONNECTIONS} connections, counting answers in Lua)`,
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
  const a = answersOf(r.output);
  ctx.record({
    scenario: 'overload',
    name: `${what}: answers per second under overload`,
    unit: 'req/s',
    wharf: r.requestsPerSecond,
    note: `${client}: ${r.requests} requests; ${a.ok} 2xx/3xx, ${a.shed} 503 + Retry-After (shed), ${a.bare503 + a.other} other; p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms; socket errors ${JSON.stringify(r.socketErrors)}`,
  });
}
