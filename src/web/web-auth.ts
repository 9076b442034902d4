/**
 * @module web/web-auth
 * Who is looking at a page: the signed-in browser session (cookie) or, for scripts and feed
 * readers, the same `Authorization` header the API accepts. Also the CSRF rules for every
 * state-changing request a page makes:
 * - it must come from a signed-in session (a cookie, never a bare Authorization header);
 * - it must echo the session's CSRF secret (form field `_csrf` or header `X-CSRF-Token`);
 * - when the browser names its origin, that origin must be Wharf's own.
 * `SameSite=Lax` on the cookie is a second line of defence, not the only one.
 */
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { ForbiddenError, UnauthorizedError } from '../domain/errors.ts';
import { atAddress, resolvePrincipal } from '../http/auth.ts';
import { MAX_REQUEST_TARGET_BYTES } from '../http/request-target.ts';
import { enforceScopes, type ScopeRule } from '../http/route-scopes.ts';
import { resolveSession, secretsEqual, type WebSession } from '../services/sessions.ts';
import type { Principal } from '../services/tokens.ts';
import { readCookie, SESSION_COOKIE } from './cookies.ts';
import './context.ts';

export async function identifyVisitor(ctx: AppContext, request: FastifyRequest): Promise<void> {
  const session = await sessionOf(ctx, request);
  request.webSession = session;
  request.principal = session ? session.principal : await resolvePrincipal(ctx, request);
}

async function sessionOf(ctx: AppContext, request: FastifyRequest): Promise<WebSession | null> {
  const cookie = readCookie(request, SESSION_COOKIE);
  const session = cookie ? await resolveSession(ctx, cookie) : null;
  if (session) await atAddress(ctx, session.principal, request.ip);
  return session;
}

/**
 * The caller of a browser URL outside the pages (asset downloads): the signed-in session, else
 * the API's `Authorization` header. Lets a signed-in visitor download a private repository's
 * assets from its release page.
 */
export async function browserPrincipal(ctx: AppContext, request: FastifyRequest): Promise<Principal | null> {
  const session = await sessionOf(ctx, request);
  return session ? session.principal : resolvePrincipal(ctx, request);
}

function originMatches(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || origin === '') return true;
  return origin === new URL(request.urls.web).origin;
}

/** The session of a state-changing request, after the CSRF checks; throws otherwise. */
export function requireCsrf(request: FastifyRequest, provided: unknown): WebSession {
  const session = request.webSession;
  if (!session) throw new UnauthorizedError();
  checkCsrf(request, session, provided);
  return session;
}

function checkCsrf(request: FastifyRequest, session: WebSession, provided: unknown): void {
  if (!originMatches(request)) throw new ForbiddenError('Cross-origin request refused.');
  const header = request.headers['x-csrf-token'];
  const value = typeof provided === 'string' && provided !== '' ? provided : typeof header === 'string' ? header : '';
  if (!secretsEqual(value, session.csrfSecret)) throw new ForbiddenError('Invalid or missing CSRF token. Reload the page and try again.');
}

/**
 * Lets a page's script call an uploads-host endpoint (the web uploader's tus requests) as the
 * signed-in user. A request with an `Authorization` header is the API's and is left alone; one
 * without it whose session cookie resolves acts as that session only with the CSRF proof (the
 * `X-CSRF-Token` header, from Wharf's own origin): a cookie without it is refused with 403, never
 * taken as a credential, so another site cannot make a browser upload with its cookie. The
 * session's token scopes are then checked as a token's would be (`rule`: the route's).
 */
export async function authenticatePageScript(ctx: AppContext, request: FastifyRequest, rule: ScopeRule | undefined): Promise<void> {
  if (request.principal || request.headers.authorization !== undefined) return;
  const session = await sessionOf(ctx, request);
  if (!session) return;
  checkCsrf(request, session, undefined);
  request.principal = session.principal;
  enforceScopes(request, rule);
}

/** Checks the pre-session (sign-in) CSRF token: a cookie and a form field that must agree. */
export function requireSignInCsrf(request: FastifyRequest, cookieValue: string | null, provided: unknown): void {
  if (!originMatches(request)) throw new ForbiddenError('Cross-origin request refused.');
  if (!cookieValue || typeof provided !== 'string' || !secretsEqual(provided, cookieValue)) {
    throw new ForbiddenError('Invalid or missing CSRF token. Reload the page and try again.');
  }
}

const SITE = 'http://wharf.invalid';

/**
 * A path on this site to go back to after signing in; anything else becomes `/`. The value is
 * resolved the way a browser resolves a `Location`: browsers drop tabs and line breaks and read
 * `\` as `/`, so `/<TAB>/evil.example` or `/<TAB>\evil.example` is `//evil.example`, another
 * site, which a check of the raw string's first characters let through. What is returned is the
 * resolved path, percent-encoded: a character outside Latin-1 (`/€`) made the `Location` header
 * itself invalid, and the redirect a 500. A path longer than any address Wharf serves
 * (`MAX_REQUEST_TARGET_BYTES`) is no page to go back to either, and would make an oversized header.
 */
export function safeReturnTo(value: unknown): string {
  // eslint-disable-next-line no-control-regex -- control characters in a return path are refused
  if (typeof value !== 'string' || !value.startsWith('/') || /[\u0000-\u001f\u007f]/.test(value)) return '/';
  let url: URL;
  try {
    url = new URL(value, SITE);
  } catch {
    return '/';
  }
  // `/.//evil.example` resolves to the path `//evil.example`, which as a Location is another site.
  if (url.origin !== SITE || url.pathname.startsWith('//')) return '/';
  const back = `${url.pathname}${url.search}${url.hash}`;
  return back.length <= MAX_REQUEST_TARGET_BYTES ? back : '/';
}
