/**
 * The instance key file (`src/util/secret-box.ts`): made once, whole, by whichever node gets there
 * first, also on a file system without hard links (forced here through the test-only `link`
 * hook), and waited for while another node is writing it.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstanceKeyError, SecretBox } from '../../src/util/secret-box.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wharf-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A `link` as on a file system without hard links. */
function noHardLinks(code: string) {
  return () => {
    throw Object.assign(new Error(`${code}: operation not permitted, link`), { code });
  };
}

const sameKey = (a: SecretBox, b: SecretBox) => expect(a.derivedKey('test').equals(b.derivedKey('test'))).toBe(true);

describe('instance key file', () => {
  it('is made whole and owner-only, and read back as the same key', async () => {
    const file = path.join(dir, 'nested', 'instance.key');
    const made = SecretBox.fromFile(file);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')).toHaveLength(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    sameKey(made, SecretBox.fromFile(file));
    expect(await readdir(path.dirname(file))).toEqual(['instance.key']);
  });

  for (const code of ['EPERM', 'ENOTSUP', 'EXDEV', 'ENOSYS']) {
    it(`is made without a hard link when link fails with ${code}`, async () => {
      const file = path.join(dir, 'instance.key');
      const made = SecretBox.fromFile(file, { link: noHardLinks(code) });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(made.open(made.seal('a secret'))).toBe('a secret');
      sameKey(made, SecretBox.fromFile(file));
      // The draft is gone: only the key is left.
      expect(await readdir(dir)).toEqual(['instance.key']);
    });
  }

  it('without hard links, a node that finds the file made by another meanwhile takes their key', async () => {
    const file = path.join(dir, 'instance.key');
    let theirs: SecretBox | null = null;
    const made = SecretBox.fromFile(file, {
      link: () => {
        // Another node (which could link) wins between this node's draft and its own attempt.
        theirs = SecretBox.fromFile(file);
        noHardLinks('EPERM')();
      },
    });
    sameKey(made, theirs!);
  });

  it('waits for a key another node has created but not yet written', async () => {
    const file = path.join(dir, 'instance.key');
    await writeFile(file, '');
    const key = Buffer.alloc(32, 7);
    // The other node: a thread that writes the key a moment after this one starts reading.
    const writer = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const { writeFileSync } = require('node:fs');
       parentPort.postMessage('ready');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
       writeFileSync(workerData.file, workerData.text);`,
      { eval: true, workerData: { file, text: `${key.toString('base64')}\n` } },
    );
    await new Promise((resolve) => writer.once('message', resolve));
    // Generous, so that a loaded machine's slow thread does not fail the test: the reader polls.
    const box = SecretBox.fromFile(file, { waitMs: 30_000 });
    await new Promise((resolve) => writer.once('exit', resolve));
    sameKey(box, new SecretBox(key));
  });

  it('refuses a file that stays shorter than a key, once the wait is over, saying what to do', async () => {
    const file = path.join(dir, 'instance.key');
    await writeFile(file, Buffer.alloc(10).toString('base64'));
    expect(() => SecretBox.fromFile(file, { waitMs: 50 })).toThrow(InstanceKeyError);
    expect(() => SecretBox.fromFile(file, { waitMs: 50 })).toThrow(/holds no complete key \(10 of 32 bytes\).*remove it/);
    await writeFile(file, Buffer.alloc(48).toString('base64'));
    expect(() => SecretBox.fromFile(file, { waitMs: 50 })).toThrow(/is not an instance key/);
  });
});
