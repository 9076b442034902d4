/**
 * @module cli/mirror-commands
 * `wharf mirror add UPSTREAM_REPO_URL OWNER/REPO [--kind github|gitea|auto] [--token-stdin]
 * [--schedule 1h] [--tags GLOB] [--channels LIST] [--assets GLOB] [--last N] [--no-prune]`, `wharf mirror list`, `wharf mirror sync OWNER/REPO` (one sync now, in
 * this process; exit 1 if it failed) and `wharf mirror remove OWNER/REPO` (docs/mirrors.md).
 * The commands act as the repository's owner (or `--as LOGIN`, needed for an organization's).
 */
import type { Command } from 'commander';
import type { AppContext } from '../context.ts';
import { NotFoundError, ValidationError, WharfError } from '../domain/errors.ts';
import type { RepoAccess } from '../services/repositories.ts';
import { CliError } from './cli-error.ts';
import { table } from './table.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** The repository as its administrator `as` (default: its owner, when that is a user). */
async function adminAccess(ctx: AppContext, full: string, as: string | undefined): Promise<RepoAccess> {
  const [{ findAccountByLogin }, { findRepository }, { actingPrincipal }] = await Promise.all([
    import('../db/repos/accounts-repo.ts'),
    import('../db/repos/repositories-repo.ts'),
    import('../services/mirror-sync.ts'),
  ]);
  const [ownerLogin, name] = full.split('/');
  if (!ownerLogin || !name) throw new CliError(`"${full}" is not OWNER/REPO`);
  const owner = await findAccountByLogin(ctx.db, ownerLogin);
  const repo = owner && (await findRepository(ctx.db, owner.id, name));
  if (!owner || !repo) throw new CliError(`there is no repository ${full}`);
  const actor = as ? await findAccountByLogin(ctx.db, as) : owner;
  if (!actor || actor.type !== 'User')
    throw new CliError(as ? `there is no user ${as}` : `${owner.login} is an organization: say which of its administrators acts with --as LOGIN`);
  return { owner, repo, permission: 'admin', principal: actingPrincipal(actor) };
}

function explain(err: unknown): unknown {
  if (err instanceof ValidationError) return new CliError(err.errors.map((e) => e.message ?? `${e.field}: ${e.code}`).join('; '));
  if (err instanceof NotFoundError) return new CliError('that repository is not a mirror; `wharf mirror list` shows the mirrors');
  if (err instanceof WharfError) return new CliError(err.message);
  return err;
}

export function registerMirrorCommands(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  const mirror = program.command('mirror').description('pull mirrors of repositories on other servers (GitHub, GHES, Wharf, Gitea, Forgejo)');
  mirror
    .command('add <upstream_repo_url> <owner_repo>')
    .description('make OWNER/REPO (with no releases yet) a mirror of the upstream repository; its first sync runs on the server at once')
    .option('--kind <kind>', 'the API the upstream speaks: github (GitHub, GHES, Wharf), gitea (Gitea, Forgejo) or auto (asked at the first sync)', 'auto')
    .option('--token-stdin', 'read a token for the upstream from standard input (stored encrypted; without it a mirror being changed keeps its token)')
    .option('--schedule <duration>', 'how often to sync: 15m, 1h, 1d', '1h')
    .option('--tags <glob>', 'mirror only tags (and their releases) matching this glob, such as v*')
    .option('--channels <list>', "mirror only releases of these channels, such as stable or stable,beta (derived by the repository's release rules)")
    .option('--assets <glob>', 'mirror only assets whose names match this glob, such as *.tar.gz')
    .option('--last <n>', 'mirror only the newest N releases')
    .option('--no-prune', 'keep releases and assets the upstream deleted')
    .option('--as <login>', 'the administrator the mirror acts as (default: the owner)')
    .action(
      async (
        url: string,
        full: string,
        opts: {
          kind: string;
          tokenStdin?: boolean;
          schedule: string;
          tags?: string;
          channels?: string;
          assets?: string;
          last?: string;
          prune: boolean;
          as?: string;
        },
      ) => {
        const token = opts.tokenStdin ? await readStdin() : undefined;
        await run(async (ctx) => {
          const { setMirror, formatSchedule } = await import('../services/mirrors.ts');
          const access = await adminAccess(ctx, full, opts.as);
          const body = {
            upstream_url: url,
            kind: opts.kind,
            token,
            schedule: opts.schedule,
            tags: opts.tags ?? null,
            channels: opts.channels ?? null,
            assets: opts.assets ?? null,
            last: opts.last === undefined ? null : /^\d+$/.test(opts.last) ? Number(opts.last) : opts.last,
            prune: opts.prune,
          };
          const { mirror: row, created } = await setMirror(ctx, access, body).catch((err: unknown) => {
            throw explain(err);
          });
          process.stdout.write(
            `${created ? 'mirroring' : 'updated the mirror of'} ${row.upstream_url} into ${full}, every ${formatSchedule(row.schedule_ms)}${row.token_sealed ? ' (with a token)' : ''}\n`,
          );
        });
      },
    );
  mirror
    .command('list')
    .description('list the mirrors with their upstream, schedule and last sync')
    .action(async () => {
      await run(async (ctx) => {
        const { listMirrors, formatSchedule } = await import('../services/mirrors.ts');
        const rows = (await listMirrors(ctx)).map((m) => [
          `${m.owner_login}/${m.repo_name}`,
          m.upstream_url,
          formatSchedule(m.schedule_ms),
          m.last_status ?? 'never synced',
          m.last_finished_at ?? '',
          m.last_error ?? '',
        ]);
        process.stdout.write(table(['REPOSITORY', 'UPSTREAM', 'EVERY', 'LAST SYNC', 'FINISHED', 'ERROR'], rows));
      });
    });
  mirror
    .command('sync <owner_repo>')
    .description('run one sync now and wait for it; exits 1 if it failed')
    .option('--as <login>', 'the administrator asking (default: the owner)')
    .action(async (full: string, opts: { as?: string }) => {
      await run(async (ctx) => {
        const [{ syncNow }, { onRefsChanged }, { describeSummary }] = await Promise.all([
          import('../services/mirrors.ts'),
          import('../services/releases.ts'),
          import('../services/mirror-sync.ts'),
        ]);
        // As on the server: releases follow their tags (a tag the upstream deleted unpublishes its release).
        ctx.pushListeners.add((trx, set) => onRefsChanged(trx, set.repo, set.changes, set.actorId));
        const outcome = await syncNow(ctx, await adminAccess(ctx, full, opts.as)).catch((err: unknown) => {
          throw explain(err);
        });
        if (!outcome.ran) throw new CliError(`${full} is being synced by another process right now; try again when it is done`);
        const line = describeSummary(outcome.summary);
        if (!outcome.ok) throw new CliError(`sync of ${full} failed: ${outcome.error} (${line})`);
        process.stdout.write(`synced ${full}: ${line}\n`);
      });
    });
  mirror
    .command('remove <owner_repo>')
    .description('stop mirroring; the repository keeps what it has and becomes writable')
    .option('--as <login>', 'the administrator asking (default: the owner)')
    .action(async (full: string, opts: { as?: string }) => {
      await run(async (ctx) => {
        const { removeMirror } = await import('../services/mirrors.ts');
        await removeMirror(ctx, await adminAccess(ctx, full, opts.as)).catch((err: unknown) => {
          throw explain(err);
        });
        process.stdout.write(`${full} is no longer a mirror\n`);
      });
    });
}
