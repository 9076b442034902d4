/**
 * @module services/push-events
 * What a push changed, as seen by Wharf's own smart-HTTP handler (refs before vs after), delivered
 * to whoever registered interest (the releases service keeps releases consistent with tags).
 */
import type { Repository } from '../db/schema.ts';

export interface RefChange {
  ref: string;
  before: string | null;
  after: string | null;
}

export type PushListener = (repo: Repository, changes: RefChange[]) => Promise<void>;

export class PushListeners {
  readonly #listeners: PushListener[] = [];

  add(listener: PushListener): void {
    this.#listeners.push(listener);
  }

  async emit(repo: Repository, changes: RefChange[]): Promise<void> {
    for (const listener of this.#listeners) await listener(repo, changes);
  }
}
