/**
 * @module services/release-notes
 * Generated release notes from the repository's own history (GitHub builds them from merged pull
 * requests; Wharf has the commits). The range runs from the previous release's tag (or
 * `previous_tag_name`) to `tag_name` — or to `target_commitish` when the tag does not exist yet —
 * and is read with one first-parent `git log`. Nothing is stored. See docs/release-notes.md.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import { findLoginsByEmails, findPrereleaseFlagByTag, listPreviousReleaseCandidates } from '../db/repos/release-notes-repo.ts';
import { ValidationError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { categorise, includedChanges, type NoteChange } from '../notes/categorise.ts';
import { changeFromCommit } from '../notes/changes.ts';
import { parseReleaseConfig, ReleaseConfigError, type ReleaseConfig } from '../notes/release-config.ts';
import { renderNotes } from '../notes/render.ts';
import { toIsoSeconds } from '../util/time.ts';
import type { RepoAccess } from './repositories.ts';
import { requirePermission } from './repositories.ts';

export interface GenerateNotesInput {
  tag_name: string;
  target_commitish?: string | null;
  previous_tag_name?: string | null;
  configuration_file_path?: string | null;
  /**
   * Whether the release being prepared is a prerelease, when the caller knows (create/update).
   * Otherwise taken from an existing release with this tag, else from the tag's semver shape.
   */
  prerelease?: boolean | null;
}

export interface GenerateNotesOptions {
  /** `{web}` for links (request.urls.web); defaults to the external URL or the listening address. */
  webUrl?: string;
  /**
   * Longest body to return (default: GitHub's 125 000-character release body limit). On create,
   * pass what is left after the given body and the separator (see notes/merge.ts).
   */
  maxLength?: number;
}

const DEFAULT_CONFIG_PATHS = ['.github/release.yml', '.github/release.yaml'];
const EMPTY_CONFIG: ReleaseConfig = { exclude: { labels: [], authors: [] }, categories: [] };
/** Candidates whose tags were deleted from git are skipped; this bounds the rows examined. */
const PREVIOUS_RELEASE_CANDIDATES = 20;
const FULL_SHA = /^[0-9a-f]{40}$/;
/** A configuration file is a few hundred bytes; anything this large is not one (and would be slow to parse). */
const MAX_CONFIG_BYTES = 256 * 1024;
// `v1.2.3-rc.1`, `1.0-beta`: a semver-style prerelease suffix.
const PRERELEASE_TAG = /^v?\d+(\.\d+)*-[0-9A-Za-z]/;

function invalid(field: string, message?: string): ValidationError {
  return new ValidationError([{ resource: 'Release', field, code: message ? 'custom' : 'invalid', ...(message ? { message } : {}) }]);
}

function encodeRef(value: string): string {
  return value.split('/').map(encodeURIComponent).join('/');
}

interface Target {
  sha: string;
  /** The ref the notes describe, as shown in the configuration comment. */
  ref: string;
}

async function resolveTargetCommitish(gitDir: string, target: string): Promise<string | null> {
  if (target === 'HEAD' || target.startsWith('-') || target.startsWith('refs/tags/')) return null;
  if (FULL_SHA.test(target)) return git.resolveCommit(gitDir, target);
  const branch = target.startsWith('refs/heads/') ? target : `refs/heads/${target}`;
  return (await git.resolveCommit(gitDir, branch)) ?? (target.startsWith('refs/') ? null : git.resolveCommit(gitDir, `refs/tags/${target}`));
}

async function resolveTarget(ctx: AppContext, gitDir: string, access: RepoAccess, input: GenerateNotesInput): Promise<Target> {
  const tagged = await git.resolveCommit(gitDir, `refs/tags/${input.tag_name}`);
  if (tagged) return { sha: tagged, ref: input.tag_name };
  if (!(await git.isValidTagName(input.tag_name))) throw invalid('tag_name', 'tag_name is not a valid tag');
  // Like create: a new tag goes on `target_commitish` (a branch, an existing tag or a full commit
  // SHA; not `HEAD` nor a partial SHA), the default branch when omitted.
  const target = input.target_commitish || access.repo.default_branch;
  const sha = await resolveTargetCommitish(gitDir, target);
  if (sha) return { sha, ref: target };
  throw invalid('target_commitish');
}

async function isPrerelease(ctx: AppContext, access: RepoAccess, input: GenerateNotesInput): Promise<boolean> {
  if (typeof input.prerelease === 'boolean') return input.prerelease;
  const flag = await findPrereleaseFlagByTag(ctx.db, access.repo.id, input.tag_name);
  return flag ?? PRERELEASE_TAG.test(input.tag_name);
}

/** The previous release's tag and commit, or null when the notes cover the whole history. */
async function resolvePrevious(ctx: AppContext, gitDir: string, access: RepoAccess, input: GenerateNotesInput, target: Target): Promise<{ tag: string; sha: string } | null> {
  if (input.previous_tag_name) {
    const sha = await git.resolveCommit(gitDir, `refs/tags/${input.previous_tag_name}`);
    if (!sha) throw invalid('previous_tag_name', `previous_tag_name ${input.previous_tag_name} is not an existing tag`);
    return { tag: input.previous_tag_name, sha };
  }
  const targetDate = await git.committerDate(gitDir, target.sha);
  const candidates = await listPreviousReleaseCandidates(ctx.db, access.repo.id, {
    excludeTag: input.tag_name,
    notAfter: toIsoSeconds(targetDate ?? new Date().toISOString()),
    stableOnly: !(await isPrerelease(ctx, access, input)),
    limit: PREVIOUS_RELEASE_CANDIDATES,
  });
  for (const candidate of candidates) {
    const sha = await git.resolveCommit(gitDir, `refs/tags/${candidate.tag_name}`);
    if (sha) return { tag: candidate.tag_name, sha };
  }
  return null;
}

