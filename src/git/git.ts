/**
 * @module git/git
 * The one module that runs the git CLI. Trusted arguments (sub-commands, options) are written in
 * code; user-supplied values (refs, tag names, paths) pass through `userValue()`, which refuses a
 * leading `-` so a value can never be read as an option. Every process takes a slot of the bounded
 * pool (`git-slots.ts`), has a deadline, and is killed when the request it works for is abandoned.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { killGitGroup, startGitProcess } from './git-processes.ts';
import { commandSlots, configureGitSlots, currentCaller, streamSlots } from './git-slots.ts';
import { isValidRefName } from './ref-format.ts';
import { readRefFile } from './ref-files.ts';
import { configureResidents, lineAnswer, residentFor, ResidentGone, stopResidentsUnder, type AnswerParser } from './resident-git.ts';
import { waitForTurn } from '../util/loop-turns.ts';

export class GitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 60_000;

/** Environment for every git process: no user or system config, no prompts, fixed locale. */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/** Guards a user-supplied value that ends up as a positional argument. */
export function userValue(value: string): string {
  if (value.startsWith('-') || value.includes('\0')) throw new GitError(`refusing git argument "${value}"`, null, '');
  return value;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Exit codes that are answers rather than failures (for example 1 from `rev-parse --verify`). */
  okExitCodes?: number[];
  /** Most stdout bytes collected; git is killed and the call fails past it (default 64 MiB). */
  maxOutputBytes?: number;
}

/** Collected git output is capped: a repository's content must not decide Wharf's memory. */
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export interface RunResult {
  stdout: Buffer;
  exitCode: number;
}

let defaultTimeoutMs = DEFAULT_TIMEOUT_MS;
let streamTimeoutMs = 3_600_000;

/** The pool sizes and deadlines of every git process this process starts (settings `WHARF_GIT_*`). */
export function configureGit(limits: {
  maxProcesses: number;
  maxStreams: number;
  queueTimeoutMs: number;
  timeoutMs: number;
  streamTimeoutMs: number;
  maxResidents: number;
  residentIdleMs: number;
}): void {
  configureGitSlots(limits);
  configureResidents(limits);
  defaultTimeoutMs = limits.timeoutMs;
  streamTimeoutMs = limits.streamTimeoutMs;
}

/** Runs `git --git-dir=<gitDir> <args…>` and collects its output. */
export async function runGit(gitDir: string | null, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const caller = currentCaller();
  const release = await commandSlots.acquire(caller);
  try {
    // Starting a process blocks the event loop: one turn starts only so many.
    await waitForTurn();
    return await runGitNow(gitDir, args, options, caller?.signal);
  } finally {
    release();
  }
}

