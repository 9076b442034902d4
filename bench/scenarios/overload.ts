/**
 * Scenario 6 — overload. Three wrk processes at once saturate both cores for a while: REST reads
 * (a page of releases), GraphQL queries that each read every release's tag commit from git (one
 * git process per release), and the HTML releases page, 32 connections in all, while wrk itself takes a share of the
 * two cores. The figure that matters is not throughput but that every request got an answer:
 * wrk's socket errors (connections refused, reset or closed without an answer, writes refused,
 * answers later than its timeout) must be zero. An answer may be a 503 with `Retry-After` when
 * Wharf sheds load on purpose; those are counted, not hidden. The body timeout is the test
 * suite's (1 s), where a deadline judged on the clock used to close sockets whose bodies were
 * waiting in the kernel.
 */
import { writeFileSync } from 'node:fs';
import type { BenchContext } from '../lib/context.ts';
import { wrk, type SocketErrors } from '../lib/native-clients.ts';
import { createRelease, createRepo, createUser, startWharf } from '../lib/wharf.ts';

const RELEASES = 20;
const ZERO = { on: 'wharf', op: '<=', value: 0 } as const;

export async function overloadScenario(ctx: BenchContext): Promise<void> {
  const { profile, work } = ctx;
  // Longer than wrk's 10 s timeout by far, so a request left without an answer is counted.
  const seconds = Math.max(30, profile.loadSeconds * 3);
  ctx.log(`overload: REST, GraphQL and pages from three wrk processes at once for ${seconds} s`);
  const server = await startWharf(work, work.dir('overload-data'), { WHARF_BODY_TIMEOUT_MS: '1000' });
  try {
    const owner = await createUser(server, 'bench');
    const repo = await createRepo(server, owner, 'overload');
    for (let i = 0; i < RELEASES; i++) await createRelease(server, repo, `v${i}`);
    const query = `{ repository(owner: "${owner.login}", name: "${repo.name}") { releases(first: ${RELEASES}) { nodes { tagName tagCommit { oid committedDate } } } } }`;
    const script = work.file('overload-graphql.lua');
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(JSON.stringify({ query }))}\nwrk.headers["Content-Type"] = "application/json"\n`);
    const auth = { authorization: `token ${owner.token}` };
    const runs = await Promise.all([
      wrk(`${server.api}/repos/${repo.full}/releases?per_page=30`, { connections: 16, seconds, headers: auth, threads: 1, timeoutSeconds: 10 }),
      wrk(`${server.base}/api/graphql`, { connections: 8, seconds, headers: auth, threads: 1, script: { file: script, args: [] }, timeoutSeconds: 10 }),
      wrk(`${server.base}/${repo.full}/releases`, { connections: 8, seconds, headers: { accept: 'text/html' }, threads: 1, timeoutSeconds: 10 }),
    ]);
    const labels = ['REST', 'GraphQL', 'pages'];
    const total: SocketErrors = { connect: 0, read: 0, write: 0, timeout: 0 };
    for (const [i, r] of runs.entries()) {
      for (const k of Object.keys(total) as (keyof SocketErrors)[]) total[k] += r.socketErrors[k];
      ctx.record({
        scenario: 'overload',
        name: `${labels[i]} under overload, answered requests`,
        unit: 'req/s',
        wharf: r.requestsPerSecond,
        note: `${r.requests} requests, p99 ${r.p99Ms.toFixed(0)} ms, ${r.non2xx} non-2xx (503 = shed on purpose), socket errors ${JSON.stringify(r.socketErrors)}`,
      });
    }
    ctx.record({
      scenario: 'overload',
      name: 'Connections closed without an answer (wrk socket errors: connect + read + write + timeout)',
      unit: 'errors',
      wharf: total.connect + total.read + total.write + total.timeout,
      target: ZERO,
      note: JSON.stringify(total),
    });
  } finally {
    await server.stop();
  }
}
