/**
 * @module cli/main
 * `wharf` — administration from the command line, as GHES administrators script it. It reads the
 * same configuration as the server (WHARF_* variables, WHARF_CONFIG), says on stderr which data
 * directory or database it acts on, and works through the same services as the API. It never
 * creates a new, empty instance unless told to (`--init`): a mistyped or unset WHARF_DATA_DIR
 * must not quietly start a second Wharf beside the real one.
 *
 *   wharf user list | create LOGIN [--password-stdin] | reset-link LOGIN | promote LOGIN | suspend LOGIN | unsuspend LOGIN | delete LOGIN --yes
 *   wharf token create LOGIN [--scopes repo,read:org] [--note N] [--expires 30d|2027-01-31|never]
 *   wharf token list LOGIN | revoke LOGIN --last-eight XXXXXXXX
 *   wharf org create LOGIN --owner USER
 *   wharf backup DIR | restore DIR | check [--repair]
 *   wharf keys list | rotate | trust URL_OR_FILE | untrust ROOT_ID
 *   wharf bundle export OWNER/REPO [--since TAG] [--tags GLOB] -o FILE | import FILE [--into OWNER/REPO] [--as LOGIN] | detach OWNER/REPO
 *   wharf mirror add UPSTREAM_URL OWNER/REPO [--token-stdin] [--schedule 1h] [--tags GLOB] [--last N] | list | sync OWNER/REPO | remove OWNER/REPO
 *   wharf verify FILE --repo OWNER/REPO --tag TAG [--bundle B --trusted-root R] [--server URL]
 *   wharf audit [--action A] [--actor LOGIN] [--user LOGIN] [--repo OWNER/NAME] [--since 7d] [--limit N] [--json]
 *   wharf serve
 *
 * Exit codes: 0 done, 1 the operation was refused (the message says why and what to do),
 * 2 a setting or an argument is wrong.
 */
import { existsSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type WharfConfig } from '../config/config.ts';
import { describeStoreLine } from '../config/describe.ts';
import { SETTINGS, shown } from '../config/settings.ts';
import { checkDirectories, databaseError } from '../config/preflight.ts';
import { newCaches, type AppContext } from '../context.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { GITHUB_SCOPES, unknownScopes } from '../domain/oauth-scopes.ts';
import type { AuditActor } from '../services/audit.ts';
import { registerAuditCommand } from './audit-command.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerBundleCommands } from './bundle-commands.ts';
import { CliError } from './cli-error.ts';
import { registerKeysCommands } from './keys-commands.ts';
import { registerMirrorCommands } from './mirror-commands.ts';
import { registerVerifyCommand } from './verify-command.ts';
import { table } from './table.ts';
import { WHARF_VERSION } from '../version.ts';

/** Scopes a CLI-issued token gets unless told otherwise: what gh and release tools need. */
const DEFAULT_CLI_SCOPES = ['repo', 'read:org', 'workflow'];

interface GlobalOptions {
  init?: boolean;
}

function sqliteFile(config: WharfConfig): string | null {
  return config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl.slice('sqlite:'.length) : null;
}

const WHERE_FIX = 'set WHARF_DATA_DIR (or WHARF_DATABASE_URL) to what the server uses, or pass --init to create a new instance there';

async function withContext<T>(program: Command, fn: (ctx: AppContext) => Promise<T>): Promise<T> {
  const init = program.opts<GlobalOptions>().init === true;
  // The CLI may be the first to create the database: private to Wharf's user, as the server's files.
  process.umask(0o077);
  const config = loadConfig();
  const file = sqliteFile(config);
  if (file && !init && !existsSync(file)) {
    throw new ConfigError('WHARF_DATA_DIR', config.dataDir, `holds no Wharf instance (no database at ${file}); ${WHERE_FIX}`);
  }
  process.stderr.write(`wharf: ${describeStoreLine(config)}\n`);
  checkDirectories(config);
  // Loaded here, not at the top: --help and --version stay instant.
  const [{ openDatabase }, { migrateToLatest }, { createBlobStore }, { pino }, { PushListeners }] = await Promise.all([
    import('../db/dialect.ts'),
    import('../db/migrate.ts'),
    import('../blobs/create-blob-store.ts'),
    import('pino'),
    import('../services/push-events.ts'),
  ]);
  const handle = await openDatabase(config.databaseUrl).catch((err: unknown) => {
    throw databaseError(config, err);
  });
  try {
    if (!file && !init) {
      const tables = await handle.db.introspection.getTables();
      if (!tables.some((t) => t.name === 'accounts')) {
        throw new ConfigError('WHARF_DATABASE_URL', shown(SETTINGS.databaseUrl, config.databaseUrl), `holds no Wharf instance (no Wharf tables); ${WHERE_FIX}`);
      }
    }
    await migrateToLatest(handle).catch((err: unknown) => {
      throw databaseError(config, err);
    });
    const ctx: AppContext = {
      config,
      db: handle.db,
      blobs: await createBlobStore(config),
      log: pino({ level: 'warn' }, pino.destination(2)),
      pushListeners: new PushListeners(),
      ...newCaches(config),
    };
    return await fn(ctx);
  } finally {
    await handle.close();
  }
}