function runGitNow(gitDir: string | null, args: string[], options: RunOptions, abandoned: AbortSignal | undefined): Promise<RunResult> {
  const fullArgs = gitDir ? ['--git-dir', gitDir, ...args] : args;
  return new Promise((resolve, reject) => {
    if (abandoned?.aborted) {
      reject(new GitError('request abandoned', null, ''));
      return;
    }
    const child = startGitProcess(fullArgs, gitEnv(options.env), gitDir);
    // The request it works for was abandoned (the client went away): nobody needs the answer.
    const onAbandoned = () => killGitGroup(child);
    abandoned?.addEventListener('abort', onAbandoned, { once: true });
    child.once('close', () => abandoned?.removeEventListener('abort', onAbandoned));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    let outBytes = 0;
    let overflow = false;
    const timer = setTimeout(() => killGitGroup(child), options.timeoutMs ?? defaultTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      if (overflow) return;
      outBytes += chunk.length;
      if (outBytes > maxOutput) {
        overflow = true;
        out.length = 0;
        killGitGroup(child);
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new GitError(`cannot run git: ${e.message}`, null, ''));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (overflow) {
        reject(new GitError(`git ${args[0]} wrote more than ${maxOutput} bytes`, null, ''));
        return;
      }
      const exitCode = code ?? -1;
      const stderr = Buffer.concat(err).toString('utf8');
      if (exitCode === 0 || options.okExitCodes?.includes(exitCode)) {
        resolve({ stdout: Buffer.concat(out), exitCode });
      } else {
        reject(new GitError(`git ${args[0]} failed (${exitCode}): ${stderr.trim()}`, exitCode, stderr));
      }
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all input
    child.stdin.end(options.input ?? '');
  });
}

async function text(gitDir: string, args: string[], options?: RunOptions): Promise<string> {
  return (await runGit(gitDir, args, options)).stdout.toString('utf8');
}

/** Kills a process `spawnGit` started, with everything it started in turn (once it has exited: nothing). */
export const stopGit = killGitGroup;

/**
 * Stops the resident git processes (`resident-git.ts`) working in `dir` or any repository below
 * it: before a repository's directory is removed or made afresh, and when a server closes.
 */
export function stopResidentGit(dir: string): void {
  stopResidentsUnder(dir);
}

/**
 * Starts a long-running git process whose output is streamed (archives, smart HTTP), once a
 * stream slot is free. It (with everything it starts) is killed at its deadline and when the
 * request it serves is abandoned, and gives its slot back when it exits. `root` is the directory
 * it works in when `gitDir` is null (smart HTTP's project root), for `killGitUnder` at close.
 */
export async function spawnGit(gitDir: string | null, args: string[], env: Record<string, string> = {}, root: string | null = gitDir): Promise<ChildProcess> {
  const caller = currentCaller();
  const release = await streamSlots.acquire(caller);
  // Abandoned while its slot was being granted: nobody is left to read what git would write.
  if (caller?.signal.aborted) {
    release();
    throw new Error('request abandoned');
  }
  const fullArgs = gitDir ? ['--git-dir', gitDir, ...args] : args;
  let child: ChildProcess;
  try {
    child = startGitProcess(fullArgs, gitEnv(env), root);
  } catch (err) {
    release();
    throw err;
  }
  const kill = () => killGitGroup(child);
  const timer = setTimeout(kill, streamTimeoutMs);
  timer.unref();
  caller?.signal.addEventListener('abort', kill, { once: true });
  const done = () => {
    clearTimeout(timer);
    caller?.signal.removeEventListener('abort', kill);
    release();
  };
  child.once('close', done);
  child.once('error', done);
  return child;
}

export async function initBare(gitDir: string, defaultBranch: string): Promise<void> {
  await mkdir(gitDir, { recursive: true, mode: 0o700 });
  // `--shared=0600`: git itself keeps every file it writes here, pushes included, 0600 (and
  // directories 0700) whatever the process umask; repositories may hold private code.
  await runGit(null, ['init', '--bare', '--quiet', '--shared=0600', `--initial-branch=${userValue(defaultBranch)}`, gitDir]);
  // Smart HTTP pushes are authorised by Wharf itself before git runs.
  await runGit(gitDir, ['config', 'http.receivepack', 'true']);
  await runGit(gitDir, ['config', 'receive.denyNonFastForwards', 'false']);
}

/** Whether `name` is a valid tag name by git's own rules (`git check-ref-format`). */
export async function isValidTagName(name: string): Promise<boolean> {
  if (name.length === 0 || name.length > 255 || name.startsWith('-')) return false;
  return isValidRefName(`refs/tags/${name}`);
}

/** Whether `name` is a valid branch name by git's rules. */
export async function isValidBranchName(name: string): Promise<boolean> {
  if (name.length === 0 || name.length > 255 || name.startsWith('-')) return false;
  return isValidRefName(`refs/heads/${name}`);
}

/** Resolves a ref expression to a commit SHA, or null when it names no commit. */
export async function resolveCommit(gitDir: string, ref: string): Promise<string | null> {
  if (ref.startsWith('-') || ref.includes('\0')) return null;
  const { stdout, exitCode } = await runGit(gitDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
    okExitCodes: [1, 128],
  });
  return exitCode === 0 ? stdout.toString('utf8').trim() : null;
}

