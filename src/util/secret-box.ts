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

  /** Reads the key file, creating it (owner-only) on first start. Two nodes racing both end up with the winner's key. */
  static fromFile(file: string): SecretBox {
    try {
      return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    // Written whole (and synced) under a name of its own, then linked into place: a link fails if
    // the file exists, so one node wins, and another node starting at the same moment never reads
    // a file created but not yet written (it did: "instance key must be 32 bytes").
    const draft = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(draft, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(draft, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(draft);
    }
    return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
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
