/**
 * @module http/admission
 * Admission control: at most `maxInProgress` requests of this process are being prepared at once,
 * up to `queueSize` more wait their turn (first come, first served) for at most `queueTimeoutMs`,
 * and anything beyond is answered at once with `503` and `Retry-After` — GitHub's JSON error on
 * the API, the HTML error page on pages. Without it, a server past its capacity keeps accepting
 * work it cannot finish within any client's timeout: every answer comes late, and clients that
 * gave up see no answer at all. Shed requests cost a few microseconds and say when to retry.
 *
 * A request holds its place while its answer is being prepared: from its headers to the moment its
 * answer is handed over for sending (or it ends). Moving bytes afterwards (a download, an archive)
 * does not hold it, nor does receiving an upload's body once the route has checked it
 * (`leaveAdmission`): those are bounded by the connection limit and the body watch, and a few large
 * uploads must not shut out every reader. Health checks and metrics are never shed, so a balancer
 * or a scraper still sees a loaded node as alive.
 *
 * Work is also spread over turns of the event loop (`util/loop-turns.ts`): a turn starts requests
 * for at most `TURN_BUDGET_MS`, and those read after that wait in the same queue for a later
 * turn. Node takes one new connection from the kernel per turn, so a turn that prepared every
 * request its busy keep-alive connections sent (a few hundred SQLite reads) left new connections
 * waiting, unseen and unanswered, in the kernel's accept queue for seconds. Short turns take them
 * in promptly, and their requests then wait where admission sees them: in order, with the queue
 * timeout.
 *
 * The budget is per process, held in memory: it protects this process's CPU and event loop, which
 * is what it measures. Several nodes each have their own; nothing else depends on it.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { OverloadedError } from '../domain/errors.ts';
import { turnHasBudget } from '../util/loop-turns.ts';

export interface AdmissionLimits {
  /** Requests being prepared at once; 0: no limit. */
  maxInProgress: number;
  /** Shed a request read after the event loop has been busy this long without a break; 0: never. */
  maxLoopDelayMs: number;
  /** Requests waiting for a place at most; beyond, `503` at once. */
  queueSize: number;
  /** Longest wait for a place; then `503`. */
  queueTimeoutMs: number;
}

/** Paths never shed: liveness, readiness and metrics must answer on a loaded node. */
const EXEMPT = new Set(['/healthz', '/readyz', '/metrics']);

export type ShedReason = 'queue_full' | 'queue_timeout' | 'loop_delay';

/** How often the event loop is looked at. */
const LOOP_SAMPLE_MS = 50;

/**
 * How long the event loop has been busy without a break: a timer ticks every `LOOP_SAMPLE_MS`, and
 * a tick overdue by more than the limit means the loop has been running one stretch of work that
 * long. Requests answered without waiting on anything (SQLite reads) never show in the count of
 * requests in progress: during such a stretch, the requests behind it wait unread in the kernel,
 * and one read at its end has waited about as long. Only the stretch still running counts: once
 * the loop has had a break, a request arriving afterwards waited for nothing.
 */
class LoopStretch {
  private last = performance.now();
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    if (this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => {
      this.last = performance.now();
    }, LOOP_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Milliseconds the loop has been busy without a break, beyond one tick. */
  current(): number {
    return this.timer ? Math.max(0, performance.now() - this.last - LOOP_SAMPLE_MS) : 0;
  }
}

interface Waiter {
  admit(): void;
  timer: NodeJS.Timeout;
}

export class Admission {
  private inProgress = 0;
  private readonly waiting = new Set<Waiter>();
  private readonly shed: Record<ShedReason, number> = { queue_full: 0, queue_timeout: 0, loop_delay: 0 };
  private readonly loop = new LoopStretch();
  /** `setImmediate` callbacks pending that each admit the longest waiter, budget allowing. */
  private slotsPending = 0;
  private nextTurn: NodeJS.Timeout | null = null;
  /** Seconds a shed request is told to wait before retrying. */
  readonly retryAfterSeconds: number;