export interface RefInfo {
  /** Full ref name, e.g. `refs/tags/v1.0.0`. */
  ref: string;
  /** The object the ref points at (a tag object for annotated tags). */
  sha: string;
  type: 'commit' | 'tag' | 'tree' | 'blob';
  /** The commit an annotated tag peels to; equals `sha` for refs pointing at commits. */
  commitSha: string;
}

/** Lists refs under a prefix such as `refs/tags/` or `refs/heads/`, sorted by name. */
export async function listRefs(gitDir: string, prefix: string): Promise<RefInfo[]> {
  const out = await text(gitDir, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)', '--', prefix]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ref = '', sha = '', type = 'commit', peeled = ''] = line.split('\0');
      return { ref, sha, type: type as RefInfo['type'], commitSha: peeled || sha };
    });
}

export async function getRef(gitDir: string, fullRef: string): Promise<RefInfo | null> {
  const refs = await listRefs(gitDir, fullRef);
  return refs.find((r) => r.ref === fullRef) ?? null;
}

/**
 * Creates `fullRef` at `sha` only if it does not exist yet. The empty old-value makes
 * `update-ref` take the ref's lock file and fail atomically when another writer got there first,
 * which holds across processes and across nodes sharing the repositories over a filesystem with
 * atomic exclusive create (local disks, NFSv3+). Returns false on that lost race.
 *
 * The transaction goes to the repository's resident `git update-ref --stdin` (`resident-git.ts`)
 * when there is one to be had, else to a one-shot `git update-ref`: the same command either way.
 */
export async function createRefIfAbsent(gitDir: string, fullRef: string, sha: string): Promise<boolean> {
  const ref = userValue(fullRef);
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(sha)) throw new GitError(`refusing object id "${sha}"`, null, '');
  let failure: { exitCode: number | null; stderr: string };
  // Ref names go into a line protocol: only names git would accept (no spaces or newlines) take that way.
  const resident = isValidRefName(ref) ? residentFor(gitDir, 'refs', gitEnv()) : null;
  try {
    if (!resident) throw new ResidentGone('no resident git', '', false);
    // A lost race makes git print `fatal: …` and exit (the process is then replaced): no `prepare: ok`.
    await resident.request(`start\ncreate ${ref} ${sha}\nprepare\ncommit\n`, lineAnswer(3));
    return true;
  } catch (err) {
    if (!(err instanceof ResidentGone)) throw err;
    // Never read by git (queued behind a failure, or no process to be had): run it on its own.
    if (!err.current) failure = await runGitWithStderr(gitDir, ['update-ref', '--end-of-options', ref, sha, '']);
    else failure = { exitCode: 128, stderr: err.stderr };
  }
  if (failure.exitCode === 0) return true;
  // Lost the race (the ref exists now, or its lock is held by the winner): not an error.
  if ((await readRef(gitDir, fullRef)) !== null || /\.lock'?: File exists|unable to create .*\.lock|cannot lock ref|reference already exists/i.test(failure.stderr)) return false;
  throw new GitError(`git update-ref failed (${failure.exitCode}): ${failure.stderr.trim()}`, failure.exitCode, failure.stderr);
}

/**
 * The object id `fullRef` points at (following symbolic refs), read from the repository's files
 * without a git process (`ref-files.ts`); null when there is no such ref. A `packed-refs` too big
 * to keep in memory is searched by `git for-each-ref` instead.
 */
export function readRef(gitDir: string, fullRef: string): Promise<string | null> {
  return readRefFile(gitDir, fullRef, async (ref) => (await getRef(gitDir, ref))?.sha ?? null);
}

/** Largest commit or tag object read through the resident process; bigger ones go to `git log`. */
const MAX_RESIDENT_OBJECT = 1024 * 1024;

