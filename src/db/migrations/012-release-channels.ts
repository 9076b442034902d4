/**
 * Channels and versions (docs/channels.md): each release stores the version, channel and tag
 * prefix its repository's rules derive from its tag, so "latest beta", "latest 2.x" and "latest
 * cli-" are one indexed query on any number of releases; `channel_override` is the release's own
 * choice. A repository's rules are one JSON document (null: the defaults).
 *
 * `version_key` sorts as the versions do when compared byte by byte: PostgreSQL must not compare
 * it by a locale's rules (which skip punctuation), hence `collate "C"`.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect.ts';
import { DEFAULT_RULES, deriveReleaseVersion } from '../../domain/release-version.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  await db.schema.alterTable('repositories').addColumn('release_rules', 'text').execute();
  await db.schema.alterTable('releases').addColumn('channel_override', 'text').execute();
  await db.schema
    .alterTable('releases')
    .addColumn('channel', 'text', (c) => c.notNull().defaultTo('stable'))
    .execute();
  await db.schema
    .alterTable('releases')
    .addColumn('tag_prefix', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.alterTable('releases').addColumn('version', 'text').execute();
  await db.schema
    .alterTable('releases')
    .addColumn('version_key', 'text', (c) => (kind === 'postgres' ? c.modifyEnd(sql`collate "C"`) : c))
    .execute();
  await db.schema.alterTable('releases').addColumn('version_major', 'integer').execute();
  // Latest per (channel, prefix[, major]): the highest version key among published releases.
  await db.schema.createIndex('releases_by_channel_version').on('releases').columns(['repository_id', 'channel', 'tag_prefix', 'version_key']).execute();
  await db.schema.createIndex('releases_by_version').on('releases').columns(['repository_id', 'version_key']).execute();
  // Releases made before channels existed: no repository has rules yet, so the defaults apply.
  const rows = (await db.selectFrom('releases').select(['id', 'tag_name', 'prerelease']).execute()) as { id: number; tag_name: string; prerelease: number }[];
  for (const row of rows) {
    const v = deriveReleaseVersion(row.tag_name, row.prerelease === 1, null, DEFAULT_RULES);
    await db
      .updateTable('releases')
      .set({ channel: v.channel, tag_prefix: v.prefix, version: v.version, version_key: v.versionKey, version_major: v.major })
      .where('id', '=', row.id)
      .execute();
  }
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('releases_by_version').execute();
  await db.schema.dropIndex('releases_by_channel_version').execute();
  for (const column of ['version_major', 'version_key', 'version', 'tag_prefix', 'channel', 'channel_override']) {
    await db.schema.alterTable('releases').dropColumn(column).execute();
  }
  await db.schema.alterTable('repositories').dropColumn('release_rules').execute();
}
