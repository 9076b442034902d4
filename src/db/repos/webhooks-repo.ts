/**
 * @module db/repos/webhooks-repo
 * SQL for webhooks, their deliveries (`webhook_jobs`: one per payload and hook, retried until it
 * succeeds or is given up) and the attempts made. Jobs are taken with a lease by a conditional
 * update, so two nodes cannot send one delivery at the same time.
 */
import type { ExpressionBuilder, Insertable, Kysely, Updateable } from 'kysely';
import type { Database, Webhook, WebhookAttempt, WebhookJob, WebhookScope, WebhooksTable } from '../schema.ts';
import { takesRowLocks } from '../row-locks.ts';

/** Where a hook hangs: a repository, an organization, or the whole instance. */
export interface HookOwner {
  scope: WebhookScope;
  /** The repository's id (repository hooks) or the organization's (organization hooks); null for global hooks. */
  id: number | null;
}

function ownedBy(eb: ExpressionBuilder<Database, 'webhooks'>, owner: HookOwner) {
  if (owner.scope === 'repository') return eb.and([eb('scope', '=', 'repository'), eb('repository_id', '=', owner.id)]);
  if (owner.scope === 'organization') return eb.and([eb('scope', '=', 'organization'), eb('account_id', '=', owner.id)]);
  return eb('scope', '=', 'global');
}

export async function insertWebhook(db: Kysely<Database>, row: Insertable<WebhooksTable>): Promise<Webhook> {
  return db.insertInto('webhooks').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findWebhook(db: Kysely<Database>, owner: HookOwner, id: number): Promise<Webhook | undefined> {
  return db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', id)
    .where((eb) => ownedBy(eb, owner))
    .executeTakeFirst();
}

export async function listWebhooks(db: Kysely<Database>, owner: HookOwner, limit: number, offset: number): Promise<{ rows: Webhook[]; total: number }> {
  const base = db.selectFrom('webhooks').where((eb) => ownedBy(eb, owner));
  const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows = await base.selectAll().orderBy('id').limit(limit).offset(offset).execute();
  return { rows, total: Number(total?.n ?? 0) };
}

export async function updateWebhook(db: Kysely<Database>, id: number, set: Updateable<WebhooksTable>): Promise<Webhook | undefined> {
  return db.updateTable('webhooks').set(set).where('id', '=', id).returningAll().executeTakeFirst();
}

/**
 * Locks the hook's row until the end of `trx` (`FOR NO KEY UPDATE` on PostgreSQL; nothing to take
 * on SQLite, see `db/row-locks.ts`): an attempt's record locks its hook before its delivery and
 * the attempt row (whose foreign keys share-lock the hook), as the hook's deletion does, cascading.
 */
export async function lockWebhookRow(trx: Kysely<Database>, id: number): Promise<void> {
  if (!takesRowLocks(trx)) return;
  await trx.selectFrom('webhooks').select('id').where('id', '=', id).forNoKeyUpdate().execute();
}

export async function deleteWebhook(db: Kysely<Database>, id: number): Promise<boolean> {
  const res = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Active hooks that may receive an event of a repository: its own, its organization's, and global ones. */
export async function findHooksFor(db: Kysely<Database>, repositoryId: number | null, ownerId: number | null): Promise<Webhook[]> {
  return db
    .selectFrom('webhooks')
    .selectAll()
    .where('active', '=', 1)
    .where((eb) =>
      eb.or([
        eb.and([eb('scope', '=', 'repository'), eb('repository_id', '=', repositoryId)]),
        eb.and([eb('scope', '=', 'organization'), eb('account_id', '=', ownerId)]),
        eb('scope', '=', 'global'),
      ]),
    )
    .orderBy('id')
    .execute();
}

/** A delivery to queue: what it sends and to which hook; its state starts as due now. */
export type NewJob = Pick<WebhookJob, 'hook_id' | 'guid' | 'event' | 'action' | 'repository_id' | 'payload' | 'redelivery'>;

export async function insertJobs(db: Kysely<Database>, jobs: NewJob[], now: number): Promise<void> {
  if (jobs.length === 0) return;
  await db
    .insertInto('webhook_jobs')
    .values(jobs.map((j) => ({ ...j, state: 'pending' as const, attempts: 0, next_attempt_at: now, lease_holder: null, created_ms: now })))
    .execute();
}

/**
 * Takes up to `limit` due deliveries for `holder`. A delivery's first attempt waits for the first
 * attempts of the same hook's earlier deliveries, and a hook with a delivery in flight gets no
 * other one: a healthy receiver sees deliveries in the order the events happened.
 */
export async function claimJobs(db: Kysely<Database>, holder: string, now: number, leaseUntil: number, limit: number): Promise<WebhookJob[]> {
  const candidates = await db
    .selectFrom('webhook_jobs as j')
    .innerJoin('webhooks as h', 'h.id', 'j.hook_id')
    .select('j.id')
    .where('j.state', '=', 'pending')
    .where('j.next_attempt_at', '<=', now)
    .where('j.lease_until', '<=', now)
    .where('h.active', '=', 1)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('webhook_jobs as e')
            .select('e.id')
            .whereRef('e.hook_id', '=', 'j.hook_id')
            .where('e.state', '=', 'pending')
            .where((ib) => ib.or([ib.and([ib('e.attempts', '=', 0), ib('e.id', '<', ib.ref('j.id'))]), ib('e.lease_until', '>', now)])),
        ),
      ),
    )
    .orderBy('j.next_attempt_at')
    .orderBy('j.id')
    .limit(limit)
    .execute();
  if (candidates.length === 0) return [];
  return db
    .updateTable('webhook_jobs')
    .set({ lease_holder: holder, lease_until: leaseUntil })
    .where(
      'id',
      'in',
      candidates.map((c) => c.id),
    )
    .where('state', '=', 'pending')
    .where('lease_until', '<=', now)
    .returningAll()
    .execute();
}

