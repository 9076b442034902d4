/**
 * @module services/git-refs
 * Keeps the database in step with ref changes made through Wharf (smart-HTTP pushes and the refs
 * API): records the push time, adopts the first pushed branch as default on an empty repository,
 * and tells the push listeners (releases follow their tags).
 */
import { gitDirFor, type AppContext } from '../context.ts';
import type { Repository } from '../db/schema.ts';
import { updateRepository } from '../db/repos/repositories-repo.ts';
import * as git from '../git/git.ts';
import { isoSeconds } from '../util/time.ts';
import type { RefChange } from './push-events.ts';

/** Compares two ref listings (`ref → sha`) and returns what changed. */
export function diffRefs(before: Map<string, string>, after: Map<string, string>): RefChange[] {
  const changes: RefChange[] = [];
  for (const [ref, sha] of after) if (before.get(ref) !== sha) changes.push({ ref, before: before.get(ref) ?? null, after: sha });
  for (const [ref, sha] of before) if (!after.has(ref)) changes.push({ ref, before: sha, after: null });
  return changes;
}

export async function snapshotRefs(gitDir: string): Promise<Map<string, string>> {
  const refs = await git.listRefs(gitDir, 'refs/');
  return new Map(refs.map((r) => [r.ref, r.sha]));
}

export async function notifyRefChanges(ctx: AppContext, repo: Repository, changes: RefChange[]): Promise<void> {
  if (changes.length === 0) return;
  const gitDir = gitDirFor(ctx, repo);
  const update: Parameters<typeof updateRepository>[2] = { pushed_at: isoSeconds() };
  const headBranch = `refs/heads/${repo.default_branch}`;
  if (!(await git.resolveCommit(gitDir, headBranch))) {
    const pushedBranch = changes.find((c) => c.ref.startsWith('refs/heads/') && c.after);
    if (pushedBranch) {
      const branch = pushedBranch.ref.slice('refs/heads/'.length);
      await git.setHead(gitDir, branch);
      update.default_branch = branch;
    }
  }
  const updated = await updateRepository(ctx.db, repo.id, update);
  await ctx.pushListeners.emit(updated, changes);
}
