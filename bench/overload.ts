/**
 * `node --import tsx bench/overload.ts [--quick]` — the overload scenario alone
 * (`scenarios/overload.ts`; the same as `npm run bench -- --only overload`): wrk in processes of
 * its own saturates both cores with more clients than Wharf can serve in time, against the read
 * API and a mixed set of routes, one connection per wrk thread, and a Lua script keeps the books:
 * requests sent, answered 2xx/3xx, answered 503 with `Retry-After`, anything else, the latency of
 * answered requests as measured, and requests still in flight at the end with their age; wrk's
 * socket errors by kind. Targets: zero socket errors, zero requests unanswered within the bound
 * (`ANSWER_BOUND_SECONDS`, docs/reliability.md), every answer 2xx/3xx or 503 with `Retry-After`.
 * Results are printed and written to bench/results/overload.json (and .md).
 *
 * Not a test: a performance figure, run by hand (the machine's load decides the throughput; the
 * answers must be complete whatever it is).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.ts';
import { BenchContext, clientCheckLine } from './lib/context.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { missingNativeClients, NATIVE_CLIENTS_HINT } from './lib/native-clients.ts';
import { findNginx, NGINX_INSTALL_HINT } from './lib/nginx.ts';
import { parseOptions } from './lib/options.ts';
import { textTable, writeResults } from './lib/report.ts';
import { WorkDir } from './lib/workdir.ts';
import { overloadScenario } from './scenarios/overload.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const options = parseOptions([...process.argv.slice(2), '--only', 'overload'], path.join(HERE, 'results', 'overload.json'));
  installSignalHandlers();
  const nginx = findNginx();
  if (!nginx) process.stderr.write(`nginx not found: the client's ceiling will be missing; ${NGINX_INSTALL_HINT}\n`);
  const missing = missingNativeClients();
  if (missing.length) throw new Error(`the bench measures with native clients; missing: ${missing.join(', ')}: ${NATIVE_CLIENTS_HINT}`);
  const machine = describeMachine(nginx);
  const command = `node --import tsx bench/overload.ts${options.profile.name === 'quick' ? ' --quick' : ''}`;
  process.stderr.write(`wharf overload bench (${options.profile.name}) on ${machineLine(machine)}\n`);

  const started = Date.now();
  const ctx = new BenchContext(options.profile, new WorkDir(), nginx);
  await overloadScenario(ctx);
  const durationSeconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`\nWharf overload bench, ${options.profile.name} profile, ${durationSeconds} s\nMachine: ${machineLine(machine)}\nCommand: ${command}\n\n`);
  process.stdout.write(`${textTable(ctx.records)}\n`);
  if (ctx.checks.length) process.stdout.write(`\nClient ceilings (is the load generator the limit?):\n${ctx.checks.map((c) => `- ${clientCheckLine(c)}`).join('\n')}\n`);
  writeResults(options.output, {
    profile: options.profile.name,
    command,
    startedAt: new Date(started).toISOString(),
    durationSeconds,
    machine,
    records: ctx.records,
    clientChecks: ctx.checks,
  });
  process.stdout.write(`\nResults: ${path.relative(process.cwd(), options.output)}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
