/**
 * @module db/repos/audit-repo
 * SQL of the audit log and of the addresses tokens were used from.
 */
import { sql, type Kysely } from 'kysely';
import type { AccountType, AuditLogRow, AuditLogTable, Database } from '../schema.ts';

import { compiledOnce, firstRowOrThrow } from '../compiled-once.ts';

export type NewAuditRow = Omit<AuditLogTable, 'id'>;

// Read for every audited event (a release published, deleted…): compiled once.
const auditSubjects = compiledOnce('wharf_audit_subjects', (db, repositoryId: number, actorId: number | null) =>
  db
    .selectFrom(sql<{ one: number }>`(select 1 as one)`.as('base'))
    .leftJoin('repositories', (join) => join.on('repositories.id', '=', repositoryId))
    .leftJoin('accounts as owner', 'owner.id', 'repositories.owner_id')
    // `= null` matches nothing: no actor for an action of the system.
    .leftJoin('accounts as actor', (join) => join.on('actor.id', '=', actorId))
    .select([
      'repositories.id as repoId',
      'repositories.name as repoName',
      'owner.id as ownerId',
      'owner.login as ownerLogin',
      'owner.type as ownerType',
      'actor.id as actorId',
      'actor.login as actorLogin',
    ]),
);
// Made in the transaction of most writes: compiled once per number of rows and shape (`db/compiled-once.ts`).
const insertAudit = compiledOnce('wharf_insert_audit', (db, rows: NewAuditRow[]) => db.insertInto('audit_log').values(rows));

export async function insertAuditRows(db: Kysely<Database>, rows: NewAuditRow[]): Promise<void> {
  if (rows.length > 0) await insertAudit(db, rows);
}

/** Equality filters on the log's columns; `actionPrefix` matches `repo` to `repo.*`. */
export interface AuditFilter {
  action?: string;
  actionPrefix?: string;
  actor?: string;
  userLogin?: string;
  org?: string;
  orgId?: number;
  repo?: string;
  sinceMs?: number;
  untilMs?: number;
}

function filtered(db: Kysely<Database>, filter: AuditFilter) {
  let query = db.selectFrom('audit_log');
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.actionPrefix !== undefined) {
    // substr on both dialects: no LIKE escaping rules, no dependence on PostgreSQL's collation.
    const prefix = `${filter.actionPrefix}.`;
    query = query.where(sql<string>`substr(action, 1, ${sql.lit(prefix.length)})`, '=', prefix);
  }
  if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
  if (filter.userLogin !== undefined) query = query.where('user_login', '=', filter.userLogin);
  if (filter.org !== undefined) query = query.where('org', '=', filter.org);
  if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
  if (filter.repo !== undefined) query = query.where('repo', '=', filter.repo);
  if (filter.sinceMs !== undefined) query = query.where('created_ms', '>=', filter.sinceMs);
  if (filter.untilMs !== undefined) query = query.where('created_ms', '<', filter.untilMs);
  return query;
}

export async function listAuditRows(db: Kysely<Database>, filter: AuditFilter, order: 'asc' | 'desc', offset: number, limit: number): Promise<AuditLogRow[]> {
  return filtered(db, filter).selectAll().orderBy('id', order).offset(offset).limit(limit).execute();
}

export async function countAuditRows(db: Kysely<Database>, filter: AuditFilter): Promise<number> {
  const row = await filtered(db, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Deletes up to `limit` entries older than `beforeMs`; returns how many went. */
export async function purgeAuditRows(db: Kysely<Database>, beforeMs: number, limit: number): Promise<number> {
  const res = await db
    .deleteFrom('audit_log')
    .where('id', 'in', (eb) => eb.selectFrom('audit_log').select('id').where('created_ms', '<', beforeMs).orderBy('id').limit(limit))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Records that a token was used from `address`; true when it had never been used from there. */
export async function rememberTokenAddress(db: Kysely<Database>, tokenId: number, address: string, nowMs: number): Promise<boolean> {
  // The token's row first, then its child: inserted first, the address's foreign key would
  // share-lock the token before this update (docs/architecture.md, lock order).
  await db.updateTable('tokens').set({ last_used_ip: address }).where('id', '=', tokenId).execute();
  const res = await db
    .insertInto('token_addresses')
    .values({ token_id: tokenId, address, first_seen_ms: nowMs })
    .onConflict((oc) => oc.columns(['token_id', 'address']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Who and what an entry about a repository's change names, as they are now. */
export interface AuditSubjects {
  actor: { id: number; login: string } | undefined;
  repo: { id: number; name: string; ownerId: number; ownerLogin: string; ownerType: AccountType } | undefined;
}

/**
 * The actor (by id, none for null) and the repository with its owner, in one statement; either is
 * undefined when its row is gone. The one-row base keeps each side even when the other is missing.
 */
export async function findAuditSubjects(db: Kysely<Database>, repositoryId: number, actorId: number | null): Promise<AuditSubjects> {
  const row = firstRowOrThrow(await auditSubjects(db, repositoryId, actorId));
  return {
    actor: row.actorId !== null && row.actorLogin !== null ? { id: row.actorId, login: row.actorLogin } : undefined,
    repo:
      row.repoId !== null && row.repoName !== null && row.ownerId !== null && row.ownerLogin !== null && row.ownerType !== null
        ? { id: row.repoId, name: row.repoName, ownerId: row.ownerId, ownerLogin: row.ownerLogin, ownerType: row.ownerType }
        : undefined,
  };
}
