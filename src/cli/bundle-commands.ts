/**
 * @module cli/bundle-commands
 * `wharf bundle export OWNER/REPO [--since TAG] [--tags GLOB] -o FILE` and
 * `wharf bundle import FILE [--into OWNER/REPO] [--as LOGIN]` and `wharf bundle detach OWNER/REPO`: signed offline bundles of a
 * repository's refs and releases, for networks with no path between two instances
 * (docs/mirrors.md). Both run on the server's data, as the other commands do; exit 1 with the
 * reason when a bundle is refused (nothing is then imported).
 */
import type { Command } from 'commander';
import type { AppContext } from '../context.ts';
import { WharfError } from '../domain/errors.ts';
import { CliError } from './cli-error.ts';
import { progressBar } from './progress.ts';

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

async function explain(err: unknown): Promise<unknown> {
  const [{ BundleRefused }, { GitError }] = await Promise.all([import('../attestations/bundle-manifest.ts'), import('../git/git.ts')]);
  if (err instanceof BundleRefused) return new CliError(`bundle refused: ${err.message}`);
  if (err instanceof WharfError || err instanceof GitError) return new CliError(err.message);
  return err;
}

export function registerBundleCommands(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const bundle = program.command('bundle').description("signed offline bundles of a repository's refs, releases and assets");
  bundle
    .command('export <owner_repo>')
    .description('write the repository (branches, tags, published releases with their assets and attestations) to one signed file')
    .requiredOption('-o, --output <file>', 'the file to write')
    .option('--since <tag>', 'only what came after the release of this tag (an incremental bundle)')
    .option('--tags <glob>', 'only tags (and their releases) matching this glob, such as v*')
    .action(async (full: string, opts: { output: string; since?: string; tags?: string }) => {
      await run(async (ctx) => {
        const { exportBundle } = await import('../services/bundle-export.ts');
        const bar = progressBar('exporting');
        try {
          const s = await exportBundle(ctx, {
            repository: full,
            output: opts.output,
            since: opts.since ?? null,
            tags: opts.tags ?? null,
            onProgress: (done, total) => bar.update(done, total),
          });
          bar.end();
          process.stdout.write(
            `exported ${full} to ${opts.output}: ${s.releases} releases, ${s.assets} assets (${s.blobs} distinct), ${s.refs} refs, ${mib(s.bytes)}; signed by key ${s.keyId}\n`,
          );
        } catch (err) {
          bar.end();
          throw await explain(err);
        }
      });
    });
  bundle
    .command('import <file>')
    .description('verify a bundle (signature and every digest) and only then apply it; importing it again changes nothing')
    .option('--into <owner_repo>', "the repository to import into (default: the bundle's own OWNER/REPO)")
    .option('--as <login>', 'the user the import acts as (default: the owner; needed for an organization)')
    .action(async (file: string, opts: { into?: string; as?: string }) => {
      await run(async (ctx) => {
        const [{ importBundle }, { onRefsChanged }] = await Promise.all([import('../services/bundle-import.ts'), import('../services/releases.ts')]);
        // As on the server: releases follow their tags.
        ctx.pushListeners.add((trx, set) => onRefsChanged(trx, set.repo, set.changes, set.actorId));
        const bar = progressBar('verifying');
        try {
          const s = await importBundle(ctx, { file, into: opts.into ?? null, as: opts.as ?? null, onProgress: (done, total) => bar.update(done, total) });
          bar.end();
          const changed = s.refsChanged + s.releasesCreated + s.releasesUpdated + s.assetsStored + s.assetsDeleted + s.attestationsStored;
          const what = changed
            ? `${s.refsChanged} refs changed, releases ${s.releasesCreated} created / ${s.releasesUpdated} updated, assets ${s.assetsStored} stored / ${s.assetsDeleted} deleted, ${s.attestationsStored} attestations kept`
            : 'nothing to change (already imported)';
          process.stdout.write(
            `imported ${s.origin} into ${s.repository}${s.createdRepository ? ' (new repository)' : ''}: ${what}; signed by key ${s.keyId} (trusted: ${s.trustedFrom})\n`,
          );
        } catch (err) {
          bar.end();
          throw await explain(err);
        }
      });
    });
  bundle
    .command('detach <owner_repo>')
    .description('stop following the origin of imported bundles: the repository keeps its releases and becomes writable (and takes no more bundles)')
    .action(async (full: string) => {
      await run(async (ctx) => {
        const { detachBundleOrigin } = await import('../services/bundle-import.ts');
        const origin = await detachBundleOrigin(ctx, full).catch(async (err: unknown) => {
          throw await explain(err);
        });
        process.stdout.write(`${full} no longer follows ${origin}; its releases are writable here\n`);
      });
    });
}
