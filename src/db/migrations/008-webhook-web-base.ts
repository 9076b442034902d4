/**
 * The web base URL a webhook was created through: payload URLs use it when WHARF_EXTERNAL_URL is
 * not set, so receivers get URLs they can call back.
 */
import type { Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('webhooks')
    .addColumn('web_base', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('webhooks').dropColumn('web_base').execute();
}
