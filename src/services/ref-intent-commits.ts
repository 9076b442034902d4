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
 * committed on their own, so a writer fails for its own rows only (`util/group-commit.ts`).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { insertRefIntents, type NewRefIntent } from '../db/repos/refs-repo.ts';
import { GroupCommit } from '../util/group-commit.ts';

/** One shared commit per database handle: the writers of one process. */
function intentCommits(db: Kysely<Database>): GroupCommit<readonly NewRefIntent[], number[]> {
  return new GroupCommit({
    commit: (groups) =>
      db.transaction().execute(async (trx) => {
        const made: number[][] = [];
        for (const intents of groups) made.push(await insertRefIntents(trx, intents));
        return made;
      }),
    alone: (intents) => insertRefIntents(db, intents),
  });
}

const writers = new WeakMap<Kysely<Database>, GroupCommit<readonly NewRefIntent[], number[]>>();

/** Inserts `intents` and commits them (with those of concurrent writers): their ids, in order. */
export function commitRefIntents(db: Kysely<Database>, intents: readonly NewRefIntent[]): Promise<number[]> {
  if (intents.length === 0) return Promise.resolve([]);
  let writer = writers.get(db);
  if (!writer) {
    writer = intentCommits(db);
    writers.set(db, writer);
  }
  return writer.submit(intents);
}
