/**
 * A pull mirror's asset filter (docs/mirrors.md): only assets whose names match `asset_glob` are
 * mirrored; null mirrors them all.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`alter table mirrors add column asset_glob text`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`alter table mirrors drop column asset_glob`.execute(db);
}
