/**
 * A pull mirror's channel filter (docs/mirrors.md): only upstream releases whose channel, as this
 * repository's release rules derive it (docs/channels.md), is one of `channels` (a comma-separated
 * list such as `stable` or `stable,beta`) are mirrored; null mirrors every channel.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`alter table mirrors add column channels text`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`alter table mirrors drop column channels`.execute(db);
}
