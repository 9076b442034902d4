/**
 * `npm run bench [-- --quick]` — Wharf's speed and memory against baselines measured in the same
 * run on the same machine (nginx for downloads, bare Node and Fastify servers for uploads and
 * reads), printed as one table and written to bench/results/latest.json (and .md).
 *
 * Every server runs as its own process; everything the bench starts — processes, data
 * directories, files — is removed when it ends, however it ends. No network access is needed.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.ts';
import { BenchContext, clientCheckLine } from './lib/context.ts';
import { describeMachine, machineLine } from './lib/machine.ts';
import { missingNativeClients, NATIVE_CLIENTS_HINT } from './lib/native-clients.ts';
import { findNginx, NGINX_INSTALL_HINT } from './lib/nginx.ts';
import { parseOptions, type ScenarioName } from './lib/options.ts';
import { textTable, writeResults } from './lib/report.ts';
import { setServerRoot } from './lib/wharf.ts';
import { WorkDir } from './lib/workdir.ts';
import { downloadScenario } from './scenarios/download.ts';
import { eventsScenario } from './scenarios/events.ts';
import { overloadScenario } from './scenarios/overload.ts';
import { readApiScenario } from './scenarios/read-api.ts';
import { scaleScenario } from './scenarios/scale.ts';
import { uploadScenario } from './scenarios/upload.ts';
import { writeApiScenario } from './scenarios/write-api.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const SCENARIOS: Record<ScenarioName, (ctx: BenchContext) => Promise<void>> = {
  download: downloadScenario,
  upload: uploadScenario,
  read: readApiScenario,
  write: writeApiScenario,
  scale: scaleScenario,
  events: eventsScenario,
  overload: overloadScenario,
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), path.join(HERE, 'results', 'latest.json'));
  installSignalHandlers();
  if (options.wharfRoot) setServerRoot(options.wharfRoot);
  const nginx = findNginx();
  const machine = describeMachine(nginx);
  const command = `npm run bench${options.profile.name === 'quick' ? ' -- --quick' : ''}${options.postgres ? ' --postgres URL' : ''}`;
  process.stderr.write(`wharf bench (${options.profile.name}) on ${machineLine(machine)}\n`);
  if (!nginx) process.stderr.write(`nginx not found: the download baseline will be missing; ${NGINX_INSTALL_HINT}\n`);
  const missing = missingNativeClients();
  if (missing.length) throw new Error(`the bench measures with native clients; missing: ${missing.join(', ')}: ${NATIVE_CLIENTS_HINT}`);

  const started = Date.now();
  const ctx = new BenchContext(options.profile, new WorkDir(), nginx, options.postgres);
  for (const [name, run] of Object.entries(SCENARIOS) as [ScenarioName, (c: BenchContext) => Promise<void>][]) {
    if (!options.only.has(name)) continue;
    // Written-back first: dirty pages left by whatever ran before (an earlier scenario's thousands
    // of durable writes, a build) would otherwise be flushed during this scenario's measurements.
    const flushed = Date.now();
    spawnSync('sync', { stdio: 'ignore' });
    ctx.log(`  (page cache written back in ${((Date.now() - flushed) / 1000).toFixed(1)} s before ${name})`);
    const t0 = Date.now();
    try {
      await run(ctx);
    } catch (err) {
      // One broken scenario must not cost the others' figures; the table shows the failure.
      ctx.log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
      ctx.record({ scenario: name, name: `${name} scenario`, unit: '', wharf: null, note: `not run: failed: ${(err as Error).message.split('\n')[0]}` });
    }
    ctx.log(`  (${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  const records = [...ctx.records, ...ctx.memoryRecords];
  const durationSeconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`\nWharf bench, ${options.profile.name} profile, ${durationSeconds} s\nMachine: ${machineLine(machine)}\nCommand: ${command}\n\n`);
  process.stdout.write(`${textTable(records)}\n`);
  if (ctx.checks.length) process.stdout.write(`\nClient ceilings (is the load generator the limit?):\n${ctx.checks.map((c) => `- ${clientCheckLine(c)}`).join('\n')}\n`);
  writeResults(options.output, { profile: options.profile.name, command, startedAt: new Date(started).toISOString(), durationSeconds, machine, records, clientChecks: ctx.checks });
  process.stdout.write(`\nResults: ${path.relative(process.cwd(), options.output)}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
