/**
 * @module services/push-events
 * What a ref change (a smart-HTTP push, the refs API) did, and the handlers that keep Wharf's
 * own state in step with it (releases follow their tags). Handlers run inside the transaction
 * that records the change's domain events (see services/refs.ts), so the release rows they
 * change and the events describing the push commit together.
 */
import type { Kysely } from 'kysely';
import type { Database, Repository } from '../db/schema.ts';

export interface RefChange {
  ref: string;
  before: string | null;
  after: string | null;
}

export interface RefChangeSet {
  repo: Repository;
  changes: RefChange[];
  /** Who pushed; null when Wharf moved the refs itself. */
  actorId: number | null;
}

export type PushListener = (trx: Kysely<Database>, set: RefChangeSet) => Promise<void>;

export class PushListeners {
  readonly #listeners: PushListener[] = [];

  add(listener: PushListener): void {
    this.#listeners.push(listener);
  }

  async emit(trx: Kysely<Database>, set: RefChangeSet): Promise<void> {
    for (const listener of this.#listeners) await listener(trx, set);
  }
}
