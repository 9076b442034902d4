/**
 * @module http/rate-limit
 * GitHub's primary rate limit, counted in the database (so several Wharf nodes share one count):
 * per user for authenticated callers, per client address for anonymous ones, in fixed windows.
 * A node writes a caller's first request of a window at once and the rest about once a second,
 * batched (`services/rate-counts.ts`): reads do not pay a database write each.
 * Every counted response carries `x-ratelimit-*`; once exhausted, 403 with `retry-after`.
 * Disabled (as GHES ships), no headers are sent and `/rate_limit` answers 404. Windows that
 * ended are deleted by the background sweeper (`services/rate-limit-windows.ts`).
 *
 * Also GitHub's secondary limit on content creation: API writes per caller per minute, answered
 * with 403, a message containing "secondary rate limit" (what Octokit's throttling plugin looks
 * for) and `retry-after`. Asset uploads are not counted: release tools upload dozens of
 * artifacts at once, and most of them (gh among them) do not retry a secondary limit.
 */
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { ForbiddenError } from '../domain/errors.ts';
import { countAtOnce, storedCount } from '../services/rate-counts.ts';
import { CONTENT_WINDOW_SECONDS, windowStartOf } from '../services/rate-limit-windows.ts';
import type { Principal } from '../services/tokens.ts';

export interface RateState {
  limit: number;
  used: number;
  remaining: number;
  reset: number;
  resource: 'core' | 'graphql';
  bucket: string;
  windowStart: number;
}

export function bucketFor(principal: Principal | null, clientIp: string): string {
  return principal ? `user:${principal.user.id}` : `ip:${clientIp}`;
}

function windowOf(ctx: AppContext, nowSec: number): number {
  return windowStartOf(ctx.config.rateLimit.windowSeconds, nowSec);
}

function stateFrom(ctx: AppContext, principal: Principal | null, bucket: string, windowStart: number, used: number): RateState {
  const limit = principal ? ctx.config.rateLimit.authenticated : ctx.config.rateLimit.anonymous;
  return { limit, used, remaining: Math.max(0, limit - used), reset: windowStart + ctx.config.rateLimit.windowSeconds, resource: 'core', bucket, windowStart };
}

/** Counts one request and returns the state after it: at once when the caller's window is counted in memory already. */
export function consume(ctx: AppContext, principal: Principal | null, clientIp: string): RateState | Promise<RateState> {
  const bucket = bucketFor(principal, clientIp);
  const windowStart = windowOf(ctx, Math.floor(Date.now() / 1000));
  const used = ctx.rateCounts.countOne(ctx.db, bucket, windowStart);
  return typeof used === 'number' ? stateFrom(ctx, principal, bucket, windowStart, used) : used.then((n) => stateFrom(ctx, principal, bucket, windowStart, n));
}

/** Gives a request back (a 304 does not count against the limit, as on GitHub). */
export function refund(ctx: AppContext, state: RateState): void {
  ctx.rateCounts.giveOneBack(state.bucket, state.windowStart);
}

/** Writes the counts gathered since the last flush (`services/rate-counts.ts`). */
export function flushRateCounts(ctx: AppContext): Promise<void> {
  return ctx.rateCounts.flush(ctx.db, windowOf(ctx, Math.floor(Date.now() / 1000)));
}

/** The current state without counting (for `GET /rate_limit`). */
export async function peek(ctx: AppContext, principal: Principal | null, clientIp: string): Promise<RateState> {
  const bucket = bucketFor(principal, clientIp);
  const windowStart = windowOf(ctx, Math.floor(Date.now() / 1000));
  const used = (await storedCount(ctx.db, bucket, windowStart)) + ctx.rateCounts.unwritten(bucket, windowStart);
  return stateFrom(ctx, principal, bucket, windowStart, used);
}

export function rateHeaders(state: RateState): Record<string, string> {
  return {
    'x-ratelimit-limit': String(state.limit),
    'x-ratelimit-remaining': String(state.remaining),
    'x-ratelimit-reset': String(state.reset),
    'x-ratelimit-used': String(Math.min(state.used, state.limit)),
    'x-ratelimit-resource': state.resource,
  };
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Counts a write against the caller's per-minute content budget; throws 403 once it is spent. */
export async function enforceContentLimit(ctx: AppContext, request: FastifyRequest): Promise<void> {
  if (!ctx.config.rateLimit.enabled || !WRITE_METHODS.has(request.method)) return;
  const nowSec = Math.floor(Date.now() / 1000);
  const windowStart = windowStartOf(CONTENT_WINDOW_SECONDS, nowSec);
  const bucket = `content:${bucketFor(request.principal, request.ip)}`;
  if ((await countAtOnce(ctx.db, bucket, windowStart)) <= ctx.config.rateLimit.contentPerMinute) return;
  throw new SecondaryRateLimitError(Math.max(1, windowStart + CONTENT_WINDOW_SECONDS - nowSec));
}

export class SecondaryRateLimitError extends ForbiddenError {
  constructor(readonly retryAfter: number) {
    super('You have exceeded a secondary rate limit. Please wait a few minutes before you try again.');
  }
}

/**
 * Counts a request outside the API (git's smart HTTP, source archives from the web) against the
 * caller's primary limit, as the API counts its own: git traffic and archives are among the most
 * expensive things a caller can ask for. Once the budget is spent: 403 with `retry-after`.
 */
export async function countExpensiveRequest(ctx: AppContext, principal: Principal | null, clientIp: string): Promise<void> {
  if (!ctx.config.rateLimit.enabled) return;
  const state = await consume(ctx, principal, clientIp);
  if (state.used > state.limit) throw new PrimaryRateLimitError(state, principal ? `user ID ${principal.user.id}` : clientIp);
}

export class PrimaryRateLimitError extends ForbiddenError {
  readonly retryAfter: number;
  constructor(state: RateState, who: string) {
    super(`API rate limit exceeded for ${who}.`);
    this.retryAfter = Math.max(1, state.reset - Math.floor(Date.now() / 1000));
  }
}

/**
 * Charges a GraphQL query its cost (GitHub's points: the connection fetches it needs, divided by
 * 100, at least 1) against the caller's GraphQL budget, a bucket of its own with the same limit
 * as the REST budget, as GitHub keeps the two apart.
 */
export async function chargeGraphQL(ctx: AppContext, principal: Principal, clientIp: string, cost: number): Promise<RateState> {
  const bucket = `graphql:${bucketFor(principal, clientIp)}`;
  const windowStart = windowOf(ctx, Math.floor(Date.now() / 1000));
  const used = await countAtOnce(ctx.db, bucket, windowStart, cost);
  return { ...stateFrom(ctx, principal, bucket, windowStart, used), resource: 'graphql' };
}
