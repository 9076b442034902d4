/**
 * @module cli/audit-command
 * `wharf audit`: the audit log from the command line, newest first, filtered as the API's
 * `phrase` filters it. `--json` prints one entry per line in the API's shape, for scripts.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../context.ts';
import { table } from './table.ts';

interface AuditOptions {
  action?: string;
  actor?: string;
  user?: string;
  repo?: string;
  since?: number;
  limit: number;
  json: boolean;
}

/** `7d`, `12h` or a date: the moment entries are shown from. */
export function parseSince(value: string, now = Date.now()): number {
  const relative = /^(\d+)([dh])$/.exec(value);
  const when = relative ? now - Number(relative[1]) * (relative[2] === 'd' ? 86_400_000 : 3_600_000) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(when)) throw new InvalidArgumentError('use a number of days or hours (7d, 12h) or a date (2026-12-01)');
  return when;
}

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('use a whole number from 1 to 10000');
  return n;
}

export function registerAuditCommand(program: Command, run: <T>(fn: (ctx: AppContext) => Promise<T>) => Promise<T>): void {
  program
    .command('audit')
    .description('show the audit log (sign-ins, tokens, users, organizations, collaborators, visibility, releases), newest first')
    .option('--action <action>', 'an action (repo.access) or a category (repo)')
    .option('--actor <login>', 'who acted (cli:NAME for this command, wharf for Wharf itself)')
    .option('--user <login>', 'the user acted upon')
    .option('--repo <owner/name>', 'the repository')
    .option('--since <when>', 'only entries from then on: 7d, 12h or a date', (v) => parseSince(v))
    .option('--limit <n>', 'at most this many entries', limit, 50)
    .option('--json', 'one JSON entry per line, in the API shape', false)
    .action(async (opts: AuditOptions) => {
      await run(async (ctx) => {
        const [{ listAuditLog }, { auditLogEvent }] = await Promise.all([import('../services/audit.ts'), import('../http/serializers/audit-log.ts')]);
        const action = opts.action === undefined ? {} : opts.action.includes('.') ? { action: opts.action } : { actionPrefix: opts.action };
        const filter = { ...action, actor: opts.actor, userLogin: opts.user, repo: opts.repo, sinceMs: opts.since };
        const { entries, total } = await listAuditLog(ctx, { filter, order: 'desc', page: { page: 1, perPage: opts.limit, offset: 0 } });
        if (opts.json) {
          for (const entry of entries) process.stdout.write(`${JSON.stringify(auditLogEvent(entry))}\n`);
          return;
        }
        const rows = entries.map((e) => [
          new Date(Number(e.created_ms)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          e.action,
          e.actor,
          e.actor_ip ?? '',
          [e.user_login && `user ${e.user_login}`, e.repo && `repo ${e.repo}`, !e.repo && e.org && `org ${e.org}`].filter(Boolean).join(', '),
          e.data === '{}' ? '' : e.data,
        ]);
        process.stdout.write(table(['TIME', 'ACTION', 'ACTOR', 'ADDRESS', 'ABOUT', 'DATA'], rows));
        if (total > entries.length) process.stderr.write(`wharf: ${entries.length} of ${total} entries shown; narrow with --since, --action or raise --limit\n`);
      });
    });
}
