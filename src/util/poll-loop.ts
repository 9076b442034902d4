/**
 * @module util/poll-loop
 * The loop behind Wharf's background workers that take work from the database with leases (the
 * outbox consumers, webhook delivery): run one round, wait as long as the round says, run again.
 * Rounds never overlap; `wake()` asks for the next round at once (a worker slot freed), and a
 * wake during a round runs another right after it. A failed round is logged and retried after
 * `idleMs`. `stop()` waits for the round in progress.
 */
export interface PollLoopOptions {
  /** Wait after a round that failed (and the usual wait when idle). */
  idleMs: number;
  onError: (err: unknown) => void;
}

export class PollLoop {
  readonly #round: () => Promise<number>;
  readonly #options: PollLoopOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #wokenDuringRound = false;
  #stopped = true;

  /** `round` does one round of work and returns how long to wait before the next (ms). */
  constructor(round: () => Promise<number>, options: PollLoopOptions) {
    this.#round = round;
    this.#options = options;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Runs the next round as soon as possible. */
  wake(): void {
    if (this.#running) this.#wokenDuringRound = true;
    else this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#run();
    }, delay);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    this.#wokenDuringRound = false;
    let delay = this.#options.idleMs;
    try {
      delay = await this.#round();
    } catch (err) {
      this.#options.onError(err);
    }
    this.#running = null;
    this.#schedule(this.#wokenDuringRound ? 0 : delay);
  }
}
