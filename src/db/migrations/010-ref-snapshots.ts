/**
 * Git and the database converge (see docs/refs.md):
 * - `repository_refs`: the refs the database knows each repository to have, updated in the
 *   transaction that records their events; a reconciler compares it with git to find changes
 *   whose events a crash lost;
 * - `ref_intents`: a ref change Wharf is about to make, written before git is touched (the tag of
 *   a release being published; an API or push update with who makes it), so a change interrupted
 *   between git and the database is rolled back or attributed after a crash;
 * - `repositories.refs_known`: 0 for repositories made before the snapshot existed, whose refs are
 *   recorded once (without events) at the next start.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  const id = kind === 'postgres' ? sql`id bigserial primary key` : sql`id integer primary key autoincrement`;
  await sql`create table repository_refs (
    repository_id bigint not null references repositories(id) on delete cascade,
    ref text not null,
    sha text not null,
    primary key (repository_id, ref)
  )`.execute(db);
  await sql`create table ref_intents (
    ${id},
    repository_id bigint not null references repositories(id) on delete cascade,
    ref text not null,
    sha text,
    purpose text not null,
    actor_id bigint,
    holder text not null,
    created_ms bigint not null
  )`.execute(db);
  await db.schema.createIndex('ref_intents_by_repository').on('ref_intents').columns(['repository_id', 'ref']).execute();
  await db.schema
    .alterTable('repositories')
    .addColumn('refs_known', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await db.updateTable('repositories').set({ refs_known: 0 }).execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('repositories').dropColumn('refs_known').execute();
  await db.schema.dropTable('ref_intents').execute();
  await db.schema.dropTable('repository_refs').execute();
}
