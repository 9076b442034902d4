/**
 * @module bench/lib/seed
 * Bulk seeding through Wharf's own data layer (src/db/dialect.ts + migrations): releases and
 * their assets inserted in large multi-row statements and big transactions, straight into the
 * data directory of a stopped Wharf. Rows look exactly like ones the API writes; only the git
 * tags and the asset bytes are left out, which the read paths measured here never touch.
 */
import { versionColumns } from '../../src/services/release-channels.ts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NewAsset, NewRelease } from '../../src/db/schema.ts';
import { serverRoot } from './wharf.ts';

type DialectModule = typeof import('../../src/db/dialect.ts');
type MigrateModule = typeof import('../../src/db/migrate.ts');

/** The data layer of the checkout being measured, so its migrations match the data it reads. */
async function dataLayer(): Promise<{ openDatabase: DialectModule['openDatabase']; migrateToLatest: MigrateModule['migrateToLatest'] }> {
  const load = (file: string) => import(pathToFileURL(path.join(serverRoot(), file)).href);
  const dialect = (await load('src/db/dialect.ts')) as DialectModule;
  const migrate = (await load('src/db/migrate.ts')) as MigrateModule;
  return { openDatabase: dialect.openDatabase, migrateToLatest: migrate.migrateToLatest };
}

export interface SeedSpec {
  repositoryId: number;
  authorId: number;
  releases: number;
  assetsPerRelease: number;
}

export interface SeedResult {
  firstReleaseId: number;
  lastReleaseId: number;
  /** Tag of the newest release and one in the middle, for by-tag lookups. */
  newestTag: string;
  middleTag: string;
}

/** A fixed key: seeded assets are metadata only (the bytes would be one shared blob anyway). */
const SEEDED_BLOB_KEY = 'ab'.repeat(32);
const RELEASES_PER_TRANSACTION = 10_000;
const RELEASE_ROWS_PER_STATEMENT = 500;
const ASSET_ROWS_PER_STATEMENT = 1_000;

export function tagFor(i: number): string {
  return `v${Math.floor(i / 10_000)}.${Math.floor(i / 100) % 100}.${i % 100}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Seeds the database of a stopped Wharf: its data directory's SQLite file, or `databaseUrl`. */
export async function seedReleases(dataDir: string, specs: SeedSpec[], databaseUrl?: string): Promise<SeedResult[]> {
  const { openDatabase, migrateToLatest } = await dataLayer();
  const handle = await openDatabase(databaseUrl ?? `sqlite:${path.join(dataDir, 'wharf.db')}`);
  try {
    await migrateToLatest(handle);
    const db = handle.db;
    const results: SeedResult[] = [];
    for (const spec of specs) {
      const maxRow = await db
        .selectFrom('releases')
        .select((eb) => eb.fn.max('id').as('m'))
        .executeTakeFirst();
      const firstId = Number(maxRow?.m ?? 0) + 1;
      const start = Date.UTC(2015, 0, 1);
      for (let from = 0; from < spec.releases; from += RELEASES_PER_TRANSACTION) {
        const to = Math.min(spec.releases, from + RELEASES_PER_TRANSACTION);
        await db.transaction().execute(async (trx) => {
          const releases: NewRelease[] = [];
          const assets: NewAsset[] = [];
          for (let i = from; i < to; i++) {
            const id = firstId + i;
            const when = iso(start + i * 60_000);
            const tag = tagFor(i);
            releases.push({
              id,
              repository_id: spec.repositoryId,
              tag_name: tag,
              published_tag: tag,
              target_commitish: 'main',
              name: `Release ${tag}`,
              body: `## Changes in ${tag}\n\n- Fixes a bug reported in #${i}\n- Improves performance of the thing\n`,
              draft: 0,
              prerelease: 0,
              immutable: 0,
              ...versionColumns({ release_rules: null }, tag, false, null),
              author_id: spec.authorId,
              untagged_key: randomBytes(10).toString('hex'),
              created_at: when,
              published_at: when,
              updated_at: when,
            });
            for (let a = 0; a < spec.assetsPerRelease; a++) {
              assets.push({
                release_id: id,
                repository_id: spec.repositoryId,
                name: `tool-${tag}-${a}.tar.gz`,
                label: null,
                content_type: 'application/gzip',
                size: 4096,
                digest: SEEDED_BLOB_KEY,
                blob_key: SEEDED_BLOB_KEY,
                state: 'uploaded',
                download_count: a,
                uploader_id: spec.authorId,
                created_at: when,
                updated_at: when,
              });
            }
          }
          for (let i = 0; i < releases.length; i += RELEASE_ROWS_PER_STATEMENT) {
            await trx
              .insertInto('releases')
              .values(releases.slice(i, i + RELEASE_ROWS_PER_STATEMENT))
              .execute();
          }
          for (let i = 0; i < assets.length; i += ASSET_ROWS_PER_STATEMENT) {
            await trx
              .insertInto('assets')
              .values(assets.slice(i, i + ASSET_ROWS_PER_STATEMENT))
              .execute();
          }
        });
      }
      const lastId = firstId + spec.releases - 1;
      // Publishing designates the new release as latest (make_latest defaults to true).
      await db.updateTable('repositories').set({ latest_release_id: lastId }).where('id', '=', spec.repositoryId).execute();
      results.push({ firstReleaseId: firstId, lastReleaseId: lastId, newestTag: tagFor(spec.releases - 1), middleTag: tagFor(Math.floor(spec.releases / 2)) });
    }
    return results;
  } finally {
    await handle.close();
  }
}
