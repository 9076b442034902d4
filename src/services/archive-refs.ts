/**
 * @module services/archive-refs
 * The ref a source-archive URL names, resolved without git's revision syntax or its guessing:
 * `refs/…` as written, a short name as a tag and then as a branch (git's own order), a hex
 * string as a commit id. Anything else (`v1^{/regex}`, `main~1`, `HEAD:path`, `@{…}`) is not
 * a ref and is 404 before git sees it.
 */
import * as git from '../git/git.ts';
import { isPlainRef } from './names.ts';

export interface ArchiveRef {
  sha: string;
  /** The name the URL resolved to: the tag or branch name without `refs/…/`, or the commit id. */
  name: string;
}

export async function resolveArchiveRef(gitDir: string, ref: string): Promise<ArchiveRef | null> {
  if (!isPlainRef(ref)) return null;
  const candidates = ref.startsWith('refs/') ? [ref] : [`refs/tags/${ref}`, `refs/heads/${ref}`];
  for (const full of candidates) {
    const sha = await git.resolveCommit(gitDir, full);
    if (sha) return { sha, name: full.replace(/^refs\/(tags|heads)\//, '') };
  }
  if (/^[0-9a-f]{4,40}$/i.test(ref)) {
    const sha = await git.resolveCommit(gitDir, ref);
    if (sha && sha.startsWith(ref.toLowerCase())) return { sha, name: ref };
  }
  return null;
}