interface ObjectInfo {
  type: string;
  size: number;
}

const infoAnswer: AnswerParser<ObjectInfo | null> = (buf) => {
  const answer = lineAnswer(1)(buf);
  if (!answer) return null;
  const [, type = '', size = ''] = answer.value[0]!.split(' ');
  const known = /^\d+$/.test(size) && type !== 'missing' && type !== 'ambiguous';
  return { value: known ? { type, size: Number(size) } : null, used: answer.used };
};

const contentsAnswer: AnswerParser<string> = (buf) => {
  const header = buf.indexOf(10);
  if (header < 0) return null;
  const size = Number(buf.subarray(0, header).toString('latin1').split(' ')[2]);
  const end = header + 1 + size + 1;
  if (!Number.isSafeInteger(size) || buf.length < end) return null;
  return { value: buf.subarray(header + 1, header + 1 + size).toString('utf8'), used: end };
};

/** Peeled commits kept (`peelCommit`), over all repositories. */
const PEELED_CACHE_SIZE = 256;
const peeled = new Map<string, Readonly<{ sha: string; date: string | null }>>();

/**
 * The commit `sha` names (peeling annotated tags) and its committer date (ISO 8601, UTC), read
 * through the repository's resident `git cat-file --batch-command`; null when it names no commit.
 * Falls back to a one-shot git when no resident process is to be had or the object is unusual
 * (very large, or a commit whose date git would have to interpret).
 *
 * An object's content never changes, so neither does what it peels to: a found commit is kept per
 * repository and object id, and answers again without asking git (release creation peels the same
 * branch tip request after request). Only for an id just read from a ref (`fromRef`): the object
 * then exists. An id the client gave may name an object `git gc` has pruned since it was kept.
 */
export async function peelCommit(gitDir: string, sha: string, options: { fromRef?: boolean } = {}): Promise<{ sha: string; date: string | null } | null> {
  const key = `${gitDir}\0${sha}`;
  const kept = options.fromRef ? peeled.get(key) : undefined;
  if (kept) {
    peeled.delete(key);
    peeled.set(key, kept);
    return kept;
  }
  const found = await peelCommitWithGit(gitDir, sha);
  if (found) {
    peeled.set(key, Object.freeze(found));
    if (peeled.size > PEELED_CACHE_SIZE) peeled.delete(peeled.keys().next().value!);
  }
  return found;
}

async function peelCommitWithGit(gitDir: string, sha: string): Promise<{ sha: string; date: string | null } | null> {
  const viaLog = async () => {
    const commit = await getCommit(gitDir, sha);
    return commit ? { sha: commit.sha, date: commit.committerDate } : null;
  };
  if (!/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(sha)) return null;
  const resident = residentFor(gitDir, 'objects', gitEnv());
  if (!resident) return viaLog();
  try {
    let id = sha;
    // Tags of tags are peeled one level at a time, as `^{commit}` would.
    for (let depth = 0; depth < 8; depth++) {
      const info = await resident.request(`info ${id}\n`, infoAnswer);
      if (!info || (info.type !== 'commit' && info.type !== 'tag')) return null;
      if (info.size > MAX_RESIDENT_OBJECT) return viaLog();
      const body = await resident.request(`contents ${id}\n`, contentsAnswer);
      const blank = body.indexOf('\n\n');
      const headers = blank < 0 ? body : body.slice(0, blank);
      if (info.type === 'commit') {
        const date = /^committer .* (\d+) [+-]\d{4}$/m.exec(headers);
        if (!date) return viaLog();
        return { sha: id, date: new Date(Number(date[1]) * 1000).toISOString() };
      }
      const target = /^object ([0-9a-f]+)$/m.exec(headers);
      if (!target) return null;
      id = target[1]!;
    }
    return viaLog();
  } catch (err) {
    if (err instanceof ResidentGone) return viaLog();
    throw err;
  }
}

