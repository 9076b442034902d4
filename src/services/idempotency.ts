/**
 * @module services/idempotency
 * `Idempotency-Key` on release creation and on the classic upload (a documented extension,
 * docs/assets.md#idempotent-retries). A request with a key first takes the key: the database's
 * primary key on (user, key) lets exactly one request hold it, whichever node it reaches. The
 * holder records what it made in the very transaction that makes it (`complete`), so a key is
 * completed if and only if its release or asset exists; a holder that fails lets the key go, and
 * one that dies stops renewing its lease and loses the key. Later requests with the key get:
 * - the same request, completed: the original answer (the release or asset, as it is now);
 * - the same request, still running: 409, retry later;
 * - a different request: 422.
 * The key is forgotten after `WHARF_IDEMPOTENCY_KEY_EXPIRY`, or when what it made is deleted.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppContext } from '../context.ts';
import type { IdempotencyKeyRow } from '../db/schema.ts';
import {
  abandonIdempotencyKey,
  completeIdempotencyKey,
  deleteStaleIdempotencyKey,
  findIdempotencyKey,
  insertIdempotencyKey,
  renewIdempotencyLease,
} from '../db/repos/idempotency-keys-repo.ts';
import { BadRequestError, ConflictError, ValidationError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { isUniqueViolation } from './db-errors.ts';

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/**
 * The key a request sent, or null. Both spellings in use are taken: Stripe's bare token and the
 * IETF draft's structured string (`"…"`). 1 to 255 visible ASCII characters, else 400.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  const raw = Array.isArray(header) ? header.join(',') : header;
  const key = /^"[^"\\]*"$/.test(raw.trim()) ? raw.trim().slice(1, -1) : raw.trim();
  if (key.length < 1 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw new BadRequestError(`Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters`);
  }
  return key;
}

/** JSON with object members in key order, so a re-serialised body hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a request asks for, as a hash: the operation and its parameters. */
export function requestFingerprint(operation: string, parameters: unknown): string {
  return createHash('sha256').update(operation).update('\0').update(canonicalJson(parameters)).digest('hex');
}

function keyReused(): ValidationError {
  return new ValidationError([{ resource: 'IdempotencyKey', field: 'Idempotency-Key', code: 'custom', message: 'Idempotency-Key has already been used for a different request' }]);
}

/** The sha256 hex of a request body, read to its end (a replayed upload's bytes are compared, not stored). */
export async function digestOfBody(body: Readable, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(body, hash, { signal });
  return hash.digest('hex');
}

/** What a completed key made. */
export type Completed = Pick<IdempotencyKeyRow, 'release_id' | 'asset_id' | 'content_digest'>;

/** A key held by this request: renewed while it works; `complete` in the transaction that makes the thing, else `abandon`. */
export class IdempotencyClaim {
  private readonly timer: NodeJS.Timeout;
  private done = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly userId: number,
    private readonly key: string,
    private readonly token: string,
  ) {
    const leaseMs = ctx.config.uploadLeaseMs;
    this.timer = setInterval(
      () => {
        renewIdempotencyLease(ctx.db, userId, key, token, Date.now() + leaseMs).catch((err: unknown) => ctx.log.warn({ err }, 'could not renew an idempotency key'));
      },
      Math.min(15_000, Math.floor(leaseMs / 8)),
    );
    this.timer.unref();
  }

  /** Records what the request made, in `trx`; a claim lost meanwhile (a stalled request) rolls it back. */
  async complete(trx: AppContext['db'], made: { release_id?: number; asset_id?: number; content_digest?: string }): Promise<void> {
    if (!(await completeIdempotencyKey(trx, this.userId, this.key, this.token, made))) throw inProgress();
    this.done = true;
  }

  /** Forgets the key after all (what it recorded was undone); a retry runs afresh. */
  async revoke(): Promise<void> {
    this.done = false;
    await abandonIdempotencyKey(this.ctx.db, this.userId, this.key, this.token, true);
  }

  /** Ends the claim: the key is let go unless the request completed it. */
  async finish(): Promise<void> {
    clearInterval(this.timer);
    if (this.done) return;
    await abandonIdempotencyKey(this.ctx.db, this.userId, this.key, this.token).catch((err: unknown) => this.ctx.log.warn({ err }, 'could not let an idempotency key go'));
  }
}

function inProgress(): ConflictError {
  return new ConflictError('A request with this Idempotency-Key is still in progress; retry later');
}

export type IdempotencyOutcome = { kind: 'claimed'; claim: IdempotencyClaim } | { kind: 'replay'; made: Completed };

/**
 * Takes `key` for a request with `fingerprint`, or says what an earlier request with it made.
 * Throws 422 when the key was used for a different request and 409 while that request runs.
 */
export async function takeIdempotencyKey(ctx: AppContext, userId: number, key: string, fingerprint: string): Promise<IdempotencyOutcome> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = Date.now();
    await deleteStaleIdempotencyKey(ctx.db, userId, key, now);
    const token = randomBytes(16).toString('hex');
    try {
      await insertIdempotencyKey(ctx.db, {
        user_id: userId,
        idempotency_key: key,
        fingerprint,
        state: 'in_progress',
        token,
        lease_until: now + ctx.config.uploadLeaseMs,
        expires_at: now + ctx.config.idempotencyKeyExpiryMs,
        release_id: null,
        asset_id: null,
        content_digest: null,
        created_at: isoSeconds(),
      });
      return { kind: 'claimed', claim: new IdempotencyClaim(ctx, userId, key, token) };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const held = await findIdempotencyKey(ctx.db, userId, key);
    // Gone again (let go by a failed request, or expired) between the insert and this read: retry.
    if (!held || held.expires_at <= now) continue;
    if (held.fingerprint !== fingerprint) throw keyReused();
    if (held.state === 'in_progress') throw inProgress();
    return { kind: 'replay', made: { release_id: held.release_id, asset_id: held.asset_id, content_digest: held.content_digest } };
  }
  throw inProgress();
}

/** A replayed upload's bytes must be the original's: else the key was reused for a different request. */
export function checkReplayedDigest(made: Completed, digest: string): void {
  if (made.content_digest !== digest) throw keyReused();
}
