/**
 * @module features/ref-reconciliation
 * The reconciler that makes git and the database converge after a crash
 * (`services/ref-reconciler.ts`). Listed after every feature that listens to ref changes
 * (releases follow their tags): its start-up round records missed changes, and their listeners
 * must be registered by then.
 */
import type { AppContext } from '../context.ts';
import type { Feature } from '../features.ts';
import { RefReconciler } from '../services/ref-reconciler.ts';

const reconcilers = new WeakMap<AppContext, RefReconciler>();

export const refReconciliationFeature: Feature = {
  name: 'ref-reconciliation',
  async start(ctx) {
    const reconciler = new RefReconciler(ctx);
    reconcilers.set(ctx, reconciler);
    await reconciler.start();
  },
  async stop(ctx) {
    await reconcilers.get(ctx)?.stop();
    reconcilers.delete(ctx);
  },
};
