/**
 * @module bench/lib/cleanup
 * Everything the bench starts (processes, temp directories) registers an undo action here, so a
 * finished, failed or interrupted run leaves nothing behind.
 */
import { rmSync } from 'node:fs';

type Undo = () => void | Promise<void>;

const actions: Undo[] = [];
let installed = false;

export function onCleanup(undo: Undo): () => void {
  actions.push(undo);
  return () => {
    const i = actions.indexOf(undo);
    if (i >= 0) actions.splice(i, 1);
  };
}

/** Runs every registered action, newest first (processes stop before their directories go). */
export async function cleanupAll(): Promise<void> {
  while (actions.length) {
    const undo = actions.pop()!;
    try {
      await undo();
    } catch {
      // Best effort: one stuck resource must not keep the others alive.
    }
  }
}

/** Temp directories are also removed synchronously on exit, in case the event loop is gone. */
export function removeOnExit(dir: string): void {
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}