/** The audit log's actor for what this command does: the operating-system user running it. */
async function operator(): Promise<AuditActor> {
  const { cliActor } = await import('../services/audit.ts');
  return cliActor();
}

const LOGIN_RULE = 'use letters, digits and single hyphens, not at the start or end, at most 39 characters';

/** Looks a user up, or says who does not exist and how to see who does. */
async function userNamed(ctx: AppContext, login: string) {
  const { getUser } = await import('../services/accounts.ts');
  try {
    return await getUser(ctx, login);
  } catch (err) {
    if (err instanceof NotFoundError) throw new CliError(`there is no user ${login}; \`wharf user list\` shows the users`);
    throw err;
  }
}

/** Words for a service's ValidationError about an account `login`. */
function accountProblem(err: unknown, login: string, kind: string): unknown {
  if (!(err instanceof ValidationError)) return err;
  const first = err.errors[0];
  if (first?.code === 'already_exists') return new CliError(`a user or organization named ${login} already exists; choose another login`);
  if (first?.code === 'invalid' && first.field === 'login') return new CliError(`"${login}" is not a valid ${kind} login; ${LOGIN_RULE}`);
  if (first?.message) return new CliError(first.message);
  return err;
}

function parseScopes(value: string): string[] {
  const scopes = value.split(/[\s,]+/).filter(Boolean);
  const unknown = unknownScopes(scopes);
  if (unknown.length) throw new InvalidArgumentError(`unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; GitHub's scopes are ${GITHUB_SCOPES.join(', ')}`);
  return scopes;
}

/** `30d`, `12h`, an ISO date or date-time, or `never`. */
export function parseExpiry(value: string, now = Date.now()): string | null {
  if (value === 'never') return null;
  const relative = /^(\d+)([dh])$/.exec(value);
  const when = relative ? now + Number(relative[1]) * (relative[2] === 'd' ? 86_400_000 : 3_600_000) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(when)) throw new InvalidArgumentError('use a number of days or hours (30d, 12h), a date (2027-01-31) or never');
  if (when <= now) throw new InvalidArgumentError('that moment has passed; give a time in the future');
  return new Date(when).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A password piped in (`--password-stdin`): one line, its line break dropped, checked against the rules. */
async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  const { passwordProblems } = await import('../services/passwords.ts');
  const problems = passwordProblems(password);
  if (problems.length) throw new CliError(`the password on standard input is refused: ${problems.join('; ')}`);
  return password;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('use a whole number of at least 1');
  return n;
}

function tokenStatus(t: { revoked_at: string | null; expires_at: string | null }, now: number): string {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && Date.parse(t.expires_at) <= now) return 'expired';
  return 'active';
}

