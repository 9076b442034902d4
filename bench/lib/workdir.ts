/**
 * @module bench/lib/workdir
 * One temporary directory per run holds every data directory, file and log the bench makes;
 * it is removed when the run ends, however it ends.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeOnExit } from './cleanup.ts';

export class WorkDir {
  readonly root: string;

  constructor() {
    this.root = mkdtempSync(path.join(tmpdir(), 'wharf-bench-'));
    removeOnExit(this.root);
  }

  /** A fresh subdirectory. */
  dir(name: string): string {
    const dir = path.join(this.root, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  file(name: string): string {
    return path.join(this.root, name);
  }
}
