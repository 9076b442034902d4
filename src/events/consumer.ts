/**
 * @module events/consumer
 * Runs one consumer of the outbox on this node. Any node may run it; a lease in the database
 * (`events:<consumer>`) lets one node at a time work through the consumer's queue, so events are
 * handled in the order they were recorded, and each queue row is leased as well, so an event is
 * never handled by two nodes at once even if the consumer lease changes hands mid-batch. A node
 * that dies mid-event leaves it to the next holder once the leases expire: at least once.
 */
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import type { Database } from '../db/schema.ts';
import { acquire, LEASE_HOLDER, release } from '../services/leases.ts';
import { PollLoop } from '../util/poll-loop.ts';
import { claimEvents, completeEvents, type QueuedEvent } from './outbox.ts';

/** Handles one event inside `trx`; the event counts as handled when the transaction commits. */
export type EventHandler = (trx: Kysely<Database>, queued: QueuedEvent) => Promise<void>;

export interface ConsumerOptions {
  /** How often the queue is polled when idle. */
  pollMs: number;
  /** How long a node keeps the consumer (renewed on every poll) and each claimed event. */
  leaseMs: number;
  batchSize: number;
}

export class EventConsumer {
  readonly #ctx: Pick<AppContext, 'db' | 'log'>;
  readonly #name: string;
  readonly #handler: EventHandler;
  readonly #options: ConsumerOptions;
  readonly #loop: PollLoop;

  constructor(ctx: Pick<AppContext, 'db' | 'log'>, name: string, handler: EventHandler, options: ConsumerOptions) {
    this.#ctx = ctx;
    this.#name = name;
    this.#handler = handler;
    this.#options = options;
    this.#loop = new PollLoop(
      // A full batch means more may be waiting: go on at once.
      async () => ((await this.runOnce()) >= options.batchSize ? 0 : options.pollMs),
      { idleMs: options.pollMs, onError: (err) => ctx.log.error({ err, consumer: name }, 'event consumer failed; will retry') },
    );
  }

  get leaseName(): string {
    return `events:${this.#name}`;
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await release(this.#ctx, this.leaseName).catch(() => undefined);
  }

  /**
   * Handles one batch if this node holds the consumer's lease; returns how many events it handled.
   * Events are handled `GROUP_SIZE` at a time in one transaction: each handled event costs a
   * durable commit otherwise, and every release created records five events. When a handler fails
   * in a group, the group's transaction rolls back and its events are handled one per transaction,
   * so one event that cannot be handled holds back only the events after it, as before.
   */
  async runOnce(): Promise<number> {
    if (!(await acquire(this.#ctx, this.leaseName, this.#options.leaseMs))) return 0;
    const now = Date.now();
    const batch = await claimEvents(this.#ctx.db, this.#name, LEASE_HOLDER, now, now + this.#options.leaseMs, this.#options.batchSize);
    let handled = 0;
    for (let start = 0; start < batch.length; start += GROUP_SIZE) {
      if (this.#loop.stopped && handled > 0) break;
      const group = batch.slice(start, start + GROUP_SIZE);
      const together = group.length > 1 ? await this.#handle(group).catch((err: unknown) => (err instanceof LeaseLostError ? 'lease-lost' : 'failed')) : 'failed';
      if (together === 'lease-lost') return handled;
      if (together === 'handled') {
        handled += group.length;
        continue;
      }
      for (const queued of group) {
        if (this.#loop.stopped && handled > 0) return handled;
        const done = await this.#handle([queued]).catch((err: unknown) => {
          if (err instanceof LeaseLostError) return 'lease-lost';
          throw err;
        });
        if (done === 'lease-lost') return handled;
        handled++;
      }
    }
    return handled;
  }

  /** Handles `events` in one transaction: all of them, or (rolled back) none. */
  async #handle(events: readonly QueuedEvent[]): Promise<'handled'> {
    return this.#ctx.db.transaction().execute(async (trx) => {
      for (const queued of events) await this.#handler(trx, queued);
      // Lost the lease of any of them (this node stalled past it): roll back, the new holder handles them.
      if (
        !(await completeEvents(
          trx,
          this.#name,
          events.map((q) => q.row.id),
          LEASE_HOLDER,
        ))
      )
        throw new LeaseLostError();
      return 'handled' as const;
    });
  }
}

/** Events handled per transaction. */
const GROUP_SIZE = 25;

class LeaseLostError extends Error {}
