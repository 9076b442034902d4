/**
 * @module util/group-commit
 * Makes the work of concurrent writers durable with one commit. A durable commit costs an fsync
 * (and, on SQLite, holds the one write connection and the thread requests run on): writers that
 * arrive while one commit is under way go into the next, together, and each gets its own result
 * once that commit is done — a writer still learns of success only after its work is durable.
 *
 * When a shared commit fails (one writer's rows refused, say), each writer of that group is
 * committed on its own (`alone`), so a writer fails for its own work only. Used by ref intents
 * (`services/ref-intent-commits.ts`) and webhook attempts (`webhooks/delivery.ts`).
 */
export interface GroupCommitOptions<T, R> {
  /** Commits every item together, in one transaction: their results, in order. */
  commit(items: readonly T[]): Promise<R[]>;
  /** Commits one item by itself, after a shared commit of several failed. */
  alone(item: T): Promise<R>;
  /** Awaited before each group is taken, so writers about to arrive can join it (e.g. one turn of the event loop). */
  gather?: () => Promise<void>;
}

interface Waiter<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  readonly #options: GroupCommitOptions<T, R>;
  #waiting: Waiter<T, R>[] = [];
  #committing = false;

  constructor(options: GroupCommitOptions<T, R>) {
    this.#options = options;
  }

  /** Commits `item` with the others waiting: its result, once its commit is done. */
  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      void this.#commitAll();
    });
  }

  async #commitAll(): Promise<void> {
    if (this.#committing) return;
    this.#committing = true;
    try {
      while (this.#waiting.length > 0) {
        await this.#options.gather?.();
        const group = this.#waiting.splice(0);
        let results: R[];
        try {
          results = await this.#options.commit(group.map((w) => w.item));
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          else for (const w of group) await this.#options.alone(w.item).then(w.resolve, w.reject);
          continue;
        }
        group.forEach((w, i) => w.resolve(results[i]!));
      }
    } finally {
      this.#committing = false;
    }
  }
}
