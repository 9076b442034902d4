/**
 * @module services/ref-intent-commits
 * Commits ref intents (`ref_intents`, see `services/refs.ts`) of concurrent writers together.
 * Every ref change records its intent in a commit of its own before git is touched, and on SQLite
 * each durable commit holds the one connection (and, its calls being synchronous, the thread
 * every request runs on) for an fsync: sixteen clients creating releases paid sixteen of them
 * back to back. Intents that arrive while one commit is being made go into the next one, each
 * writer getting its own ids back once that commit is done: an intent is still committed before
 * its writer goes on to git, which is the rule that matters.
 *
 * When a shared commit fails (one writer's rows are refused, say), each writer's intents are
 * committed on their own, so a writer fails for its own rows only.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { insertRefIntents, type NewRefIntent } from '../db/repos/refs-repo.ts';

interface Waiting {
  intents: readonly NewRefIntent[];
  resolve: (ids: number[]) => void;
  reject: (err: unknown) => void;
}

class IntentCommits {
  readonly #db: Kysely<Database>;
  #waiting: Waiting[] = [];
  #committing = false;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  insert(intents: readonly NewRefIntent[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ intents, resolve, reject });
      void this.#commitAll();
    });
  }

  async #commitAll(): Promise<void> {
    if (this.#committing) return;
    this.#committing = true;
    try {
      while (this.#waiting.length > 0) {
        const group = this.#waiting.splice(0);
        try {
          const ids = await this.#db.transaction().execute(async (trx) => {
            const made: number[][] = [];
            for (const w of group) made.push(await insertRefIntents(trx, w.intents));
            return made;
          });
          group.forEach((w, i) => w.resolve(ids[i]!));
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          else for (const w of group) await insertRefIntents(this.#db, w.intents).then(w.resolve, w.reject);
        }
      }
    } finally {
      this.#committing = false;
    }
  }
}

const writers = new WeakMap<Kysely<Database>, IntentCommits>();

/** Inserts `intents` and commits them (with those of concurrent writers): their ids, in order. */
export function commitRefIntents(db: Kysely<Database>, intents: readonly NewRefIntent[]): Promise<number[]> {
  if (intents.length === 0) return Promise.resolve([]);
  let writer = writers.get(db);
  if (!writer) {
    writer = new IntentCommits(db);
    writers.set(db, writer);
  }
  return writer.insert(intents);
}
