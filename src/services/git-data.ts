/**
 * @module services/git-data
 * A repository's git data as the REST API, GraphQL and the pages see it, and the git refs API's
 * writes (`POST /git/refs`, `DELETE /git/refs/{ref}`): GitHub's input rules, then the refs door
 * (`services/refs`), which alone changes refs.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import { ValidationError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { createRef, deleteRef, type RefActor } from './refs.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';

function apiActor(access: RepoAccess): RefActor {
  return { user: access.principal?.user ?? null, via: 'api' };
}

/** Creates a branch or tag ref at an existing commit; 422 with GitHub's messages otherwise. Returns the full ref name. */
export async function createReference(ctx: AppContext, access: RepoAccess, input: Record<string, unknown>): Promise<string> {
  requirePermission(access, 'push');
  const { ref, sha } = input;
  if (typeof ref !== 'string' || !ref.startsWith('refs/') || ref.split('/').length < 3) {
    throw new ValidationError([{ resource: 'Reference', field: 'ref', code: 'invalid' }], 'Reference name must start with \'refs/\' and have at least two slashes.');
  }
  if (typeof sha !== 'string' || !/^[0-9a-f]{40}$/.test(sha)) throw new ValidationError([{ resource: 'Reference', field: 'sha', code: 'invalid' }]);
  const gitDir = gitDirFor(ctx, access.repo);
  const isTag = ref.startsWith('refs/tags/');
  if (!(await (isTag ? git.isValidTagName(ref.slice(10)) : git.isValidBranchName(ref.replace(/^refs\/[^/]+\//, ''))))) {
    throw new ValidationError([{ resource: 'Reference', field: 'ref', code: 'invalid' }]);
  }
  const commit = await git.resolveCommit(gitDir, sha);
  if (!commit) throw new ValidationError([{ resource: 'Reference', field: 'sha', code: 'invalid' }], 'Object does not exist');
  if (!(await createRef(ctx, access.repo, ref, commit, apiActor(access)))) {
    throw new ValidationError([{ resource: 'Reference', field: 'ref', code: 'already_exists' }], 'Reference already exists');
  }
  return ref;
}

/** Deletes a ref (`ref` without its `refs/` prefix, as in the path); 422 when there is none. */
export async function deleteReference(ctx: AppContext, access: RepoAccess, ref: string): Promise<void> {
  requirePermission(access, 'push');
  if (!(await deleteRef(ctx, access.repo, `refs/${ref}`, apiActor(access)))) throw new ValidationError([], 'Reference does not exist');
}
