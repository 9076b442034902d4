/**
 * @module git/quarantine-sweep
 * git receives a push into a quarantine directory (`objects/tmp_objdir-incoming-*`) and moves
 * the objects into the repository only once every ref update was accepted. A process killed
 * mid-push leaves that directory behind, full of objects nobody refers to. At start-up Wharf
 * removes the ones older than an hour (a push still running, on this node or another sharing
 * the directory, is younger than that: git's own deadline on a push is far shorter).
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

const QUARANTINE = /^(tmp_objdir-)?incoming-/;
export const QUARANTINE_MAX_AGE_MS = 3600_000;

/** Removes stale quarantine directories under `repositoriesDir` (`{shard}/{id}.git/objects/`); returns how many. */
export async function sweepQuarantines(repositoriesDir: string, now = Date.now(), maxAgeMs = QUARANTINE_MAX_AGE_MS): Promise<number> {
  let removed = 0;
  const list = async (dir: string) => readdir(dir).catch(() => [] as string[]);
  for (const shard of await list(repositoriesDir)) {
    for (const repo of await list(path.join(repositoriesDir, shard))) {
      if (!repo.endsWith('.git')) continue;
      const objects = path.join(repositoriesDir, shard, repo, 'objects');
      for (const entry of await list(objects)) {
        if (!QUARANTINE.test(entry)) continue;
        const dir = path.join(objects, entry);
        const info = await stat(dir).catch(() => null);
        if (!info?.isDirectory() || now - info.mtimeMs < maxAgeMs) continue;
        await rm(dir, { recursive: true, force: true });
        removed += 1;
      }
    }
  }
  return removed;
}
