/**
 * @module features/audit
 * The audit log as a feature: its API route and the sweeper deleting entries past the retention
 * period (`WHARF_AUDIT_RETENTION_DAYS`), hourly, on whichever node holds the sweep's lease.
 */
import type { AppContext } from '../context.ts';
import type { Feature } from '../features.ts';
import { auditLogRoutes } from '../http/routes/audit-log.ts';
import { sweepAuditLog } from '../services/audit.ts';

const SWEEP_EVERY_MS = 3600_000;

interface Sweeper {
  timer: NodeJS.Timeout;
  running: Promise<void> | null;
}

const sweepers = new WeakMap<AppContext, Sweeper>();

function tick(ctx: AppContext, sweeper: Sweeper): void {
  if (sweeper.running) return;
  // The lease is a little shorter than the interval, so the next tick on any node may take it.
  sweeper.running = sweepAuditLog(ctx, SWEEP_EVERY_MS - 60_000)
    .then((removed) => {
      if (removed) ctx.log.info({ removed, retentionDays: ctx.config.auditRetentionDays }, 'deleted audit-log entries past retention');
    })
    .catch((err: unknown) => ctx.log.warn({ err }, 'audit-log sweep failed'))
    .finally(() => {
      sweeper.running = null;
    });
}

export const auditFeature: Feature = {
  name: 'audit',
  api: auditLogRoutes,
  async start(ctx) {
    const sweeper: Sweeper = { timer: setInterval(() => tick(ctx, sweeper), SWEEP_EVERY_MS), running: null };
    sweeper.timer.unref();
    sweepers.set(ctx, sweeper);
    tick(ctx, sweeper);
  },
  async stop(ctx) {
    const sweeper = sweepers.get(ctx);
    if (!sweeper) return;
    clearInterval(sweeper.timer);
    await sweeper.running;
    sweepers.delete(ctx);
  },
};