/** Creates `refs/tags/<tag>` at `sha` only if absent; false when another writer got there first. */
export async function createTagIfAbsent(gitDir: string, tag: string, sha: string): Promise<boolean> {
  return createRefIfAbsent(gitDir, `refs/tags/${userValue(tag)}`, sha);
}

async function runGitWithStderr(gitDir: string, args: string[]): Promise<{ exitCode: number; stderr: string }> {
  try {
    const { exitCode } = await runGit(gitDir, args);
    return { exitCode, stderr: '' };
  } catch (err) {
    if (err instanceof GitError && err.exitCode !== null) return { exitCode: err.exitCode, stderr: err.stderr };
    throw err;
  }
}

/**
 * Deletes a ref; returns false when it did not exist. With `expected`, only while it still points
 * there (git checks under the ref's lock), so a ref someone else has moved meanwhile is kept.
 */
export async function deleteRef(gitDir: string, fullRef: string, expected?: string): Promise<boolean> {
  const args = ['update-ref', '-d', '--end-of-options', userValue(fullRef)];
  if (expected) args.push(userValue(expected));
  const { exitCode } = await runGit(gitDir, args, { okExitCodes: [1, 128] });
  return exitCode === 0;
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  authorDate: string;
  committerName: string;
  committerEmail: string;
  committerDate: string;
  message: string;
}

const COMMIT_FORMAT = '%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e';

function parseCommits(out: string): CommitInfo[] {
  return out
    .split('\x1e')
    .map((s) => s.replace(/^\n/, ''))
    .filter((s) => s.length > 0)
    .map((record) => {
      const [sha = '', tree = '', parents = '', an = '', ae = '', ad = '', cn = '', ce = '', cd = '', ...rest] = record.split('\0');
      return {
        sha,
        tree,
        parents: parents ? parents.split(' ') : [],
        authorName: an,
        authorEmail: ae,
        authorDate: ad,
        committerName: cn,
        committerEmail: ce,
        committerDate: cd,
        message: rest.join('\0').replace(/\n$/, ''),
      };
    });
}

export async function getCommit(gitDir: string, sha: string): Promise<CommitInfo | null> {
  // A full object id needs no `rev-parse` first (one git process instead of two: release
  // creation reads its commit's date this way): `git log` peels a tag to its commit and fails
  // (128) on anything that names no commit, where resolving would have returned null.
  if (/^[0-9a-f]{40}$/.test(sha)) {
    const { stdout, exitCode } = await runGit(gitDir, ['log', '-1', `--format=${COMMIT_FORMAT}`, '--end-of-options', sha], { okExitCodes: [128] });
    return exitCode === 0 ? (parseCommits(stdout.toString('utf8'))[0] ?? null) : null;
  }
  const resolved = await resolveCommit(gitDir, sha);
  if (!resolved) return null;
  const out = await text(gitDir, ['log', '-1', `--format=${COMMIT_FORMAT}`, resolved]);
  return parseCommits(out)[0] ?? null;
}

export interface LogOptions {
  /** Commits reachable from `to`… */
  to: string;
  /** …but not from `from` (exclusive), when given. */
  from?: string | null;
  firstParent?: boolean;
  skip?: number;
  maxCount?: number;
}

/** Commits between two resolved SHAs, newest first, in one git process. */
export async function log(gitDir: string, options: LogOptions): Promise<CommitInfo[]> {
  const args = ['log', `--format=${COMMIT_FORMAT}`];
  if (options.firstParent) args.push('--first-parent');
  if (options.skip) args.push(`--skip=${options.skip}`);
  if (options.maxCount !== undefined) args.push(`--max-count=${options.maxCount}`);
  args.push(userValue(options.to));
  if (options.from) args.push(`^${userValue(options.from)}`);
  args.push('--');
  return parseCommits(await text(gitDir, args, { timeoutMs: 120_000 }));
}

