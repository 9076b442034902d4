/**
 * @module services/backup
 * `wharf backup` and `wharf restore` for the embedded store (SQLite, files, bare repositories),
 * while Wharf keeps serving writes. A backup is a directory:
 *
 *   wharf.db          the database, from SQLite's online backup (one consistent moment)
 *   blobs/            the bytes of every asset that moment knows, same layout as the data directory
 *   repositories/     the bare repositories, refs copied before objects
 *   manifest.json     version, time, counts, and how many rounds it took
 *
 * Consistency: the database is copied first; then every blob its assets name, and every
 * repository (refs and packed-refs first, then objects: git writes objects before it moves a
 * ref, so every copied ref finds its objects). Then the copy is checked against the database
 * copy: each uploaded asset's bytes present, each published release's tag present. Something
 * deleted between the database copy and the file copy (an asset deleted and its blob collected,
 * a tag deleted) fails that check; the round is then repeated from a fresh database copy,
 * copying only what is missing (blobs are immutable), until a round is clean.
 */
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBlobStore } from '../blobs/create-blob-store.ts';
import { FsBlobStore } from '../blobs/fs-blob-store.ts';
import type { WharfConfig } from '../config/config.ts';
import { gitDirFor, newCaches, type AppContext } from '../context.ts';
import { backupSqliteFile, openDatabase, sqliteFileOf } from '../db/dialect.ts';
import { migrateToLatest } from '../db/migrate.ts';
import * as git from '../git/git.ts';
import { WHARF_VERSION } from '../version.ts';
import { checkInstance, type CheckReport } from './instance-check.ts';

/** Something the operator must fix before a backup or restore can go on (printed as is). */
export class BackupRefused extends Error {}

export interface BackupManifest {
  format: 1;
  wharfVersion: string;
  createdAt: string;
  rounds: number;
  repositories: number;
  releases: number;
  assets: number;
  blobs: number;
}

const MAX_ROUNDS = 5;

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** The bare directory of repository `id` under the repositories directory `root` (as `gitDirFor` places it). */
function repositoryDir(root: string, id: number): string {
  return gitDirFor({ config: { repositoriesDir: root } as WharfConfig }, { id });
}

interface Snapshot {
  repositories: number[];
  /** [repository id, tag] of every published release. */
  tags: Array<[number, string]>;
  blobKeys: string[];
  releases: number;
  assets: number;
}

async function readSnapshot(file: string): Promise<Snapshot> {
  const handle = await openDatabase(`sqlite:${file}`);
  try {
    const db = handle.db;
    const repositories = (await db.selectFrom('repositories').select('id').execute()).map((r) => Number(r.id));
    const published = await db.selectFrom('releases').select(['repository_id', 'published_tag']).where('published_tag', 'is not', null).execute();
    const assets = await db.selectFrom('assets').select('blob_key').where('state', '=', 'uploaded').execute();
    const releases = await db
      .selectFrom('releases')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return {
      repositories,
      tags: published.map((r) => [Number(r.repository_id), r.published_tag!]),
      blobKeys: [...new Set(assets.map((a) => a.blob_key).filter((k): k is string => k !== null))],
      releases: Number(releases.n),
      assets: assets.length,
    };
  } finally {
    await handle.close();
  }
}

/** Copies one bare repository: everything but the objects first (refs), then the objects. */
async function copyRepository(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const quarantine = (p: string) => path.basename(p).startsWith('tmp_objdir') || p.endsWith('.lock');
  for (const entry of await readdir(from)) {
    if (entry === 'objects') continue;
    await cp(path.join(from, entry), path.join(to, entry), { recursive: true, force: true, filter: (p) => !quarantine(p) });
  }
  await cp(path.join(from, 'objects'), path.join(to, 'objects'), { recursive: true, force: true, filter: (p) => !quarantine(p) && !p.endsWith('.tmp') });
}

export interface BackupProgress {
  (line: string): void;
}

/**
 * Makes a consistent copy of a running embedded instance in `dir` (which must be empty or new).
 * Refuses on PostgreSQL or S3: there the database's and the bucket's own tools copy the data
 * (see `explainExternalBackup`).
 */
