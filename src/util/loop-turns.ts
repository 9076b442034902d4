/**
 * @module util/loop-turns
 * Spreads synchronous work over turns of the event loop. Node takes one new connection from the
 * kernel per turn (after it polled the sockets), so a turn that runs a long stretch of work (a few
 * hundred requests answered from SQLite, sixteen git processes started) leaves new connections
 * waiting in the kernel's accept queue, unseen and unanswered, for as many turns as are ahead of
 * them. A turn starts work for at most `TURN_BUDGET_MS`; work asked for after that waits, in
 * order, for a later turn. Admission control (`http/admission.ts`) spreads requests this way, the
 * git pool the starting of git processes (`waitForTurn`).
 */

/**
 * How long one turn of the event loop starts work before the rest waits for a later turn: short
 * enough that a saturated process still takes in new connections often (a turn is this plus the
 * one piece of work that overran it), long enough that a turn's own cost (polling the sockets)
 * stays small beside it.
 */
export const TURN_BUDGET_MS = 5;

/**
 * The current turn of the event loop: when it started work. It ends in the loop's check phase
 * (`setImmediate`), after the sockets were read; the next piece of work starts a new one.
 */
class Turn {
  private started: number | null = null;

  constructor(private readonly budgetMs: number) {}

  /** Whether work may start now: the turn has budget left (and starts if none is running). */
  hasBudget(): boolean {
    const now = performance.now();
    if (this.started === null) {
      this.started = now;
      setImmediate(() => {
        this.started = null;
      });
      return true;
    }
    return now - this.started < this.budgetMs;
  }
}

/** The event loop is the process's: one turn for every server in it and every kind of work. */
const turn = new Turn(TURN_BUDGET_MS);

/**
 * Other work that is spread over turns, first come, first served: starting a git process blocks
 * the event loop for milliseconds (tens on a loaded machine: Node forks itself), and a pool
 * handing out sixteen slots at once started them all in one turn.
 */
class TurnLine {
  private readonly line: Array<() => void> = [];
  private slotsPending = 0;
  private nextTurn: NodeJS.Timeout | null = null;

  /** Returns at once when the turn has budget left (nothing to await), else a promise of a later turn's. */
  wait(): Promise<void> | undefined {
    if (this.line.length === 0 && turn.hasBudget()) return undefined;
    return new Promise((resolve) => {
      this.line.push(resolve);
      this.offerSlots();
    });
  }

  private offerSlots(): void {
    while (this.slotsPending < this.line.length) {
      this.slotsPending++;
      setImmediate(this.slot);
    }
  }

  /**
   * One `setImmediate` callback per waiter, each starting one piece of work: its synchronous part
   * runs in the microtasks right after the callback, so the next one sees the time it took.
   */
  private readonly slot = (): void => {
    this.slotsPending--;
    if (this.line.length === 0) return;
    if (turn.hasBudget()) {
      this.line.shift()!();
      return;
    }
    // The turn is spent: offered again next turn, once the loop has polled the sockets.
    this.nextTurn ??= setTimeout(() => {
      this.nextTurn = null;
      this.offerSlots();
    }, 0);
  };
}

const line = new TurnLine();

/** Waits, when the event loop's turn has spent its budget, for a later turn (see `TURN_BUDGET_MS`). */
export function waitForTurn(): Promise<void> | undefined {
  return line.wait();
}

/** Whether work may start now: the current turn has budget left (one starts if none is running). */
export function turnHasBudget(): boolean {
  return turn.hasBudget();
}
