/**
 * @module web/pages/sign-in
 * `GET /login`, `POST /session` (sign in with a login and a password or a personal access
 * token) and `POST /logout`. See `services/sessions.ts` for what a session may do, and
 * `services/sign-in-limits.ts` for how failures are limited.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { TooManyRequestsError, UnauthorizedError } from '../../domain/errors.ts';
import { randomSecret, SESSION_TTL_MS, signIn, signInWithPassword, signOut } from '../../services/sessions.ts';
import { clearCookie, readCookie, SESSION_COOKIE, setCookie, SIGNIN_CSRF_COOKIE } from '../cookies.ts';
import { formFields } from '../forms.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { requireCsrf, requireSignInCsrf, safeReturnTo } from '../web-auth.ts';

function signInPage(request: FastifyRequest, reply: FastifyReply, returnTo: string, login: string, error: string | null, status = 200, notice: string | null = null): FastifyReply {
  let csrf = readCookie(request, SIGNIN_CSRF_COOKIE);
  if (!csrf) {
    csrf = randomSecret();
    setCookie(request, reply, SIGNIN_CSRF_COOKIE, csrf, { maxAgeSeconds: 3600 });
  }
  const body = html`<section class="narrow card">
  <h1>Sign in to Wharf</h1>
  ${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
  ${notice ? html`<p class="flash" role="status">${notice}</p>` : ''}
  <form method="post" action="/session" class="stack">
    <input type="hidden" name="_csrf" value="${csrf}">
    <input type="hidden" name="return_to" value="${returnTo}">
    <label>Username <input name="login" autocomplete="username" required value="${login}"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <p class="muted">or</p>
    <label>Personal access token <input name="token" type="password" autocomplete="off"></label>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <p class="muted">Signed in with a password, you may do in the browser all your account may do. Signed in with a token, the session acts with that token's scopes, and revoking the token signs you out.</p>
  <h2>No password yet?</h2>
  <p>A site administrator sets your first password when creating your account, or gives you a one-time link to choose one (the site administration pages, or <code>wharf user reset-link YOUR-LOGIN</code> on the server). A forgotten password is replaced the same way. Once signed in, you change it under <a href="/settings/password">Settings → Password</a> and make your own tokens under <a href="/settings/tokens">Settings → Personal access tokens</a>.</p>
</section>`;
  return sendPage(request, reply, { title: 'Sign in', body }, status);
}

export function signInRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/login', async (request, reply) => {
    const returnTo = safeReturnTo((request.query as Record<string, unknown>).return_to);
    if (request.webSession) return reply.redirect(returnTo, 303);
    const reset = (request.query as Record<string, unknown>).password_reset === '1';
    return signInPage(request, reply, returnTo, '', null, 200, reset ? 'Your password was changed. Sign in with it.' : null);
  });

  app.post('/session', async (request, reply) => {
    const fields = formFields(request.body);
    requireSignInCsrf(request, readCookie(request, SIGNIN_CSRF_COOKIE), fields._csrf);
    const returnTo = safeReturnTo(fields.return_to);
    try {
      const origin = { address: request.ip, userAgent: request.headers['user-agent'] };
      const login = fields.login ?? '';
      // A token, when one is given; otherwise the password (one form, two ways in, as the page says).
      const { id } = (fields.token ?? '') !== '' ? await signIn(ctx, login, fields.token ?? '', origin) : await signInWithPassword(ctx, login, fields.password ?? '', origin);
      // Signing in again replaces the previous session rather than leaving it alive.
      const previous = readCookie(request, SESSION_COOKIE);
      if (previous) await signOut(ctx, previous);
      setCookie(request, reply, SESSION_COOKIE, id, { maxAgeSeconds: Math.floor(SESSION_TTL_MS / 1000) });
      clearCookie(request, reply, SIGNIN_CSRF_COOKIE);
      return reply.redirect(returnTo, 303);
    } catch (err) {
      if (err instanceof UnauthorizedError) return signInPage(request, reply, returnTo, fields.login ?? '', err.message, 401);
      if (err instanceof TooManyRequestsError) {
        void reply.header('retry-after', String(err.retryAfter));
        return signInPage(request, reply, returnTo, fields.login ?? '', err.message, 429);
      }
      throw err;
    }
  });

  app.post('/logout', async (request, reply) => {
    const fields = formFields(request.body);
    requireCsrf(request, fields._csrf);
    const cookie = readCookie(request, SESSION_COOKIE);
    if (cookie) await signOut(ctx, cookie);
    clearCookie(request, reply, SESSION_COOKIE);
    return reply.redirect('/', 303);
  });
}
