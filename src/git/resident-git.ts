/**
 * @module git/resident-git
 * Long-lived git processes, one of each kind per repository in use: `git cat-file
 * --batch-command` reads objects and `git update-ref --stdin` moves refs, each request a few
 * lines on the process's standard input and its answer read back from its output. Starting a
 * git process is the dearest part of a small write (Node forks synchronously, on the thread that
 * serves every request, and on a loaded machine the fork waits for a CPU); a resident process
 * answers in a fraction of a millisecond.
 *
 * Git reads refs and objects afresh for every command (a missing object makes it look for new
 * packs), so a resident process sees pushes and other writers as a new process would, and
 * `update-ref` takes each ref's lock for every transaction as the one-shot command does: nothing
 * about who may write, or what is atomic, changes.
 *
 * Bounded: at most `WHARF_GIT_MAX_RESIDENTS` processes (the least recently used idle one is ended
 * to make room; when every one is busy the caller runs a one-shot git instead), each ended after
 * `WHARF_GIT_RESIDENT_IDLE_MS` without work. They are started like every git process
 * (`git-processes.ts`: own process group, killed when their server closes and when this process
 * exits), and a process
 * that fails, exits or misses a deadline is stopped (`killGitGroup`, i.e. `git.stopGit`) and
 * forgotten: the next request starts a fresh one.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { killGitGroup, startGitProcess } from './git-processes.ts';

/** Most resident processes at once (both kinds, every repository); setting `WHARF_GIT_MAX_RESIDENTS`. */
let maxResidents = 16;
/** A resident process with nothing to do this long is ended; setting `WHARF_GIT_RESIDENT_IDLE_MS`. */
let idleMs = 15_000;
/** An answer not complete by then means git is stuck: the process is stopped. */
const REQUEST_TIMEOUT_MS = 30_000;

export type ResidentKind = 'objects' | 'refs';

const ARGS: Record<ResidentKind, string[]> = {
  objects: ['cat-file', '--batch-command'],
  refs: ['update-ref', '--stdin'],
};

/** Parses an answer from the start of `buf`: its value and the bytes it took, or null while incomplete. */
export type AnswerParser<T> = (buf: Buffer) => { value: T; used: number } | null;

/** The process ended before answering; `stderr` is what git said. */
export class ResidentGone extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    /** Whether this request was the one git was working on (false: it was queued behind it and never read). */
    readonly current: boolean,
  ) {
    super(message);
  }
}

interface Pending {
  parse: AnswerParser<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

class Resident {
  readonly child: ChildProcessWithoutNullStreams;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private readonly stderr: Buffer[] = [];
  private idleTimer: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  gone = false;
  lastUsed = Date.now();

  constructor(
    readonly key: string,
    readonly gitDir: string,
    kind: ResidentKind,
    env: NodeJS.ProcessEnv,
    private readonly onGone: (r: Resident) => void,
  ) {
    this.child = startGitProcess(['--git-dir', gitDir, ...ARGS[kind]], env, gitDir);
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 64) this.stderr.push(chunk);
    });
    this.child.stdin.on('error', () => undefined); // it may exit with input still unread
    this.child.once('error', (err) => this.fail(`cannot run git: ${err.message}`));
    this.child.once('close', (code) => this.fail(`git ${ARGS[kind][0]} exited (${code ?? 'signal'})`));
    this.armIdle();
  }

  get busy(): boolean {
    return this.pending.length > 0;
  }

  request<T>(input: string, parse: AnswerParser<T>): Promise<T> {
    if (this.gone) return Promise.reject(new ResidentGone('git process has exited', '', false));
    this.lastUsed = Date.now();
    this.clearIdle();
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ parse, resolve: resolve as (v: unknown) => void, reject });
      if (!this.deadline) this.armDeadline();
      this.child.stdin.write(input);
    });
  }

  stop(): void {
    killGitGroup(this.child);
    this.fail('git process stopped');
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.pending.length) {
      const answer = this.pending[0]!.parse(this.buffer);
      if (!answer) break;
      this.buffer = this.buffer.subarray(answer.used);
      this.pending.shift()!.resolve(answer.value);
      this.clearDeadline();
      if (this.pending.length) this.armDeadline();
    }
    if (!this.pending.length) this.armIdle();
  }

  private fail(message: string): void {
    if (this.gone) return;
    this.gone = true;
    this.clearIdle();
    this.clearDeadline();
    killGitGroup(this.child);
    const stderr = Buffer.concat(this.stderr).toString('utf8');
    const waiting = this.pending.splice(0);
    waiting.forEach((p, i) => p.reject(new ResidentGone(stderr.trim() ? `${message}: ${stderr.trim()}` : message, stderr, i === 0)));
    this.onGone(this);
  }

  private armIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => this.stop(), idleMs);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private armDeadline(): void {
    this.deadline = setTimeout(() => this.stop(), REQUEST_TIMEOUT_MS);
    this.deadline.unref();
  }

  private clearDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }
}

const residents = new Map<string, Resident>();

/**
 * Sets the pool's bounds. Processes already running keep their idle timer until their next
 * request; a smaller pool shrinks as idle ones are ended to make room.
 */
export function configureResidents(limits: { maxResidents: number; residentIdleMs: number }): void {
  maxResidents = limits.maxResidents;
  idleMs = limits.residentIdleMs;
}

/**
 * The resident process of `kind` for `gitDir`, started if needed; null when the pool is full of
 * busy processes (the caller then runs a one-shot git).
 */
export function residentFor(gitDir: string, kind: ResidentKind, env: NodeJS.ProcessEnv): { request: Resident['request'] } | null {
  const dir = path.resolve(gitDir);
  const key = `${kind}\0${dir}`;
  const existing = residents.get(key);
  if (existing && !existing.gone) return existing;
  if (residents.size >= maxResidents && !evictIdle()) return null;
  const resident = new Resident(key, dir, kind, env, (r) => {
    if (residents.get(r.key) === r) residents.delete(r.key);
  });
  residents.set(key, resident);
  return resident;
}

/** Ends the least recently used idle process; false when every one is busy. */
function evictIdle(): boolean {
  let oldest: Resident | null = null;
  for (const r of residents.values()) if (!r.busy && (!oldest || r.lastUsed < oldest.lastUsed)) oldest = r;
  oldest?.stop();
  return oldest !== null;
}

/**
 * Stops the resident processes of `dir` and every repository below it (a repository deleted, a
 * server closing its repositories). Their waiting requests fail with `ResidentGone`.
 */
export function stopResidentsUnder(dir: string): number {
  const base = path.resolve(dir);
  let stopped = 0;
  for (const r of [...residents.values()]) {
    if (r.gitDir === base || r.gitDir.startsWith(base + path.sep)) {
      r.stop();
      stopped++;
    }
  }
  return stopped;
}

/** How many resident processes are running (tests check that none outlives its server). */
export function residentCount(): number {
  return residents.size;
}

/** A parser for an answer of `lines` lines. */
export function lineAnswer(lines: number): AnswerParser<string[]> {
  return (buf) => {
    let end = -1;
    for (let i = 0; i < lines; i++) {
      end = buf.indexOf(10, end + 1);
      if (end < 0) return null;
    }
    return { value: buf.subarray(0, end).toString('utf8').split('\n'), used: end + 1 };
  };
}
