/**
 * @module services/audit
 * The audit log: who did what security-relevant thing, from where, to whom. Every entry is
 * written in the transaction of the change it records (see docs/audit-log.md), so an action
 * that rolls back leaves no entry and one that commits always has one. Entries keep names as
 * they were (a deleted user's login stays readable) and are deleted after the retention period
 * by a sweeper holding a lease, so one node sweeps at a time.
 *
 * Action names are GitHub's where GitHub has the action (`user.login`, `repo.access`,
 * `oauth_access.create`, `repo.add_member`…); Wharf's own are documented beside them.
 */
import { userInfo } from 'node:os';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import { countAuditRows, insertAuditRows, listAuditRows, purgeAuditRows, rememberTokenAddress, type AuditFilter, type NewAuditRow } from '../db/repos/audit-repo.ts';
import type { Account, AuditLogRow, Database, Repository } from '../db/schema.ts';
import { ValidationError } from '../domain/errors.ts';
import type { Page } from '../domain/page.ts';
import { runWithLease } from './leases.ts';
import type { Principal } from './tokens.ts';

/** Who acted: a user (with the address of the request), Wharf itself, or the `wharf` command. */
export interface AuditActor {
  id: number | null;
  login: string;
  ip: string | null;
}

/** Actions Wharf takes by itself (the bootstrap administrator). */
export const SYSTEM_ACTOR: AuditActor = { id: null, login: 'wharf', ip: null };

/** The `wharf` command run by an operator on the machine: named after the operating-system user. */
export function cliActor(): AuditActor {
  let name: string;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (a container's arbitrary user): the uid still says something.
    name = `uid ${process.getuid?.() ?? '?'}`;
  }
  return { id: null, login: `cli:${name}`, ip: null };
}

export function actorOf(principal: Principal): AuditActor {
  return { id: principal.user.id, login: principal.user.login, ip: principal.address ?? null };
}

/** The actor of a request that may be anonymous (then Wharf's own name stands in). */
export function actorOrSystem(principal: Principal | null): AuditActor {
  return principal ? actorOf(principal) : SYSTEM_ACTOR;
}

/** A repository as the log names it (under its organization when an organization owns it). */
export function auditRepo(owner: Pick<Account, 'id' | 'login' | 'type'>, repo: Pick<Repository, 'id' | 'name'>): AuditRepository {
  return { id: repo.id, fullName: `${owner.login}/${repo.name}`, org: owner.type === 'Organization' ? owner : null };
}

/** A repository as the log names it. */
export interface AuditRepository {
  id: number;
  /** `owner/name` */
  fullName: string;
  /** The owner, when it is an organization (the entry then belongs to its log too). */
  org?: Pick<Account, 'id' | 'login'> | null;
}

export interface AuditEntry {
  action: string;
  actor: AuditActor;
  /** The user the action concerns. */
  user?: Pick<Account, 'id' | 'login'> | null;
  org?: Pick<Account, 'id' | 'login'> | null;
  repo?: AuditRepository | null;
  data?: Record<string, unknown>;
}

function toRow(entry: AuditEntry, nowMs: number): NewAuditRow {
  const org = entry.org ?? entry.repo?.org ?? null;
  return {
    action: entry.action,
    actor_id: entry.actor.id,
    actor: entry.actor.login,
    actor_ip: entry.actor.ip,
    user_id: entry.user?.id ?? null,
    user_login: entry.user?.login ?? null,
    org_id: org?.id ?? null,
    org: org?.login ?? null,
    repository_id: entry.repo?.id ?? null,
    repo: entry.repo?.fullName ?? null,
    data: JSON.stringify(entry.data ?? {}),
    created_ms: nowMs,
  };
}

/** Writes entries with `db`: pass the transaction of the change they record. */
export async function recordAudit(db: Kysely<Database>, ...entries: AuditEntry[]): Promise<void> {
  const now = Date.now();
  await insertAuditRows(
    db,
    entries.map((entry) => toRow(entry, now)),
  );
}

/**
 * A token used from an address it was never used from (`oauth_access.use_from_new_address`, a
 * Wharf action). Costs nothing while the address stays the one of the token's previous new
 * address: `last_used_ip` is read with the token on every request anyway.
 */