/** Reads a file at a commit; null when the path does not exist there. */
export type FileAt = { kind: 'missing' } | { kind: 'tooLarge'; size: number } | { kind: 'file'; bytes: Buffer };

/**
 * A file of a commit, read only when it is at most `maxBytes`: its size is asked first
 * (`git cat-file -s`), so a huge file costs one small answer rather than its whole content in
 * memory, and the read itself is capped too.
 */
export async function readFileAt(gitDir: string, commitSha: string, filePath: string, maxBytes: number): Promise<FileAt> {
  const spec = `${userValue(commitSha)}:${filePath.replace(/^\/+/, '')}`;
  const sized = await runGit(gitDir, ['cat-file', '-s', spec], { okExitCodes: [1, 128] });
  if (sized.exitCode !== 0) return { kind: 'missing' };
  const size = Number(sized.stdout.toString('utf8').trim());
  if (!Number.isFinite(size) || size > maxBytes) return { kind: 'tooLarge', size };
  const { stdout, exitCode } = await runGit(gitDir, ['cat-file', 'blob', spec], { okExitCodes: [1, 128], maxOutputBytes: maxBytes });
  return exitCode === 0 ? { kind: 'file', bytes: stdout } : { kind: 'missing' };
}

export async function setHead(gitDir: string, branch: string): Promise<void> {
  await runGit(gitDir, ['symbolic-ref', 'HEAD', `refs/heads/${userValue(branch)}`]);
}

export interface Identity {
  name: string;
  email: string;
  date?: string;
}

/** Writes a parentless commit with the given files (used by `auto_init`); no ref points at it yet. */
export async function writeInitialCommit(gitDir: string, files: Record<string, string>, who: Identity, message: string): Promise<string> {
  const entries: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const blob = (await text(gitDir, ['hash-object', '-w', '--stdin'], { input: content })).trim();
    entries.push(`100644 blob ${blob}\t${name}`);
  }
  const tree = (await text(gitDir, ['mktree'], { input: entries.join('\n') + '\n' })).trim();
  const identityEnv: Record<string, string> = {
    GIT_AUTHOR_NAME: who.name,
    GIT_AUTHOR_EMAIL: who.email,
    GIT_COMMITTER_NAME: who.name,
    GIT_COMMITTER_EMAIL: who.email,
  };
  if (who.date) {
    identityEnv.GIT_AUTHOR_DATE = who.date;
    identityEnv.GIT_COMMITTER_DATE = who.date;
  }
  return (await text(gitDir, ['commit-tree', tree, '-m', message], { env: identityEnv })).trim();
}

/** Output of a running git process, and how to stop it (and everything it started) early. */
export interface GitStream {
  stream: Readable;
  stop: () => void;
}

/** Streams `git archive` of a commit as tar.gz or zip with the given top folder. */
export async function archive(gitDir: string, commitSha: string, format: 'tar.gz' | 'zip', prefix: string): Promise<GitStream> {
  const child = await spawnGit(gitDir, ['archive', `--format=${format === 'zip' ? 'zip' : 'tar.gz'}`, `--prefix=${prefix}/`, userValue(commitSha)]);
  child.stdin?.end();
  return { stream: child.stdout as Readable, stop: () => killGitGroup(child) };
}

/**
 * The bytes of every file in a commit's tree, added up (`git ls-tree -r -l`): what an archive of
 * it holds before compression, known before a single byte of the archive is made. A tree that
 * repeats one large blob thousands of times is small to push and huge to archive. Null when the
 * listing itself is larger than `maxListingBytes` (millions of files).
 */
