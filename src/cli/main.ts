/**
 * @module cli/main
 * `wharf` — administration from the command line, as GHES administrators script it. Works on the
 * same data directory (or database) as the server, through the same services as the API.
 *
 *   wharf user create LOGIN [--email E] [--admin]
 *   wharf token create LOGIN [--scopes repo,read:org] [--note N] [--expires-in-days D]
 *   wharf token revoke LOGIN --last-eight XXXXXXXX
 *   wharf org create LOGIN --owner USER
 *   wharf serve
 */
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config/config.ts';
import { checkDirectories } from '../config/preflight.ts';
import type { AppContext } from '../context.ts';
import { openDatabase } from '../db/dialect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { listTokensForUser, revokeToken } from '../db/repos/tokens-repo.ts';
import { ValidationError } from '../domain/errors.ts';
import { createBlobStore } from '../blobs/create-blob-store.ts';
import { createOrganization, createUser, getUser } from '../services/accounts.ts';
import { PushListeners } from '../services/push-events.ts';
import { issueToken } from '../services/tokens.ts';
import { isoSeconds } from '../util/time.ts';
import { setSiteAdmin } from '../db/repos/accounts-repo.ts';

/** Scopes a CLI-issued token gets unless told otherwise: what gh and release tools need. */
const DEFAULT_CLI_SCOPES = ['repo', 'read:org', 'workflow'];

async function withContext<T>(fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  // The CLI may be the first to create the database: private to Wharf's user, as the server's files.
  process.umask(0o077);
  const config = loadConfig();
  checkDirectories(config);
  const handle = await openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(handle);
    const ctx: AppContext = {
      config,
      db: handle.db,
      dbKind: handle.kind,
      blobs: await createBlobStore(config),
      log: pino({ level: 'warn' }, pino.destination(2)),
      pushListeners: new PushListeners(),
    };
    return await fn(ctx);
  } finally {
    await handle.close();
  }
}

function describe(err: unknown): string {
  if (err instanceof ValidationError) {
    return err.errors.map((e) => e.message ?? `${e.resource ?? ''} ${e.field ?? ''} ${e.code}`.trim()).join('; ') || err.message;
  }
  return (err as Error).message;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function buildCli(): Command {
  const program = new Command('wharf').description('Wharf release server administration').showHelpAfterError();

  const user = program.command('user').description('manage users');
  user
    .command('create <login>')
    .option('--email <email>', 'e-mail address (used to attribute commits)')
    .option('--name <name>', 'display name')
    .option('--admin', 'make the user a site administrator', false)
    .action(async (login: string, opts: { email?: string; name?: string; admin: boolean }) => {
      await withContext(async (ctx) => {
        const account = await createUser(ctx, { login, email: opts.email ?? null, name: opts.name ?? null, siteAdmin: opts.admin });
        process.stdout.write(`created user ${account.login} (id ${account.id})${opts.admin ? ' as site administrator' : ''}\n`);
      });
    });
  user
    .command('promote <login>')
    .description('make an existing user a site administrator')
    .action(async (login: string) => {
      await withContext(async (ctx) => {
        const account = await getUser(ctx, login);
        await setSiteAdmin(ctx.db, account.id, true, isoSeconds());
        process.stdout.write(`${account.login} is now a site administrator\n`);
      });
    });

  const token = program.command('token').description('manage access tokens');
  token
    .command('create <login>')
    .description('issue a token for a user and print it (it is shown only once)')
    .option('--scopes <list>', 'comma- or space-separated OAuth scopes', DEFAULT_CLI_SCOPES.join(','))
    .option('--note <note>', 'what the token is for')
    .option('--expires-in-days <days>', 'expire the token after this many days', positiveInt)
    .action(async (login: string, opts: { scopes: string; note?: string; expiresInDays?: number }) => {
      await withContext(async (ctx) => {
        const account = await getUser(ctx, login);
        const scopes = opts.scopes.split(/[\s,]+/).filter(Boolean);
        const expiresAt = opts.expiresInDays ? isoSeconds(new Date(Date.now() + opts.expiresInDays * 86_400_000)) : null;
        const issued = await issueToken(ctx.db, account.id, scopes, { note: opts.note ?? null, expiresAt });
        process.stdout.write(`${issued.token}\n`);
      });
    });
  token
    .command('list <login>')
    .description("list a user's tokens (last eight characters only)")
    .action(async (login: string) => {
      await withContext(async (ctx) => {
        const account = await getUser(ctx, login);
        for (const t of await listTokensForUser(ctx.db, account.id)) {
          const status = t.revoked_at ? 'revoked' : t.expires_at && Date.parse(t.expires_at) < Date.now() ? 'expired' : 'active';
          process.stdout.write(`…${t.token_last_eight}\t${status}\t${t.scopes || '(no scopes)'}\t${t.note ?? ''}\n`);
        }
      });
    });
  token
    .command('revoke <login>')
    .description('revoke a token of a user, named by its last eight characters')
    .requiredOption('--last-eight <chars>', 'the last eight characters of the token')
    .action(async (login: string, opts: { lastEight: string }) => {
      await withContext(async (ctx) => {
        const account = await getUser(ctx, login);
        const match = (await listTokensForUser(ctx.db, account.id)).filter((t) => t.token_last_eight === opts.lastEight && !t.revoked_at);
        if (match.length !== 1) throw new Error(match.length ? 'several tokens end that way; revoke them through the API' : 'no active token ends that way');
        await revokeToken(ctx.db, match[0]!.id, isoSeconds());
        process.stdout.write('revoked\n');
      });
    });

  program
    .command('org')
    .description('manage organizations')
    .command('create <login>')
    .requiredOption('--owner <user>', 'the user who administers the organization')
    .option('--name <name>', 'display name')
    .action(async (login: string, opts: { owner: string; name?: string }) => {
      await withContext(async (ctx) => {
        const org = await createOrganization(ctx, login, opts.owner, opts.name ?? null);
        process.stdout.write(`created organization ${org.login} (id ${org.id}), administered by ${opts.owner}\n`);
      });
    });

  program
    .command('serve')
    .description('start the server (same as npm start)')
    .action(async () => {
      await import('../main.ts');
    });

  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`wharf: ${err.message}\n`);
    else process.stderr.write(`wharf: ${describe(err)}\n`);
    process.exitCode = 1;
  }
}
