/**
 * @module util/secret-box
 * Encrypts secrets Wharf must be able to read back (a webhook's signing secret has to sign every
 * delivery, so a hash would not do). The key lives in a file of the data directory
 * (`WHARF_INSTANCE_KEY_FILE`), never in the database: a copy of the database alone reveals no
 * secret. Several nodes must share the file (they share the data directory). AES-256-GCM, so a
 * tampered or foreign ciphertext is refused rather than decrypted to garbage.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

const VERSION = 'v1';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('instance key must be 32 bytes');
    this.#key = key;
  }

  /**
   * A key for one purpose (signing image-proxy URLs, …), derived from the instance key so that
   * no second secret has to be kept in step across nodes, and useless for anything else.
   */
  derivedKey(purpose: string): Buffer {
    return createHmac('sha256', this.#key).update(`wharf derived key: ${purpose}`, 'utf8').digest();
  }

  /**
   * Reads the key file, creating it (owner-only) on first start. Two nodes racing both end up with
   * the winner's key. `hooks` are for tests only: a `link` that fails as on a file system without
   * hard links, and how long a reader waits for a key being written.
   */
  static fromFile(file: string, hooks: KeyFileHooks = {}): SecretBox {
    const waitMs = hooks.waitMs ?? KEY_WRITE_WAIT_MS;
    const existing = readKeyFile(file, waitMs);
    if (existing) return new SecretBox(existing);
    mkdirSync(path.dirname(file), { recursive: true });
    // Written whole (and synced) under a name of its own, then linked into place: a link fails if
    // the file exists, so one node wins, and another node starting at the same moment never reads
    // a file created but not yet written (it did: "instance key must be 32 bytes").
    const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const text = `${randomBytes(32).toString('base64')}\n`;
    writeWhole(draft, 'wx', text);
    try {
      (hooks.link ?? linkSync)(draft, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      // No hard links here (some network and FUSE file systems): the file is created under its
      // final name, exclusively, so still one node wins; the others may find it created but not
      // yet written, and wait for it (`readKeyFile`).
      if (NO_HARD_LINKS.has(code)) createExclusively(file, text);
      else if (code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(draft);
    }
    const key = readKeyFile(file, waitMs);
    if (!key) throw new InstanceKeyError(`${file} vanished while it was being created`);
    return new SecretBox(key);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }
}

/** Test-only hooks of `SecretBox.fromFile`. */
export interface KeyFileHooks {
  link?: (existing: string, created: string) => void;
  waitMs?: number;
}

/** An instance key file that cannot be used; the message says why and what to do. */
export class InstanceKeyError extends Error {}

/** What `link` fails with where the file system has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

/** How long a reader waits for a key another node is writing (it is one small write away). */
const KEY_WRITE_WAIT_MS = 500;
const KEY_POLL_MS = 10;

/** Creates `file` (owner-only) with `text`, synced before it is closed. */
function writeWhole(file: string, flags: string, text: string): void {
  const fd = openSync(file, flags, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `file` with `text` unless it exists (then another node made it: theirs is the key). */
function createExclusively(file: string, text: string): void {
  try {
    writeWhole(file, 'wx', text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * The key in `file`, or null when there is no file. A file shorter than a key is one another node
 * has created and is writing (without hard links it is created under its final name): read again
 * for up to `waitMs`, then refused.
 */
function readKeyFile(file: string, waitMs: number): Buffer | null {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let key: Buffer;
    try {
      key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (key.length === 32) return key;
    if (key.length > 32) throw new InstanceKeyError(`${file} is not an instance key (${key.length} bytes in base64, a key is 32)`);
    if (Date.now() >= deadline) {
      throw new InstanceKeyError(
        `${file} holds no complete key (${key.length} of 32 bytes): a node may have stopped while making it; if nothing was ever sealed with it, remove it to have a new one made, else restore the instance key this data was used with`,
      );
    }
    // Synchronous, as the whole read is: this runs once, at start-up, before anything is served.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, KEY_POLL_MS);
  }
}

const boxes = new Map<string, SecretBox>();

/** The box of the key file `file`, read (or created) once per process. */
export function secretBoxAt(file: string): SecretBox {
  let box = boxes.get(file);
  if (!box) {
    box = SecretBox.fromFile(file);
    boxes.set(file, box);
  }
  return box;
}
