/**
 * A mirrored asset remembers which upstream file its bytes came from (docs/mirrors.md): Gitea's
 * attachment `uuid`, a GitHub asset's id and creation time. Where the upstream gives no digest,
 * a changed identity is what tells a file replaced by another of the same name and size.
 * Null for every asset not mirrored (and for those mirrored before this column existed).
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`alter table assets add column upstream_identity text`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`alter table assets drop column upstream_identity`.execute(db);
}