export function noteTokenAddress(db: Kysely<Database>, principal: Principal, address: string): void | Promise<void> {
  // Nothing to note (the usual case): nothing to wait for.
  if (principal.token.last_used_ip === address) return;
  return noteNewTokenAddress(db, principal, address);
}

async function noteNewTokenAddress(db: Kysely<Database>, principal: Principal, address: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const isNew = await rememberTokenAddress(trx, principal.token.id, address, Date.now());
    if (isNew) {
      await recordAudit(trx, {
        action: 'oauth_access.use_from_new_address',
        actor: { id: principal.user.id, login: principal.user.login, ip: address },
        user: principal.user,
        data: { token_id: principal.token.id, token_last_eight: principal.token.token_last_eight },
      });
    }
  });
  principal.token.last_used_ip = address;
}

/**
 * The search phrase of GitHub's audit-log API, in the qualifiers Wharf keeps: `action:repo.create`
 * (or `action:repo` for all of a category), `actor:`, `user:`, `org:`, `repo:owner/name` and
 * `created:>=2026-01-01` / `created:<2026-02-01`. Anything else is a 422 naming it.
 */
export function parsePhrase(phrase: string | undefined): AuditFilter {
  const filter: AuditFilter = {};
  for (const term of (phrase ?? '').split(/\s+/).filter(Boolean)) {
    const colon = term.indexOf(':');
    const key = colon > 0 ? term.slice(0, colon) : '';
    const value = term.slice(colon + 1);
    if (value === '') throw phraseError(term);
    if (key === 'action') {
      if (value.includes('.')) filter.action = value;
      else filter.actionPrefix = value;
    } else if (key === 'actor') filter.actor = value;
    else if (key === 'user') filter.userLogin = value;
    else if (key === 'org') filter.org = value;
    else if (key === 'repo') filter.repo = value;
    else if (key === 'created') {
      const match = /^(>=|>|<=|<)?(\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z?)?)$/.exec(value);
      const ms = match ? Date.parse(match[2]!) : Number.NaN;
      if (!match || !Number.isFinite(ms)) throw phraseError(term);
      const op = match[1] ?? '>=';
      if (op === '>=' || op === '>') filter.sinceMs = op === '>' ? ms + 1 : ms;
      else filter.untilMs = op === '<=' ? ms + 1 : ms;
    } else throw phraseError(term);
  }
  return filter;
}

function phraseError(term: string): ValidationError {
  return new ValidationError([
    { resource: 'AuditLog', field: 'phrase', code: 'invalid', message: `cannot search by ${JSON.stringify(term)}; use action:, actor:, user:, org:, repo: or created:` },
  ]);
}

export interface AuditQuery {
  filter: AuditFilter;
  order: 'asc' | 'desc';
  page: Page;
}

export async function listAuditLog(ctx: Pick<AppContext, 'db'>, query: AuditQuery): Promise<{ entries: AuditLogRow[]; total: number }> {
  const [entries, total] = await Promise.all([listAuditRows(ctx.db, query.filter, query.order, query.page.offset, query.page.perPage), countAuditRows(ctx.db, query.filter)]);
  return { entries, total };
}

/** Deleted per statement, so a long-neglected log is swept in short transactions. */
const SWEEP_BATCH = 1000;

/**
 * Deletes entries older than the retention period, if this node gets the lease (`ttlMs`, also
 * the shortest interval between sweeps on any node). Returns how many went, or null when
 * another node holds the lease.
 */
export async function sweepAuditLog(ctx: Pick<AppContext, 'db' | 'config'>, ttlMs: number, nowMs = Date.now()): Promise<number | null> {
  const cutoff = nowMs - ctx.config.auditRetentionDays * 24 * 3600 * 1000;
  const outcome = await runWithLease(ctx, 'audit-log-sweep', ttlMs, async () => {
    let removed = 0;
    for (;;) {
      const n = await purgeAuditRows(ctx.db, cutoff, SWEEP_BATCH);
      removed += n;
      if (n < SWEEP_BATCH) return removed;
    }
  });
  return outcome.ran ? outcome.result : null;
}