export async function backupInstance(ctx: AppContext, dir: string, say: BackupProgress = () => undefined): Promise<BackupManifest> {
  const { config } = ctx;
  const dbFile = sqliteFileOf(config.databaseUrl);
  if (!dbFile || config.blobStore !== 'fs') throw new BackupRefused(explainExternalBackup(config));
  if (!(await isEmptyOrMissing(dir))) throw new BackupRefused(`${dir} is not empty; back up into a new or empty directory`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const source = ctx.blobs;
  const target = new FsBlobStore(path.join(dir, 'blobs'));
  const copied = new Set<string>();

  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const partial = path.join(dir, 'wharf.db.partial');
    await rm(partial, { force: true });
    const { pages } = await backupSqliteFile(dbFile, partial);
    await rename(partial, path.join(dir, 'wharf.db'));
    const snapshot = await readSnapshot(path.join(dir, 'wharf.db'));
    say(`round ${round}: database copied (${pages} pages: ${snapshot.repositories.length} repositories, ${snapshot.releases} releases, ${snapshot.assets} assets)`);

    const missingBlobs: string[] = [];
    for (const key of snapshot.blobKeys) {
      if (copied.has(key)) continue;
      try {
        const stored = await target.put(await source.get(key));
        if (stored.key !== key) throw new Error(`the bytes of blob ${key} hash to ${stored.key}`);
        copied.add(key);
      } catch (err) {
        if ((await source.stat(key)) !== null) throw err;
        missingBlobs.push(key); // collected after the database copy: the next round will not need it
      }
    }
    for (const id of snapshot.repositories) {
      const from = repositoryDir(config.repositoriesDir, id);
      if ((await stat(from).catch(() => null)) === null) continue; // deleted since: checked below
      await copyRepository(from, repositoryDir(path.join(dir, 'repositories'), id));
    }
    const missingTags: string[] = [];
    for (const [id, tag] of snapshot.tags) {
      const gitDir = repositoryDir(path.join(dir, 'repositories'), id);
      if ((await stat(gitDir).catch(() => null)) === null || !(await git.resolveCommit(gitDir, `refs/tags/${tag}`))) missingTags.push(`${id}:${tag}`);
    }
    if (missingBlobs.length === 0 && missingTags.length === 0) {
      const manifest: BackupManifest = {
        format: 1,
        wharfVersion: WHARF_VERSION,
        createdAt: new Date().toISOString(),
        rounds: round,
        repositories: snapshot.repositories.length,
        releases: snapshot.releases,
        assets: snapshot.assets,
        blobs: snapshot.blobKeys.length,
      };
      await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
      await target.cleanTemporary(0);
      await rm(path.join(dir, 'blobs', 'tmp'), { recursive: true, force: true });
      return manifest;
    }
    say(`round ${round}: ${missingBlobs.length} blob(s) and ${missingTags.length} tag(s) changed during the copy; copying again`);
  }
  throw new BackupRefused(`the data kept changing under the copy for ${MAX_ROUNDS} rounds; try again at a quieter moment`);
}

/** What a backup means on PostgreSQL and S3, where Wharf does not copy the data itself. */
export function explainExternalBackup(config: WharfConfig): string {
  const parts: string[] = [];
  if (!sqliteFileOf(config.databaseUrl)) parts.push("the database with PostgreSQL's tools (pg_dump, or continuous archiving and point-in-time recovery)");
  if (config.blobStore === 's3') parts.push(`the bucket ${config.s3?.bucket ?? ''} with the object store's versioning or replication`.replace('  ', ' '));
  parts.push('and the repositories directory (copy refs before objects, or snapshot the volume)');
  return `this instance keeps its data outside the data directory; back up ${parts.join(', ')}, database first. Then run \`wharf check\` against the restored copy: it finds assets whose bytes or tags the copy lacks`;
}

export interface RestoreReport {
  manifest: BackupManifest;
  check: CheckReport;
}

/**
 * Restores a backup into the configured data directory, which must be empty (or not exist):
 * Wharf must not be running on it. Migrates the database (a backup from an older Wharf is
 * upgraded) and checks the result.
 */
export async function restoreInstance(config: WharfConfig, dir: string, say: BackupProgress = () => undefined): Promise<RestoreReport> {
  const dbFile = sqliteFileOf(config.databaseUrl);
  if (!dbFile || config.blobStore !== 'fs')
    throw new BackupRefused('wharf restore restores into a data directory with SQLite and the file blob store; restore PostgreSQL and the bucket with their own tools');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch {
    throw new BackupRefused(`${dir} holds no finished backup (no readable manifest.json); name a directory written by wharf backup`);
  }
  if (!(await isEmptyOrMissing(config.dataDir)))
    throw new BackupRefused(`${config.dataDir} is not empty; restore into a new or empty data directory (WHARF_DATA_DIR), with Wharf stopped`);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await cp(path.join(dir, 'wharf.db'), dbFile);
  await cp(path.join(dir, 'blobs'), config.blobDir, { recursive: true }).catch(ignoreMissing);
  await cp(path.join(dir, 'repositories'), config.repositoriesDir, { recursive: true }).catch(ignoreMissing);
  say(`restored ${manifest.repositories} repositories, ${manifest.releases} releases and ${manifest.assets} assets from a backup of ${manifest.createdAt}`);
  const handle = await openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(handle);
    const { pino } = await import('pino');
    const { PushListeners } = await import('./push-events.ts');
    const ctx: AppContext = {
      config,
      db: handle.db,
      blobs: await createBlobStore(config),
      log: pino({ level: 'silent' }),
      pushListeners: new PushListeners(),
      ...newCaches(config),
    };
    return { manifest, check: await checkInstance(ctx) };
  } finally {
    await handle.close();
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