export async function treeContentSize(gitDir: string, commitSha: string, maxListingBytes = 16 * 1024 * 1024): Promise<{ bytes: number; files: number } | null> {
  let out: Buffer;
  try {
    out = (await runGit(gitDir, ['ls-tree', '-r', '-l', '-z', '--end-of-options', userValue(commitSha)], { maxOutputBytes: maxListingBytes })).stdout;
  } catch (err) {
    if (err instanceof GitError && err.exitCode === null && /wrote more than/.test(err.message)) return null;
    throw err;
  }
  let bytes = 0;
  let files = 0;
  for (const entry of out.toString('latin1').split('\0')) {
    // `<mode> SP <type> SP <object> SP+ <size> TAB <path>`; submodules have size "-".
    const size = /^\d+ blob [0-9a-f]+ +(\d+)\t/.exec(entry)?.[1];
    if (size) {
      bytes += Number(size);
      files++;
    }
  }
  return { bytes, files };
}

/** Several commits by SHA, in the order given, in one git process (`--no-walk` reads them from stdin). */
export async function commitsBySha(gitDir: string, shas: string[]): Promise<CommitInfo[]> {
  if (shas.length === 0) return [];
  for (const sha of shas) if (!/^[0-9a-f]{40,64}$/.test(sha)) throw new GitError(`not a commit id: "${sha}"`, null, '');
  const out = await text(gitDir, ['log', '--no-walk=unsorted', '--stdin', `--format=${COMMIT_FORMAT}`], { input: shas.join('\n') + '\n', timeoutMs: 120_000 });
  return parseCommits(out);
}

/** The best common ancestors of two commits (several for criss-cross merges; none for unrelated histories). */
export async function mergeBases(gitDir: string, a: string, b: string): Promise<string[]> {
  const { stdout, exitCode } = await runGit(gitDir, ['merge-base', '--all', '--end-of-options', userValue(a), userValue(b)], { okExitCodes: [1] });
  return exitCode === 0 ? stdout.toString('utf8').split('\n').filter(Boolean) : [];
}

/** The distinct author e-mails (lower-cased) of every commit reachable from the given commits. */
export async function authorEmailsReachableFrom(gitDir: string, shas: string[]): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const out = await text(gitDir, ['log', '--format=%ae', ...shas.map(userValue), '--'], { timeoutMs: 120_000 });
  return new Set(
    out
      .split('\n')
      .filter(Boolean)
      .map((e) => e.toLowerCase()),
  );
}

/** The committer date (ISO 8601) of a resolved commit SHA, in one git process. */
export async function committerDate(gitDir: string, sha: string): Promise<string | null> {
  const { stdout, exitCode } = await runGit(gitDir, ['log', '-1', '--format=%cI', userValue(sha), '--'], { okExitCodes: [128] });
  return exitCode === 0 ? stdout.toString('utf8').trim() || null : null;
}

export interface TagSummary extends RefInfo {
  /** Tag name without `refs/tags/`. */
  name: string;
  /** Tagger date for annotated tags, commit date for lightweight ones (ISO-8601). */
  date: string;
  /** First line of the tag message (annotated) or of the commit message (lightweight). */
  subject: string;
}

/** Every tag with its date and subject, in one git process, in git's name order. */
export async function listTags(gitDir: string): Promise<TagSummary[]> {
  const format = '--format=%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(creatordate:iso-strict)%00%(contents:subject)';
  const out = await text(gitDir, ['for-each-ref', format, '--', 'refs/tags/']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ref = '', sha = '', type = 'commit', peeled = '', date = '', subject = ''] = line.split('\0');
      return { ref, sha, type: type as RefInfo['type'], commitSha: peeled || sha, name: ref.slice('refs/tags/'.length), date, subject };
    });
}

/**
 * How to reach a remote repository (pull mirrors): its URL and the git configuration that goes
 * with it (an `Authorization` header, the address the host name is pinned to), passed in the
 * environment (`GIT_CONFIG_*`) so that a token never shows in a process listing.
 */
export interface RemoteAccess {
  url: string;
  config: Record<string, string>;
}

