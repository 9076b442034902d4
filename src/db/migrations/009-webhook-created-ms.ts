/**
 * When a webhook was created, to the millisecond: a hook receives the events recorded after it
 * was created, not those still waiting in the outbox from before.
 */
import type { Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('webhooks')
    .addColumn('created_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('webhooks').dropColumn('created_ms').execute();
}
