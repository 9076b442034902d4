/**
 * Reactions on releases (`+1`, `laugh`, `heart`, `hooray`, `rocket`, `eyes`). A user leaves a
 * given reaction on a release at most once: the unique key, not process memory, is what gives
 * concurrent identical requests one winner, on every node.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  const id = kind === 'postgres' ? sql`id bigserial primary key` : sql`id integer primary key autoincrement`;
  await sql`create table release_reactions (
    ${id},
    release_id bigint not null references releases(id) on delete cascade,
    user_id bigint not null references accounts(id) on delete cascade,
    content text not null,
    created_at text not null,
    constraint release_reactions_unique unique (release_id, user_id, content)
  )`.execute(db);
  // Listing a release's reactions in order and counting them by content for the rollup.
  await db.schema.createIndex('release_reactions_by_release').on('release_reactions').columns(['release_id', 'content', 'id']).execute();
  // Deleting an account cascades here; without an index that is a scan of every reaction.
  await db.schema.createIndex('release_reactions_by_user').on('release_reactions').column('user_id').execute();
  // When a reaction was last added or removed: part of the release's Last-Modified, since the
  // rollup is part of its representation, without moving the release's own `updated_at`.
  await db.schema.alterTable('releases').addColumn('reactions_changed_at', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('releases').dropColumn('reactions_changed_at').execute();
  await db.schema.dropTable('release_reactions').execute();
}