export function buildCli(): Command {
  const program = new Command('wharf')
    .description('Wharf release server administration (settings: the same WHARF_* variables as the server)')
    .version(WHARF_VERSION, '-V, --version', 'print the version')
    .option('--init', 'create a new, empty instance if none exists where the settings point')
    .exitOverride();
  const run = <T>(fn: (ctx: AppContext) => Promise<T>) => withContext(program, fn);

  const user = program.command('user').description('manage users');
  user
    .command('list')
    .description('list users with their role and state')
    .action(async () => {
      await run(async (ctx) => {
        const { listUsers } = await import('../services/user-admin.ts');
        const users = await listUsers(ctx);
        const rows = users.map((u) => [
          u.login,
          String(u.id),
          u.site_admin ? 'site admin' : 'user',
          u.suspended_at ? `suspended ${u.suspended_at}` : 'active',
          u.created_at,
          u.email ?? '',
        ]);
        process.stdout.write(table(['LOGIN', 'ID', 'ROLE', 'STATE', 'CREATED', 'EMAIL'], rows));
      });
    });
  user
    .command('create <login>')
    .description('create a user')
    .option('--email <email>', 'e-mail address (used to attribute commits)')
    .option('--name <name>', 'display name')
    .option('--admin', 'make the user a site administrator', false)
    .option('--password-stdin', 'read the password to sign in with from standard input (stored as an argon2id hash)', false)
    .action(async (login: string, opts: { email?: string; name?: string; admin: boolean; passwordStdin: boolean }) => {
      // Read and checked before anything is created: a refused password must not leave a user behind.
      const password = opts.passwordStdin ? await readPassword() : null;
      await run(async (ctx) => {
        const [{ createUser }, { setPassword }] = await Promise.all([import('../services/accounts.ts'), import('../services/passwords.ts')]);
        const actor = await operator();
        const account = await createUser(ctx, { login, email: opts.email ?? null, name: opts.name ?? null, siteAdmin: opts.admin }, actor).catch((err: unknown) => {
          throw accountProblem(err, login, 'user');
        });
        if (password !== null) await setPassword(ctx, { user: account, password, actor, via: 'cli', endSessions: 'none' });
        process.stdout.write(`created user ${account.login} (id ${account.id})${opts.admin ? ' as site administrator' : ''}${password !== null ? ' with a password' : ''}\n`);
      });
    });

  user
    .command('reset-link <login>')
    .description("print a one-time link that lets the user choose a password (voids the user's earlier links)")
    .action(async (login: string) => {
      await run(async (ctx) => {
        const { createResetLink, RESET_LINK_TTL_MS } = await import('../services/passwords.ts');
        const account = await userNamed(ctx, login);
        const link = await createResetLink(ctx, account, await operator());
        const hours = RESET_LINK_TTL_MS / 3_600_000;
        if (ctx.config.externalUrl) {
          process.stdout.write(`${ctx.config.externalUrl}${link.path}\n`);
        } else {
          process.stdout.write(`${link.path}\n`);
          process.stderr.write("wharf: WHARF_EXTERNAL_URL is not set, so this is the path only: open it on your Wharf's address\n");
        }
        process.stderr.write(`wharf: the link works once, for ${hours} hours (until ${link.expiresAt})\n`);
      });
    });
  user
    .command('promote <login>')
    .description('make an existing user a site administrator')
    .action(async (login: string) => {
      await run(async (ctx) => {
        const account = await userNamed(ctx, login);
        const { promoteUser } = await import('../services/accounts.ts');
        await promoteUser(ctx, account, await operator());
        process.stdout.write(`${account.login} is now a site administrator\n`);
      });
    });
  for (const [name, suspended] of [
    ['suspend', true],
    ['unsuspend', false],
  ] as const) {
    user
      .command(`${name} <login>`)
      .description(suspended ? 'stop a user from signing in or using their tokens (nothing is deleted)' : 'let a suspended user sign in again')
      .action(async (login: string) => {
        await run(async (ctx) => {
          await userNamed(ctx, login);
          const { setSuspended } = await import('../services/user-admin.ts');
          const account = await setSuspended(ctx, login, suspended, await operator());
          process.stdout.write(suspended ? `${account.login} is suspended: their tokens and sessions no longer work\n` : `${account.login} is active again\n`);
        });
      });
  }
  user
    .command('delete <login>')
    .description('delete a user with their own repositories (releases, assets, git data), tokens and sessions')
    .option('--yes', 'really delete (without it, only say what would be deleted)', false)
    .action(async (login: string, opts: { yes: boolean }) => {
      await run(async (ctx) => {
        await userNamed(ctx, login);
        const { planUserDeletion, deleteUser } = await import('../services/user-admin.ts');
        const plan = await planUserDeletion(ctx, login);
        const repos = plan.repositories.length
          ? `their ${plan.repositories.length} repositor${plan.repositories.length === 1 ? 'y' : 'ies'} (${plan.repositories.map((r) => r.name).join(', ')}) with all releases, assets and git data`
          : 'no repositories (they own none)';
        if (plan.releasesElsewhere > 0) {
          throw new CliError(
            `${plan.user.login} published ${plan.releasesElsewhere} release(s) in other accounts' repositories, which would lose their author; suspend the user instead (wharf user suspend ${plan.user.login})`,
          );
        }
        if (!opts.yes) {
          process.stdout.write(`would delete ${plan.user.login}, their tokens, sessions and memberships, and ${repos}; run again with --yes to do it\n`);
          return;
        }
        await deleteUser(ctx, plan, await operator());
        process.stdout.write(`deleted ${plan.user.login}, their tokens, sessions and memberships, and ${repos}\n`);
      });
    });

  const token = program.command('token').description('manage access tokens');
  token
    .command('create <login>')
    .description('issue a token for a user and print it (it is shown only once)')
    .option('--scopes <list>', 'comma- or space-separated GitHub scopes', parseScopes, DEFAULT_CLI_SCOPES)
    .option('--note <note>', 'what the token is for')
    .option('--expires <when>', 'when the token stops working: 30d, 12h, 2027-01-31 or never (the default)', (v) => parseExpiry(v))
    .option('--expires-in-days <days>', 'the same as --expires <days>d', positiveInt)
    .action(async (login: string, opts: { scopes: string[]; note?: string; expires?: string | null; expiresInDays?: number }) => {
      await run(async (ctx) => {
        const account = await userNamed(ctx, login);
        const { issueToken } = await import('../services/tokens.ts');
        const expiresAt = opts.expiresInDays ? parseExpiry(`${opts.expiresInDays}d`) : (opts.expires ?? null);
        const issued = await issueToken(ctx.db, account, opts.scopes, { note: opts.note ?? null, expiresAt, actor: await operator() });
        process.stdout.write(`${issued.token}\n`);
        process.stderr.write(
          `wharf: token …${issued.row.token_last_eight} for ${account.login}, scopes ${opts.scopes.join(' ') || '(none)'}, ${expiresAt ? `expires ${expiresAt}` : 'does not expire'}\n`,
        );
      });
    });
  token
    .command('list <login>')
    .description("list a user's tokens (last eight characters only) with creation, expiry and last use")
    .action(async (login: string) => {
      await run(async (ctx) => {
        const account = await userNamed(ctx, login);
        const { listTokensForUser } = await import('../db/repos/tokens-repo.ts');
        const now = Date.now();
        const rows = (await listTokensForUser(ctx.db, account.id)).map((t) => [
          `…${t.token_last_eight}`,
          tokenStatus(t, now),
          t.created_at,
          t.expires_at ?? 'never',
          t.last_used_at ?? 'never',
          t.scopes || '(none)',
          t.note ?? '',
        ]);
        process.stdout.write(table(['TOKEN', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED', 'SCOPES', 'NOTE'], rows));
      });
    });
  token
    .command('revoke <login>')
    .description('revoke a token of a user, named by its last eight characters')
    .requiredOption('--last-eight <chars>', 'the last eight characters of the token (see wharf token list)')
    .action(async (login: string, opts: { lastEight: string }) => {
      await run(async (ctx) => {
        const account = await userNamed(ctx, login);
        const [{ listTokensForUser }, { revokeTokenBy }] = await Promise.all([import('../db/repos/tokens-repo.ts'), import('../services/tokens.ts')]);
        const lastEight = opts.lastEight.replace(/^…/, '');
        const match = (await listTokensForUser(ctx.db, account.id)).filter((t) => t.token_last_eight === lastEight && !t.revoked_at);
        if (match.length === 0) throw new CliError(`${account.login} has no active token ending in ${lastEight}; \`wharf token list ${account.login}\` shows their tokens`);
        if (match.length > 1) throw new CliError(`${match.length} active tokens of ${account.login} end in ${lastEight}; revoke them through the API by id`);
        await revokeTokenBy(ctx.db, match[0]!, account, await operator());
        process.stdout.write(`revoked token …${lastEight} of ${account.login}\n`);
      });
    });

  program
    .command('org')
    .description('manage organizations')
    .command('create <login>')
    .requiredOption('--owner <user>', 'the user who administers the organization')
    .option('--name <name>', 'display name')
    .action(async (login: string, opts: { owner: string; name?: string }) => {
      await run(async (ctx) => {
        await userNamed(ctx, opts.owner);
        const { createOrganization } = await import('../services/accounts.ts');
        const org = await createOrganization(ctx, login, opts.owner, opts.name ?? null, await operator()).catch((err: unknown) => {
          throw accountProblem(err, login, 'organization');
        });
        process.stdout.write(`created organization ${org.login} (id ${org.id}), administered by ${opts.owner}\n`);
      });
    });

  registerAuditCommand(program, run);
  registerBackupCommands(program, run);
  registerBundleCommands(program, run);
  registerKeysCommands(program, run);
  registerMirrorCommands(program, run);
  registerVerifyCommand(program, run);

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
    if (err instanceof CommanderError) {
      // Commander has printed help, the version or the usage error itself.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`wharf: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof CliError) {
      process.stderr.write(`wharf: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`wharf: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