async function loadConfig(gitDir: string, target: Target, requestedPath: string | null | undefined): Promise<{ config: ReleaseConfig; path: string | null }> {
  const paths = requestedPath ? [requestedPath] : DEFAULT_CONFIG_PATHS;
  for (const path of paths) {
    if (path.includes('\0') || path.split('/').includes('..')) throw invalid('configuration_file_path', `configuration_file_path ${path} is not a valid path`);
  }
  // Both default names are read at once; the first that exists wins.
  const contents = await Promise.all(paths.map((path) => git.readFileAt(gitDir, target.sha, path, MAX_CONFIG_BYTES)));
  const index = contents.findIndex((c) => c.kind !== 'missing');
  if (index < 0) {
    if (requestedPath) throw invalid('configuration_file_path', `configuration file ${requestedPath} does not exist at ${target.ref}`);
    return { config: EMPTY_CONFIG, path: null };
  }
  const path = paths[index]!;
  const found = contents[index]!;
  if (found.kind !== 'file') throw invalid('configuration_file_path', `${path} at ${target.ref}: is larger than ${MAX_CONFIG_BYTES} bytes`);
  try {
    return { config: parseReleaseConfig(found.bytes.toString('utf8')), path: path.replace(/^\/+/, '') };
  } catch (err) {
    if (err instanceof ReleaseConfigError) throw invalid('configuration_file_path', `${path} at ${target.ref}: ${err.message}`);
    throw err;
  }
}

/** Reads the range and turns its first-parent commits into changes, oldest first. */
async function readChanges(ctx: AppContext, gitDir: string, from: string | null, to: string): Promise<NoteChange[]> {
  const commits = (await git.log(gitDir, { to, from, firstParent: true })).reverse();
  const tipShas = [...new Set(commits.filter((c) => c.parents.length > 1).map((c) => c.parents[1]!))];
  const tips = new Map((await git.commitsBySha(gitDir, tipShas)).map((c) => [c.sha, c]));
  const raw = commits.map((c) => changeFromCommit(c, c.parents.length > 1 ? tips.get(c.parents[1]!) : undefined));
  const loginByEmail = await findLoginsByEmails(
    ctx.db,
    raw.map((c) => c.authorEmail),
  );
  return raw.map((c) => ({
    sha: c.sha,
    title: c.title,
    labels: c.labels,
    author: { login: loginByEmail.get(c.authorEmail.toLowerCase()) ?? null, name: c.authorName, email: c.authorEmail },
  }));
}

/** Author e-mails of every commit before the range (reachable from both ends), lower-cased. */
async function earlierAuthors(gitDir: string, from: string | null, to: string): Promise<Set<string>> {
  return from ? git.authorEmailsReachableFrom(gitDir, await git.mergeBases(gitDir, to, from)) : new Set<string>();
}

/** Each author's first listed change, for authors with no commit before the range. */
function newContributors(changes: NoteChange[], earlier: Set<string>): NoteChange[] {
  const seen = new Set<string>();
  const firsts: NoteChange[] = [];
  for (const change of changes) {
    const key = change.author.email.toLowerCase();
    if (seen.has(key) || earlier.has(key)) continue;
    seen.add(key);
    firsts.push(change);
  }
  return firsts;
}

export async function generateReleaseNotes(
  ctx: AppContext,
  access: RepoAccess,
  input: GenerateNotesInput,
  options: GenerateNotesOptions = {},
): Promise<{ name: string; body: string }> {
  requirePermission(access, 'push');
  const gitDir = gitDirFor(ctx, access.repo);
  const target = await resolveTarget(ctx, gitDir, access, input);
  // Independent git reads run side by side: process start-up dominates on small ranges.
  const [previousResult, configResult] = await Promise.allSettled([resolvePrevious(ctx, gitDir, access, input, target), loadConfig(gitDir, target, input.configuration_file_path)]);
  // Settled in a fixed order so that a request with two problems always reports the same one.
  if (previousResult.status === 'rejected') throw previousResult.reason;
  if (configResult.status === 'rejected') throw configResult.reason;
  const previous = previousResult.value;
  const { config, path } = configResult.value;
  const from = previous?.sha ?? null;
  const [all, earlier] = await Promise.all([readChanges(ctx, gitDir, from, target.sha), earlierAuthors(gitDir, from, target.sha)]);
  const changes = includedChanges(config, all);
  const web = options.webUrl ?? ctx.config.externalUrl ?? `http://${ctx.config.host}:${ctx.config.port}`;
  const repoUrl = `${web}/${access.owner.login}/${access.repo.name}`;
  const tag = encodeRef(input.tag_name);
  const body = renderNotes(
    {
      repoUrl,
      configuration: path ? { path, ref: target.ref } : null,
      sections: categorise(config, changes),
      newContributors: newContributors(changes, earlier),
      fullChangelogUrl: previous ? `${repoUrl}/compare/${encodeRef(previous.tag)}...${tag}` : `${repoUrl}/commits/${tag}`,
    },
    options.maxLength,
  );
  return { name: input.tag_name, body };
}
