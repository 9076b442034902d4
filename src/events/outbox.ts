/**
 * @module events/outbox
 * The transactional outbox. `recordEvents` is called with the transaction that makes a change: it
 * writes the events and, for every consumer in `EVENT_CONSUMERS`, a queue row saying that consumer
 * still has to handle them. Consumers (events/consumer.ts) take queue rows with a lease and delete
 * them in the transaction that records what they did, so an event is handled at least once and
 * never by two nodes at the same time.
 *
 * Adding a subscriber (mirrors, feeds, an audit log) is a name in `EVENT_CONSUMERS` and a handler;
 * the services that record events do not change. Per-consumer rows (rather than one cursor per
 * consumer over event ids) are what make this safe on PostgreSQL, where ids are handed out in
 * insert order but become visible in commit order: a cursor could step over an event whose
 * transaction commits late.
 */
import type { Kysely } from 'kysely';
import type { Database, StoredEvent } from '../db/schema.ts';
import { isoSeconds } from '../util/time.ts';
import { deleteEventQueueRows, insertEventQueueRows, insertEventRows } from '../db/repos/events-repo.ts';
import { auditEvents } from './audit-of-events.ts';
import { eventType, type DomainEvent } from './domain-events.ts';

/** Everyone who handles events. A consumer added here receives every event recorded from then on. */
export const EVENT_CONSUMERS = ['webhooks'] as const;
export type EventConsumerName = (typeof EVENT_CONSUMERS)[number];

/** Writes `events` in `trx` (the transaction of the change they describe). */
export async function recordEvents(trx: Kysely<Database>, events: DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  await auditEvents(trx, events);
  const now = Date.now();
  const createdAt = isoSeconds();
  // Two statements for any number of events: rows get their ids in the order of the list (the
  // order consumers handle them in), and every id gets a queue row per consumer.
  const ids = await insertEventRows(
    trx,
    events.map((event) => ({
      type: eventType(event),
      repository_id: event.repositoryId,
      owner_id: event.ownerId,
      actor_id: event.actorId,
      data: JSON.stringify(event),
      created_at: createdAt,
      created_ms: now,
    })),
  );
  await insertEventQueueRows(
    trx,
    ids.flatMap((id) => EVENT_CONSUMERS.map((consumer) => ({ consumer, event_id: id, lease_holder: null }))),
  );
}

export interface QueuedEvent {
  row: StoredEvent;
  event: DomainEvent;
}

/**
 * Takes up to `limit` unhandled events of `consumer` (oldest first) for `holder` until
 * `leaseUntil`. A row whose lease another holder still has is skipped; the update re-checks the
 * lease, so two nodes asking at once cannot both take a row.
 */
export async function claimEvents(db: Kysely<Database>, consumer: string, holder: string, now: number, leaseUntil: number, limit: number): Promise<QueuedEvent[]> {
  const candidates = await db
    .selectFrom('event_queue')
    .select('event_id')
    .where('consumer', '=', consumer)
    .where((eb) => eb.or([eb('lease_until', '<=', now), eb('lease_holder', '=', holder)]))
    .orderBy('event_id')
    .limit(limit)
    .execute();
  if (candidates.length === 0) return [];
  const ids = candidates.map((c) => c.event_id);
  const claimed = await db
    .updateTable('event_queue')
    .set({ lease_holder: holder, lease_until: leaseUntil })
    .where('consumer', '=', consumer)
    .where('event_id', 'in', ids)
    .where((eb) => eb.or([eb('lease_until', '<=', now), eb('lease_holder', '=', holder)]))
    .returning('event_id')
    .execute();
  if (claimed.length === 0) return [];
  const rows = await db
    .selectFrom('events')
    .selectAll()
    .where(
      'id',
      'in',
      claimed.map((c) => c.event_id),
    )
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ row, event: JSON.parse(row.data) as DomainEvent }));
}

/**
 * Marks events handled by `consumer`, inside the transaction that did the handling: one statement
 * for the whole group. False when the lease of any of them was lost (another node took it over):
 * the caller must then roll back, so none of them counts as handled here.
 */
export async function completeEvents(trx: Kysely<Database>, consumer: string, eventIds: readonly number[], holder: string): Promise<boolean> {
  if (eventIds.length === 0) return true;
  return (await deleteEventQueueRows(trx, consumer, [...eventIds], holder)) === new Set(eventIds).size;
}

/** Deletes events older than `beforeMs` that every consumer has handled. */
export async function purgeEvents(db: Kysely<Database>, beforeMs: number): Promise<number> {
  const res = await db
    .deleteFrom('events')
    .where('created_ms', '<', beforeMs)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('event_queue').select('event_id').whereRef('event_queue.event_id', '=', 'events.id'))))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
