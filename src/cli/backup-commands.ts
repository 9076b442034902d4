/**
 * @module cli/backup-commands
 * `wharf backup DIR`, `wharf restore DIR` and `wharf check [--repair]` (services/backup.ts and
 * services/instance-check.ts). Progress goes to stderr, results to stdout. `check` exits 1 while
 * problems remain, so it can gate a restore in a script.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import type { AppContext } from '../context.ts';
import type { CheckReport } from '../services/instance-check.ts';

const say = (line: string) => process.stderr.write(`wharf: ${line}\n`);

function printReport(report: CheckReport): void {
  process.stdout.write(`checked ${report.repositories} repositories, ${report.releases} published releases, ${report.assets} assets (bytes, size and sha256)\n`);
  for (const p of report.problems) process.stdout.write(`${p.kind}: ${p.subject}${p.repairable ? ' (--repair removes it)' : ''}\n`);
  if (report.repaired > 0) process.stdout.write(`repaired ${report.repaired}\n`);
  const left = report.problems.length - report.repaired;
  process.stdout.write(report.problems.length === 0 ? 'no problems\n' : `${report.problems.length} problem(s) found\n`);
  if (left > 0) process.exitCode = 1;
}

export function registerBackupCommands(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  program
    .command('backup <dir>')
    .description('copy the instance into a new directory while it serves (database, blobs, repositories, consistent with each other)')
    .action(async (dir: string) => {
      await run(async (ctx) => {
        const { backupInstance, explainExternalBackup } = await import('../services/backup.ts');
        if (!ctx.config.databaseUrl.startsWith('sqlite:') || ctx.config.blobStore !== 'fs') {
          process.stdout.write(`${explainExternalBackup(ctx.config)}\n`);
          const { checkInstance } = await import('../services/instance-check.ts');
          printReport(await checkInstance(ctx));
          return;
        }
        const manifest = await backupInstance(ctx, dir, say);
        say(
          `the instance key (${ctx.config.instanceKeyFile}) is not in the backup: keep a copy of it elsewhere; a restored instance needs it to open the attestation signing keys and webhook secrets the backup holds sealed`,
        );
        process.stdout.write(
          `backed up ${manifest.repositories} repositories, ${manifest.releases} releases, ${manifest.assets} assets (${manifest.blobs} blobs) into ${dir} in ${manifest.rounds} round(s)\n`,
        );
      });
    });

  program
    .command('restore <dir>')
    .description('restore a backup into the empty data directory the settings name (Wharf stopped), then check it')
    .action(async (dir: string) => {
      process.umask(0o077);
      const config = loadConfig();
      say(`restoring into ${config.dataDir}`);
      const { restoreInstance } = await import('../services/backup.ts');
      const { check } = await restoreInstance(config, dir, say);
      say(`before starting Wharf, put the instance key kept with this backup at ${config.instanceKeyFile}`);
      printReport(check);
    });

  program
    .command('check')
    .description("verify the instance: every asset's bytes and digest, every release's tag, orphaned blobs and repositories")
    .option('--repair', 'delete orphaned blobs and bare repositories older than an hour (missing or corrupt data is only reported)', false)
    .action(async (opts: { repair: boolean }) => {
      await run(async (ctx) => {
        const { checkInstance } = await import('../services/instance-check.ts');
        printReport(await checkInstance(ctx, { repair: opts.repair }));
      });
    });
}
