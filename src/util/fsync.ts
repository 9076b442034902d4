/**
 * @module util/fsync
 * Makes a file's or a directory's contents durable: a directory is synced after a file is
 * created or renamed in it, so the entry survives a power cut too.
 */
import { open } from 'node:fs/promises';

/** fsyncs the file or directory at `p`. */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
