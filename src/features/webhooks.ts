/**
 * @module features/webhooks
 * Webhooks: the REST API, the outbox consumer that turns events into deliveries, and the
 * delivery loop. The consumer and the loop run on every node with `WHARF_EVENT_CONSUMERS` on;
 * leases in the database share the work between nodes.
 */
import { EventConsumer } from '../events/consumer.ts';
import type { Feature } from '../features.ts';
import { webhookRoutes } from '../http/routes/webhooks.ts';
import { DeliveryWorker } from '../webhooks/delivery.ts';
import { fanOutEvent } from '../webhooks/fan-out.ts';
import { secretBoxFor } from '../webhooks/runtime.ts';
import type { AppContext } from '../context.ts';

const running = new WeakMap<AppContext, { consumer: EventConsumer; worker: DeliveryWorker }>();

export const webhooksFeature: Feature = {
  name: 'webhooks',
  api: (app, ctx) => webhookRoutes(app, ctx),
  async start(ctx) {
    // Creates the instance key on first start, so a missing or unreadable one fails start-up, not a request.
    secretBoxFor(ctx.config);
    if (!ctx.config.eventConsumers) return;
    const consumer = new EventConsumer(ctx, 'webhooks', (trx, queued) => fanOutEvent(ctx, trx, queued), {
      pollMs: ctx.config.eventsPollMs,
      // Renewed on every poll; a node that dies holding it delays fan-out by at most this long.
      leaseMs: Math.max(5_000, ctx.config.eventsPollMs * 20),
      batchSize: 100,
    });
    const worker = new DeliveryWorker(ctx);
    consumer.start();
    worker.start();
    running.set(ctx, { consumer, worker });
  },
  async stop(ctx) {
    const r = running.get(ctx);
    if (!r) return;
    running.delete(ctx);
    await r.consumer.stop();
    await r.worker.stop();
  },
};
