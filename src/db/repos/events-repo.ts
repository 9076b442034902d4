/**
 * @module db/repos/events-repo
 * The outbox's statements made with every change (events/outbox.ts): the events and their queue
 * rows inserted in the change's transaction, and a handled group's queue rows deleted in the
 * consumer's. Compiled once per number of rows (`db/compiled-once.ts`).
 */
import type { Insertable, Kysely } from 'kysely';
import type { Database, EventQueueTable, EventsTable } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

const insertEvents = compiledOnce('wharf_insert_events', (trx, rows: Array<Insertable<EventsTable>>) => trx.insertInto('events').values(rows).returning('id'));
const insertQueue = compiledOnce('wharf_insert_event_queue', (trx, rows: Array<Insertable<EventQueueTable>>) => trx.insertInto('event_queue').values(rows));
const deleteQueue = compiledOnce('wharf_delete_event_queue', (trx, consumer: string, eventIds: number[], holder: string) =>
  trx.deleteFrom('event_queue').where('consumer', '=', consumer).where('event_id', 'in', eventIds).where('lease_holder', '=', holder),
);

/** Inserts events; their ids in the order of `rows`. */
export async function insertEventRows(trx: Kysely<Database>, rows: Array<Insertable<EventsTable>>): Promise<number[]> {
  return (await insertEvents(trx, rows)).rows.map((r) => r.id);
}

export async function insertEventQueueRows(trx: Kysely<Database>, rows: Array<Insertable<EventQueueTable>>): Promise<void> {
  await insertQueue(trx, rows);
}

/** Deletes `consumer`'s queue rows of `eventIds` leased by `holder`; how many went. */
export async function deleteEventQueueRows(trx: Kysely<Database>, consumer: string, eventIds: number[], holder: string): Promise<number> {
  return Number((await deleteQueue(trx, consumer, eventIds, holder)).numAffectedRows ?? 0);
}
