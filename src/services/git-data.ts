/**
 * @module services/git-data
 * A repository's git data as the REST API, GraphQL and the pages see it — tags, branches, refs,
 * commits and source archives — and the git refs API's writes (`POST /git/refs`,
 * `DELETE /git/refs/{ref}`): GitHub's input rules, then the refs door (`services/refs`), which
 * alone changes refs.
 *
 * The tag order: every list of tags (REST `GET /tags`, the repository page, the tags feed, and
 * GraphQL `refs(refPrefix: "refs/tags/", direction: DESC)`) gives tag names in descending order,
 * comparing runs of digits as numbers (`v1.10.0`, `v1.9.0`, `v1.2.0`, `light/1.0`), as GitHub's
 * REST API lists tags. GraphQL's default direction (ASC) is the same order reversed.
 */
import { Transform } from 'node:stream';
import { bodyMembers } from '../domain/request-body.ts';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Repository } from '../db/schema.ts';
import { findUsersByEmails } from '../db/repos/accounts-repo.ts';
import { TooLargeError, ValidationError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { resolveArchiveRef as resolveArchiveRefIn, type ArchiveRef } from './archive-refs.ts';
import { createRef, deleteRef, type RefActor } from './refs.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';

function apiActor(access: RepoAccess): RefActor {
  return { user: access.principal?.user ?? null, via: 'api' };
}

/** Creates a branch or tag ref at an existing commit; 422 with GitHub's messages otherwise. Returns the full ref name. */
export async function createReference(ctx: AppContext, access: RepoAccess, body: unknown): Promise<string> {
  requirePermission(access, 'push');
  const { ref, sha } = bodyMembers(body);
  if (typeof ref !== 'string' || !ref.startsWith('refs/') || ref.split('/').length < 3) {
    throw new ValidationError([{ resource: 'Reference', field: 'ref', code: 'invalid' }], "Reference name must start with 'refs/' and have at least two slashes.");
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

// ---- reads ------------------------------------------------------------------------------------

export type { CommitInfo, RefInfo, TagSummary } from '../git/git.ts';

const tagNames = new Intl.Collator('en', { numeric: true });

/** The tag order (see the module comment): negative when tag `a` comes before tag `b`. */
export function compareTags(a: string, b: string): number {
  return tagNames.compare(b, a);
}

/** Every tag of the repository, in the tag order, with its commit, date and subject. */
export async function listTags(ctx: AppContext, repo: Repository): Promise<git.TagSummary[]> {
  const tags = await git.listTags(gitDirFor(ctx, repo));
  return tags.sort((a, b) => compareTags(a.name, b.name));
}

/** Branches, in git's name order. */
export function listBranches(ctx: AppContext, repo: Repository): Promise<git.RefInfo[]> {
  return git.listRefs(gitDirFor(ctx, repo), 'refs/heads/');
}

/**
 * Refs under a folder such as `refs/tags/` or `refs/heads/` (GraphQL's `refs`): tags come in the
 * tag order, other refs in git's name order.
 */
export function refsUnder(ctx: AppContext, repo: Repository, folder: string): Promise<git.RefInfo[]> {
  return folder === 'refs/tags/' ? listTags(ctx, repo) : git.listRefs(gitDirFor(ctx, repo), folder);
}

/** Refs whose full name starts with `prefix` (REST matching-refs), in git's name order. */
export async function matchingRefs(ctx: AppContext, repo: Repository, prefix: string): Promise<git.RefInfo[]> {
  return (await git.listRefs(gitDirFor(ctx, repo), 'refs/')).filter((r) => r.ref.startsWith(prefix));
}

/** One ref by its full name, or null. */
export function getRef(ctx: AppContext, repo: Repository, fullRef: string): Promise<git.RefInfo | null> {
  return git.getRef(gitDirFor(ctx, repo), fullRef);
}

/** The commit a branch, tag or SHA names, or null. */
export function resolveCommit(ctx: AppContext, repo: Repository, rev: string): Promise<string | null> {
  return git.resolveCommit(gitDirFor(ctx, repo), rev);
}

export function getCommit(ctx: AppContext, repo: Repository, rev: string): Promise<git.CommitInfo | null> {
  return git.getCommit(gitDirFor(ctx, repo), rev);
}

/** Commits reachable from `to` (a resolved SHA) and not from `from`, newest first. */
export function listCommits(ctx: AppContext, repo: Repository, options: git.LogOptions): Promise<git.CommitInfo[]> {
  return git.log(gitDirFor(ctx, repo), options);
}

/** The accounts whose e-mail addresses authored or committed these commits, by address (one query). */
export async function commitAccounts(ctx: AppContext, commits: readonly git.CommitInfo[]): Promise<Map<string, Account>> {
  const emails = new Set(commits.flatMap((c) => [c.authorEmail, c.committerEmail]));
  const users = await findUsersByEmails(ctx.db, [...emails]);
  return new Map(users.map((u) => [u.email!, u]));
}

/** The commit a source-archive URL names (`services/archive-refs`: no revision syntax), or null. */
export function resolveArchiveRef(ctx: AppContext, repo: Repository, ref: string): Promise<ArchiveRef | null> {
  return resolveArchiveRefIn(gitDirFor(ctx, repo), ref);
}

/**
 * `git archive` of a resolved commit, with `top` as the folder everything sits in. Refused with 413
 * before git starts when the files it would hold add up to more than `WHARF_MAX_ARCHIVE_SIZE`
 * (a tree repeating one large blob is cheap to push and ruinous to archive) or number more than
 * `WHARF_MAX_ARCHIVE_FILES` (each file of a zip costs its own compressor); the archive itself
 * is also cut off should it grow past that size.
 */
export async function archive(ctx: AppContext, repo: Repository, sha: string, format: 'tar.gz' | 'zip', top: string): Promise<git.GitStream> {
  const gitDir = gitDirFor(ctx, repo);
  const max = ctx.config.maxArchiveSize;
  const size = await git.treeContentSize(gitDir, sha);
  if (size === null || size.files > ctx.config.maxArchiveFiles) {
    throw new TooLargeError(`This archive would hold ${size === null ? 'too many' : size.files} files, more than this server's limit of ${ctx.config.maxArchiveFiles} files.`);
  }
  if (size.bytes > max) throw new TooLargeError(`This archive would hold ${size.bytes} bytes, more than this server's limit of ${max} bytes.`);
  const made = await git.archive(gitDir, sha, format, top);
  let sent = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      // Headers and compression make an archive of at most `max` bytes of files only a little larger.
      if (sent > max + 1024 * 1024) {
        made.stop();
        done(new Error('archive larger than its limit'));
      } else done(null, chunk);
    },
  });
  made.stream.pipe(counted);
  return { stream: counted, stop: made.stop };
}
