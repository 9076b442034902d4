/**
 * @module services/rate-limit-windows
 * The fixed windows rate limits are counted in (`http/rate-limit.ts` counts; this module says
 * which window a moment falls in), and dropping the windows that ended, which the background
 * sweeper does each round so the `rate_limits` table holds only live counts.
 */
import type { AppContext } from '../context.ts';
import { deleteWindowsBefore } from '../db/repos/rate-limits-repo.ts';

/** The secondary (content-creation) limit counts writes per minute. */
export const CONTENT_WINDOW_SECONDS = 60;

/** Failed sign-ins are counted in windows of this length (`services/sign-in-limits.ts`). */
export const SIGN_IN_WINDOW_SECONDS = 15 * 60;

/** The start of the window of `lengthSeconds` that holds `nowSeconds`. */
export function windowStartOf(lengthSeconds: number, nowSeconds: number): number {
  return Math.floor(nowSeconds / lengthSeconds) * lengthSeconds;
}

/**
 * Deletes the windows that have ended. Primary, content and sign-in windows share the table and differ in
 * length, so a window is known to be over once it started more than the longer length ago.
 */
export async function pruneEndedWindows(ctx: Pick<AppContext, 'db' | 'config'>, nowMs = Date.now()): Promise<number> {
  const longest = Math.max(ctx.config.rateLimit.windowSeconds, CONTENT_WINDOW_SECONDS, SIGN_IN_WINDOW_SECONDS);
  return deleteWindowsBefore(ctx.db, Math.floor(nowMs / 1000) - longest);
}