function remoteEnv(remote: RemoteAccess): Record<string, string> {
  // Only http(s), no redirects (each hop would escape the outbound address check), no prompts.
  const config: Record<string, string> = {
    'protocol.allow': 'never',
    'protocol.http.allow': 'always',
    'protocol.https.allow': 'always',
    'http.followRedirects': 'false',
    ...remote.config,
  };
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(Object.keys(config).length) };
  Object.entries(config).forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** The branches and tags a remote advertises (`ref → sha`, peeled lines left out). */
export async function lsRemote(remote: RemoteAccess, timeoutMs: number): Promise<Map<string, string>> {
  const out = (await runGit(null, ['ls-remote', '--heads', '--tags', '--end-of-options', userValue(remote.url)], { env: remoteEnv(remote), timeoutMs })).stdout.toString('utf8');
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, ref] = line.split('\t');
    if (!sha || !ref || ref.endsWith('^{}')) continue;
    refs.set(ref, sha);
  }
  return refs;
}

/**
 * Fetches the objects of `refs` from the remote into `gitDir` without writing any ref (only
 * FETCH_HEAD): the refs door decides and writes the refs afterwards.
 */
export async function fetchObjects(gitDir: string, remote: RemoteAccess, refs: readonly string[], timeoutMs: number): Promise<void> {
  if (refs.length === 0) return;
  await runGit(gitDir, ['fetch', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--stdin', '--end-of-options', userValue(remote.url)], {
    env: remoteEnv(remote),
    timeoutMs,
    input: refs.map((r) => `${userValue(r)}\n`).join(''),
  });
}

/**
 * Moves several refs in one git transaction (all or none), each only from the value it was
 * seen at (`before`, null: must not exist) to `after` (null: deleted).
 */
export async function updateRefs(gitDir: string, changes: ReadonlyArray<{ ref: string; before: string | null; after: string | null }>): Promise<void> {
  if (changes.length === 0) return;
  const zero = '0'.repeat(40);
  const lines = ['start'];
  for (const c of changes) {
    const ref = userValue(c.ref);
    if (c.after === null) lines.push(`delete ${ref} ${c.before ?? ''}`);
    else lines.push(`update ${ref} ${c.after} ${c.before ?? zero}`);
  }
  lines.push('prepare', 'commit');
  await runGit(gitDir, ['update-ref', '--stdin'], { input: `${lines.join('\n')}\n` });
}

/**
 * Writes a git bundle of `revs` (refs to include, `^<sha>` for commits the receiver already has)
 * to `file` (offline bundles). Returns false when there is nothing to bundle (every ref is
 * already in what is excluded): git refuses to write an empty bundle.
 */
export async function createBundle(gitDir: string, file: string, revs: readonly string[], timeoutMs: number): Promise<boolean> {
  if (revs.filter((r) => !r.startsWith('^')).length === 0) return false;
  try {
    await runGit(gitDir, ['bundle', 'create', '--quiet', userValue(file), '--stdin'], {
      input: revs.map((r) => `${r.startsWith('^') ? `^${userValue(r.slice(1))}` : userValue(r)}\n`).join(''),
      timeoutMs,
    });
    return true;
  } catch (err) {
    if (err instanceof GitError && /empty bundle/i.test(err.stderr)) return false;
    throw err;
  }
}

/**
 * Checks a bundle file against `gitDir` (`git bundle verify`): it is a bundle and the commits it
 * builds on are present. The failure's message is git's own.
 */
export async function verifyBundle(gitDir: string, file: string, timeoutMs: number): Promise<void> {
  await runGit(gitDir, ['bundle', 'verify', '--quiet', userValue(file)], { timeoutMs });
}

/** The refs a bundle file carries (`ref → sha`). */
export async function bundleHeads(gitDir: string | null, file: string, timeoutMs: number): Promise<Map<string, string>> {
  const out = (await runGit(gitDir, ['bundle', 'list-heads', userValue(file)], { timeoutMs })).stdout.toString('utf8');
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (sha && ref && /^[0-9a-f]{40,64}$/.test(sha)) refs.set(ref, sha);
  }
  return refs;
}
