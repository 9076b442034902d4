/**
 * @module git/git-slots
 * One bounded pool of git processes per Wharf process, shared fairly between callers. Every git
 * process Wharf starts first takes a slot: short commands (a ref read, a log) from one pool, long
 * streams (clone, fetch, push, archives) from another, so a command never waits behind the
 * streams that may themselves be waiting on it (a push's hook asks Wharf, which runs git).
 *
 * Waiting callers are served round-robin by caller (a user, or an anonymous client address): one
 * GraphQL query starting 250 git reads waits behind itself, not in front of everyone else. A
 * caller that waits longer than the queue timeout for others is refused with 503 and
 * `Retry-After` (load shed on purpose, not a dropped connection), and a request whose client went
 * away gives up its place at once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { OverloadedError } from '../domain/errors.ts';

/** Who is asking for git work, and a signal that fires when that request is abandoned. */
export interface GitCaller {
  key: string;
  signal: AbortSignal;
}

const callers = new AsyncLocalStorage<GitCaller>();

/** Runs `fn` (and everything it starts) on behalf of `caller`. */
export function runAsCaller<T>(caller: GitCaller, fn: () => T): T {
  return callers.run(caller, fn);
}

export function currentCaller(): GitCaller | undefined {
  return callers.getStore();
}

/** Background work (start-up, reconciliation, sweepers): never refused, never abandoned. */
const WHARF = 'wharf';

interface Waiter {
  grant: (release: () => void) => void;
  fail: (err: Error) => void;
  /** Starts the queue timeout (once this waiter is the first of its caller's line). */
  startClock: () => void;
}

export class Slots {
  private running = 0;
  /** Waiters per caller, in arrival order; callers in the order they are served next. */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(
    private max: number,
    private queueTimeoutMs: number,
  ) {}

  configure(max: number, queueTimeoutMs: number): void {
    this.max = max;
    this.queueTimeoutMs = queueTimeoutMs;
    this.dispatch();
  }

  get busy(): number {
    return this.running;
  }

  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /**
   * Resolves with a release function once a slot is free; the caller must call it exactly once.
   *
   * The queue timeout is the caller's wait for others, not for itself: its clock runs for the
   * first of a caller's waiting requests only (the next to be served when the caller's turn comes),
   * so a GraphQL query's 250th read is not refused for having waited behind the 249 before it. When
   * that first one times out, the caller's whole line does (everything behind it would wait as
   * long): all are refused at once, with 503 and `Retry-After`.
   */
  acquire(caller: GitCaller | undefined): Promise<() => void> {
    if (caller?.signal.aborted) return Promise.reject(new Error('request abandoned'));
    if (this.running < this.max && this.waiting === 0) return Promise.resolve(this.take());
    const key = caller?.key ?? WHARF;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        clearTimeout(timer);
        caller?.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        settle();
        this.leave(key, waiter);
        reject(new Error('request abandoned'));
      };
      const waiter: Waiter = {
        grant: (release) => {
          settle();
          resolve(release);
        },
        fail: (err) => {
          settle();
          reject(err);
        },
        startClock: () => {
          if (!caller || timer) return;
          timer = setTimeout(() => this.refuseLine(key), this.queueTimeoutMs);
          timer.unref();
        },
      };
      caller?.signal.addEventListener('abort', onAbort, { once: true });
      const queue = this.queues.get(key);
      if (queue) queue.push(waiter);
      else {
        this.queues.set(key, [waiter]);
        waiter.startClock();
      }
    });
  }

  /** Takes `waiter` out of `key`'s line; the clock of whoever is first now starts. */
  private leave(key: string, waiter: Waiter): void {
    const queue = this.queues.get(key);
    const i = queue?.indexOf(waiter) ?? -1;
    if (!queue || i < 0) return;
    queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(key);
    else queue[0]!.startClock();
  }

  /** The first of `key`'s line waited the queue timeout: the whole line is refused. */
  private refuseLine(key: string): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    this.queues.delete(key);
    const retryAfter = Math.max(1, Math.ceil(this.queueTimeoutMs / 1000));
    for (const waiter of queue) waiter.fail(new OverloadedError('Too many git operations are running; retry later', retryAfter));
  }

  private take(): () => void {
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.dispatch();
    };
  }

  /** Gives free slots to the next caller in turn, each caller then going to the back of the line. */
  private dispatch(): void {
    while (this.running < this.max && this.queues.size > 0) {
      const [key, queue] = this.queues.entries().next().value as [string, Waiter[]];
      const waiter = queue.shift()!;
      this.queues.delete(key);
      if (queue.length > 0) {
        this.queues.set(key, queue);
        queue[0]!.startClock();
      }
      waiter.grant(this.take());
    }
  }
}

/** Short git commands (ref reads, logs, object reads): each holds its slot for one process. */
export const commandSlots = new Slots(16, 5_000);
/** Long git streams (smart HTTP, archives): each holds its slot while it streams. */
export const streamSlots = new Slots(16, 5_000);

export interface GitLimits {
  maxProcesses: number;
  maxStreams: number;
  queueTimeoutMs: number;
}

export function configureGitSlots(limits: GitLimits): void {
  commandSlots.configure(limits.maxProcesses, limits.queueTimeoutMs);
  streamSlots.configure(limits.maxStreams, limits.queueTimeoutMs);
}
