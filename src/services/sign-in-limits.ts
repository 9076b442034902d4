/**
 * @module services/sign-in-limits
 * Failed sign-ins are limited per account (the login typed, whether or not it names anyone) and
 * per address, so a password cannot be guessed from one address nor one account attacked from
 * many (`WHARF_SIGN_IN_FAILURES_PER_ACCOUNT`, `…_PER_ADDRESS`). Counts live in the database (`rate_limits`, fixed windows, an atomic upsert), so every
 * node sees the same count. An attempt is counted before the password is checked and given back
 * when it succeeds: concurrent guesses cannot slip past the limit while each is being checked.
 */
import type { AppContext } from '../context.ts';
import { countBy, countOne } from '../db/repos/rate-limits-repo.ts';
import { TooManyRequestsError } from '../domain/errors.ts';
import { SIGN_IN_WINDOW_SECONDS, windowStartOf } from './rate-limit-windows.ts';

export { SIGN_IN_WINDOW_SECONDS };

export const TOO_MANY_SIGN_INS = 'Too many failed sign-in attempts. Please wait a few minutes before trying again.';

export interface SignInAttempt {
  buckets: string[];
  windowStart: number;
}

/**
 * Counts a sign-in attempt for `login` from `address`; throws `TooManyRequestsError` (without
 * checking any password) when either has used up its failures in this window.
 */
export async function beginSignInAttempt(ctx: Pick<AppContext, 'db' | 'config'>, login: string, address: string, nowMs = Date.now()): Promise<SignInAttempt> {
  const nowSeconds = Math.floor(nowMs / 1000);
  const windowStart = windowStartOf(SIGN_IN_WINDOW_SECONDS, nowSeconds);
  const account = `sign-in:login:${login.trim().toLowerCase().slice(0, 64)}`;
  const from = `sign-in:address:${address}`;
  const [byAccount, byAddress] = [await countOne(ctx.db, account, windowStart), await countOne(ctx.db, from, windowStart)];
  const attempt = { buckets: [account, from], windowStart };
  const limits = ctx.config.rateLimit;
  if (byAccount > limits.signInFailuresPerAccount || byAddress > limits.signInFailuresPerAddress) {
    // A refused attempt is no guess: it does not push the window's count further.
    await succeeded(ctx, attempt);
    throw new TooManyRequestsError(TOO_MANY_SIGN_INS, windowStart + SIGN_IN_WINDOW_SECONDS - nowSeconds);
  }
  return attempt;
}

/** Gives a successful attempt's counts back: only failures use up the limit. */
export async function succeeded(ctx: Pick<AppContext, 'db'>, attempt: SignInAttempt): Promise<void> {
  for (const bucket of attempt.buckets) await countBy(ctx.db, bucket, attempt.windowStart, -1);
}