export interface AttemptRecord {
  job: WebhookJob;
  deliveredAt: string;
  nowMs: number;
  durationSeconds: number;
  status: string;
  statusCode: number;
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
}

export async function insertAttempt(db: Kysely<Database>, a: AttemptRecord): Promise<WebhookAttempt> {
  return db
    .insertInto('webhook_attempts')
    .values({
      job_id: a.job.id,
      hook_id: a.job.hook_id,
      guid: a.job.guid,
      event: a.job.event,
      action: a.job.action,
      repository_id: a.job.repository_id,
      // The first attempt of an original delivery is not a redelivery; every later one is.
      redelivery: a.job.redelivery === 1 || a.job.attempts > 0 ? 1 : 0,
      delivered_at: a.deliveredAt,
      created_ms: a.nowMs,
      duration: a.durationSeconds,
      status: a.status,
      status_code: a.statusCode,
      url: a.url,
      request_headers: JSON.stringify(a.requestHeaders),
      request_body: a.requestBody,
      response_headers: a.responseHeaders ? JSON.stringify(a.responseHeaders) : null,
      response_body: a.responseBody,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Settles a job after an attempt, if `holder` still holds it; false when another node took it over. */
export async function settleJob(db: Kysely<Database>, jobId: number, holder: string, set: Pick<WebhookJob, 'state' | 'attempts' | 'next_attempt_at'>): Promise<boolean> {
  const res = await db
    .updateTable('webhook_jobs')
    .set({ ...set, lease_holder: null, lease_until: 0 })
    .where('id', '=', jobId)
    .where('lease_holder', '=', holder)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Attempts of a hook, newest first, older than `beforeId` when given. */
export async function listAttempts(db: Kysely<Database>, hookId: number, beforeId: number | null, limit: number, status: 'success' | 'failure' | null): Promise<WebhookAttempt[]> {
  let q = db.selectFrom('webhook_attempts').selectAll().where('hook_id', '=', hookId);
  if (beforeId !== null) q = q.where('id', '<', beforeId);
  if (status === 'success') q = q.where('status_code', '>=', 200).where('status_code', '<', 300);
  if (status === 'failure') q = q.where((eb) => eb.or([eb('status_code', '<', 200), eb('status_code', '>=', 300)]));
  return q.orderBy('id', 'desc').limit(limit).execute();
}

export async function findAttempt(db: Kysely<Database>, hookId: number, id: number): Promise<WebhookAttempt | undefined> {
  return db.selectFrom('webhook_attempts').selectAll().where('hook_id', '=', hookId).where('id', '=', id).executeTakeFirst();
}

export async function findJob(db: Kysely<Database>, id: number): Promise<WebhookJob | undefined> {
  return db.selectFrom('webhook_jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Removes finished deliveries and attempts older than `beforeMs`. */
export async function purgeDeliveries(db: Kysely<Database>, beforeMs: number): Promise<void> {
  await db.deleteFrom('webhook_attempts').where('created_ms', '<', beforeMs).execute();
  await db.deleteFrom('webhook_jobs').where('state', '!=', 'pending').where('created_ms', '<', beforeMs).execute();
}