  constructor(readonly limits: AdmissionLimits) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(limits.queueTimeoutMs / 1000));
  }

  /** Starts sampling the event loop (when a delay limit is set); `stop` ends it. */
  start(): void {
    if (this.limits.maxLoopDelayMs > 0) this.loop.start();
  }

  stop(): void {
    this.loop.stop();
    if (this.nextTurn) clearTimeout(this.nextTurn);
    this.nextTurn = null;
  }

  /** Requests holding a place now. */
  get running(): number {
    return this.inProgress;
  }

  /** Requests waiting for a place now. */
  get queued(): number {
    return this.waiting.size;
  }

  /** Requests shed since start, by why. */
  shedCount(reason: ShedReason): number {
    return this.shed[reason];
  }

  /**
   * A place for one request: resolves with the function that gives it back (call it once), or
   * rejects with `OverloadedError` when the queue is full or the wait ran out. Thrown at once
   * (not a rejected promise) when the queue is full, so a shed request costs no further turn.
   * The wait is counted from here: the request's headers have just been read.
   */
  enter(): Promise<() => void> | (() => void) {
    const { maxInProgress, maxLoopDelayMs, queueSize, queueTimeoutMs } = this.limits;
    // The loop has been busy this long without a break: this request waited about that long before
    // it was even read, and those behind it wait longer. A refusal costs microseconds and lets the
    // loop catch up.
    if (maxLoopDelayMs > 0 && this.loop.current() > maxLoopDelayMs) {
      this.shed.loop_delay++;
      throw this.refusal();
    }
    if (maxInProgress === 0) return this.take();
    const placeFree = this.inProgress < maxInProgress;
    // First come, first served: nobody passes a request already waiting.
    if (placeFree && this.waiting.size === 0 && turnHasBudget()) return this.take();
    // Waiting for a place is bounded by the queue's size; waiting for a later turn only by the
    // timeout (each connection has at most one request being prepared).
    if (!placeFree && this.waiting.size >= queueSize) {
      this.shed.queue_full++;
      throw this.refusal();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          this.waiting.delete(waiter);
          resolve(this.take());
        },
        timer: setTimeout(() => {
          this.waiting.delete(waiter);
          this.shed.queue_timeout++;
          reject(this.refusal());
        }, queueTimeoutMs),
      };
      this.waiting.add(waiter);
      this.offerSlots();
    });
  }

  private take(): () => void {
    this.inProgress++;
    return this.releaser();
  }

  /**
   * One `setImmediate` callback per waiter: each admits the longest waiter if a place is free and
   * the turn has budget left. Callbacks of their own, because a request started runs its
   * synchronous part in the microtasks after the callback that admitted it: the next callback
   * then sees the time it took.
   */
  private offerSlots(): void {
    while (this.slotsPending < this.waiting.size) {
      this.slotsPending++;
      setImmediate(this.slot);
    }
  }

  private readonly slot = (): void => {
    this.slotsPending--;
    const next = this.waiting.values().next();
    // No waiter, or no place: a place given back offers slots again.
    if (next.done || this.inProgress >= this.limits.maxInProgress) return;
    if (turnHasBudget()) {
      next.value.admit();
      return;
    }
    // The turn is spent: the waiters' slots are offered again in the next turn, once the loop
    // has polled the sockets (and taken in a new connection).
    this.nextTurn ??= setTimeout(() => {
      this.nextTurn = null;
      this.offerSlots();
    }, 0);
  };

  /** Gives a place back once; the longest waiter gets it in a slot of its own. */
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inProgress--;
      this.offerSlots();
    };
  }

  private refusal(): OverloadedError {
    return new OverloadedError('Server is busy; retry later', this.retryAfterSeconds);
  }
}

const byContext = new WeakMap<AppContext, Admission>();

/** The admission budget of one server (one per app: several in one process keep theirs apart). */
export function admissionFor(ctx: AppContext): Admission {
  let admission = byContext.get(ctx);
  if (!admission) {
    admission = new Admission(ctx.config.admission);
    byContext.set(ctx, admission);
  }
  return admission;
}

const places = new WeakMap<FastifyRequest, () => void>();

/** Requests refused a place ahead of Fastify (`enterAhead`): Fastify's way answers the refusal without counting it again. */
const refusedAhead = new WeakMap<IncomingMessage, OverloadedError>();

/**
 * A place for a request answered ahead of Fastify (`http/remembered-reads.ts`), taken as any
 * request takes it: at once, or after waiting its turn in the same queue. Null when it is refused
 * (queue full, waited too long, the event loop stretched): the refusal is counted here, once, and
 * kept for Fastify's way, whose admission step then answers it (503) instead of asking again.
 * At once (no promise) when a place is free.
 */
export function enterAhead(admission: Admission, req: IncomingMessage): (() => void) | null | Promise<(() => void) | null> {
  let entered: ReturnType<Admission['enter']>;
  try {
    entered = admission.enter();
  } catch (err) {
    return refusedBeforeFastify(req, err);
  }
  return typeof entered === 'function' ? entered : entered.catch((err: unknown) => refusedBeforeFastify(req, err));
}

function refusedBeforeFastify(req: IncomingMessage, err: unknown): null {
  if (!(err instanceof OverloadedError)) throw err;
  refusedAhead.set(req, err);
  return null;
}

/** True for requests admission never sheds. */
export function exemptFromAdmission(request: FastifyRequest): boolean {
  return EXEMPT.has(request.url.split('?')[0] ?? '');
}

/**
 * The root `onRequest` step: waits for a place (or throws `OverloadedError`, which each part of the
 * server answers in its own shape), and gives the place back once the answer is handed over for
 * sending or the request ends, whichever comes first.
 */
export async function admit(admission: Admission, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (exemptFromAdmission(request)) return;
  const refused = refusedAhead.get(request.raw);
  if (refused) throw refused;
  let ended = false;
  reply.raw.once('close', () => {
    ended = true;
    leaveAdmission(request);
  });
  const entered = admission.enter();
  const release = typeof entered === 'function' ? entered : await entered;
  // The client left while it waited: its place goes to the next one at once.
  if (ended) return release();
  places.set(request, release);
}

/** Gives the request's place back (idempotent): its answer is on its way, or it now only moves bytes. */
export function leaveAdmission(request: FastifyRequest): void {
  const release = places.get(request);
  if (!release) return;
  places.delete(request);
  release();
}
