/**
 * @module services/instance-check
 * `wharf check`: does the database agree with the bytes and the git repositories? Every uploaded
 * asset's bytes present, of the recorded size and sha256; every published release's tag present;
 * every repository's bare directory present; and, the other way round, blobs no asset names and
 * bare directories no repository owns. Works on a running instance (the two-store protocol of
 * `blob-gc.ts` keeps repairs safe beside live uploads).
 *
 * `--repair` does only what loses nothing: it deletes orphaned blobs and orphaned bare
 * directories older than an hour (younger ones may belong to an upload or a repository being
 * created right now). Missing or corrupt bytes and missing tags are reported, never "fixed":
 * they need the backup.
 */
import { createHash } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { gitDirFor, type AppContext } from '../context.ts';
import * as git from '../git/git.ts';
import { deleteUnreferencedBlobs } from './blob-gc.ts';

export type ProblemKind = 'missing-bytes' | 'wrong-size' | 'wrong-digest' | 'missing-tag' | 'missing-repository' | 'orphan-blob' | 'orphan-repository';

export interface CheckProblem {
  kind: ProblemKind;
  /** What and where, in words: `asset 12 (app.tar.gz of owner/repo v1.0)`. */
  subject: string;
  /** Whether `--repair` removes it. */
  repairable: boolean;
}

export interface CheckReport {
  assets: number;
  releases: number;
  repositories: number;
  problems: CheckProblem[];
  repaired: number;
}

/** Orphans younger than this may belong to work in progress; they are left alone. */
const ORPHAN_MIN_AGE_MS = 3600_000;

async function sha256Of(ctx: AppContext, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await ctx.blobs.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every bare repository directory under the repositories directory, with its id. */
async function bareRepositories(root: string): Promise<Array<{ id: number; dir: string }>> {
  const found: Array<{ id: number; dir: string }> = [];
  for (const shard of await readdir(root).catch(() => [] as string[])) {
    if (!/^\d{3}$/.test(shard)) continue;
    for (const name of await readdir(path.join(root, shard)).catch(() => [] as string[])) {
      const match = /^(\d+)\.git$/.exec(name);
      if (match) found.push({ id: Number(match[1]), dir: path.join(root, shard, name) });
    }
  }
  return found;
}

async function olderThan(file: string, ageMs: number): Promise<boolean> {
  const s = await stat(file).catch(() => null);
  return s !== null && Date.now() - s.mtimeMs > ageMs;
}

export async function checkInstance(ctx: AppContext, options: { repair?: boolean } = {}): Promise<CheckReport> {
  const problems: CheckProblem[] = [];
  let repaired = 0;
  const repositories = await ctx.db
    .selectFrom('repositories')
    .innerJoin('accounts', 'accounts.id', 'repositories.owner_id')
    .select(['repositories.id as id', 'repositories.name as name', 'accounts.login as owner'])
    .execute();
  const names = new Map(repositories.map((r) => [Number(r.id), `${r.owner}/${r.name}`]));

  for (const repo of repositories) {
    if ((await stat(gitDirFor(ctx, repo)).catch(() => null)) === null)
      problems.push({ kind: 'missing-repository', subject: `repository ${names.get(Number(repo.id))}`, repairable: false });
  }

  const releases = await ctx.db.selectFrom('releases').select(['id', 'repository_id', 'published_tag']).where('published_tag', 'is not', null).execute();
  for (const release of releases) {
    const gitDir = gitDirFor(ctx, { id: Number(release.repository_id) });
    if (!(await git.resolveCommit(gitDir, `refs/tags/${release.published_tag}`).catch(() => null))) {
      problems.push({ kind: 'missing-tag', subject: `release ${release.id} of ${names.get(Number(release.repository_id))}: tag ${release.published_tag}`, repairable: false });
    }
  }

  const assets = await ctx.db
    .selectFrom('assets')
    .innerJoin('releases', 'releases.id', 'assets.release_id')
    .select([
      'assets.id as id',
      'assets.name as name',
      'assets.size as size',
      'assets.digest as digest',
      'assets.blob_key as blobKey',
      'releases.tag_name as tag',
      'releases.repository_id as repositoryId',
    ])
    .where('assets.state', '=', 'uploaded')
    .execute();
  for (const asset of assets) {
    const subject = `asset ${asset.id} (${asset.name} of ${names.get(Number(asset.repositoryId))} ${asset.tag})`;
    const info = asset.blobKey ? await ctx.blobs.stat(asset.blobKey) : null;
    if (!asset.blobKey || !info) {
      problems.push({ kind: 'missing-bytes', subject, repairable: false });
      continue;
    }
    if (info.size !== Number(asset.size)) {
      problems.push({ kind: 'wrong-size', subject: `${subject}: ${info.size} bytes stored, ${asset.size} recorded`, repairable: false });
      continue;
    }
    const actual = await sha256Of(ctx, asset.blobKey);
    const recorded = (asset.digest ?? asset.blobKey).replace(/^sha256:/, '');
    if (actual !== recorded || actual !== asset.blobKey) problems.push({ kind: 'wrong-digest', subject: `${subject}: bytes hash to sha256:${actual}`, repairable: false });
  }

  // Orphans: blobs no asset names (whatever its state), bare directories no repository owns.
  const referenced = new Set((await ctx.db.selectFrom('assets').select('blob_key').where('blob_key', 'is not', null).execute()).map((a) => a.blob_key!));
  const orphanBlobs: string[] = [];
  for await (const blob of ctx.blobs.list()) {
    if (referenced.has(blob.key)) continue;
    const old = Date.now() - blob.modifiedAt.getTime() > ORPHAN_MIN_AGE_MS;
    problems.push({ kind: 'orphan-blob', subject: `blob ${blob.key} (${blob.size} bytes)${old ? '' : ', written in the last hour'}`, repairable: old });
    if (old) orphanBlobs.push(blob.key);
  }
  if (options.repair && orphanBlobs.length > 0) repaired += await deleteUnreferencedBlobs(ctx, orphanBlobs);

  for (const bare of await bareRepositories(ctx.config.repositoriesDir)) {
    if (names.has(bare.id)) continue;
    const old = await olderThan(bare.dir, ORPHAN_MIN_AGE_MS);
    problems.push({ kind: 'orphan-repository', subject: `bare repository ${path.relative(ctx.config.dataDir, bare.dir)} (no repository ${bare.id})`, repairable: old });
    if (options.repair && old) {
      await rm(bare.dir, { recursive: true, force: true });
      repaired++;
    }
  }
  return { assets: assets.length, releases: releases.length, repositories: repositories.length, problems, repaired };
}
