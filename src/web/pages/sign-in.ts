/**
 * @module web/pages/sign-in
 * `GET /login`, `POST /session` (sign in with a login and a personal access token) and
 * `POST /logout`. See `services/sessions.ts` for what a session may do.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { UnauthorizedError } from '../../domain/errors.ts';
import { randomSecret, SESSION_TTL_MS, signIn, signOut } from '../../services/sessions.ts';
import { clearCookie, readCookie, SESSION_COOKIE, setCookie, SIGNIN_CSRF_COOKIE } from '../cookies.ts';
import { formFields } from '../forms.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { requireCsrf, requireSignInCsrf, safeReturnTo } from '../web-auth.ts';

function signInPage(request: FastifyRequest, reply: FastifyReply, returnTo: string, login: string, error: string | null, status = 200): FastifyReply {
  let csrf = readCookie(request, SIGNIN_CSRF_COOKIE);
  if (!csrf) {
    csrf = randomSecret();
    setCookie(request, reply, SIGNIN_CSRF_COOKIE, csrf, { maxAgeSeconds: 3600 });
  }
  const body = html`<section class="narrow card">
  <h1>Sign in to Wharf</h1>
  ${error ? html`<p class="flash error" role="alert">${error}</p>` : ''}
  <form method="post" action="/session" class="stack">
    <input type="hidden" name="_csrf" value="${csrf}">
    <input type="hidden" name="return_to" value="${returnTo}">
    <label>Username <input name="login" autocomplete="username" required value="${login}"></label>
    <label>Personal access token <input name="token" type="password" autocomplete="current-password" required></label>
    <button type="submit" class="primary">Sign in</button>
  </form>
  <p class="muted">The session acts with that token's scopes; revoking the token signs you out.</p>
  <h2>No token yet?</h2>
  <p>Wharf signs people in with a personal access token. Your first one comes from a site administrator: they create it on the site administration pages, or on the server with <code>wharf token create YOUR-LOGIN</code>. Once signed in, you make and revoke your own under <a href="/settings/tokens">Settings → Personal access tokens</a>.</p>
</section>`;
  return sendPage(request, reply, { title: 'Sign in', body }, status);
}

export function signInRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/login', async (request, reply) => {
    const returnTo = safeReturnTo((request.query as Record<string, unknown>).return_to);
    if (request.webSession) return reply.redirect(returnTo, 303);
    return signInPage(request, reply, returnTo, '', null);
  });

  app.post('/session', async (request, reply) => {
    const fields = formFields(request.body);
    requireSignInCsrf(request, readCookie(request, SIGNIN_CSRF_COOKIE), fields._csrf);
    const returnTo = safeReturnTo(fields.return_to);
    try {
      const { id } = await signIn(ctx, fields.login ?? '', fields.token ?? '', request.ip);
      // Signing in again replaces the previous session rather than leaving it alive.
      const previous = readCookie(request, SESSION_COOKIE);
      if (previous) await signOut(ctx, previous);
      setCookie(request, reply, SESSION_COOKIE, id, { maxAgeSeconds: Math.floor(SESSION_TTL_MS / 1000) });
      clearCookie(request, reply, SIGNIN_CSRF_COOKIE);
      return reply.redirect(returnTo, 303);
    } catch (err) {
      if (err instanceof UnauthorizedError) return signInPage(request, reply, returnTo, fields.login ?? '', err.message, 401);
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
