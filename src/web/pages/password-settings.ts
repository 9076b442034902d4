/**
 * @module web/pages/password-settings
 * Passwords on the pages: `/settings/password` (the signed-in user changes theirs, giving the
 * current one; other browsers are signed out) and `/password_reset/{secret}` (a one-time link a
 * site administrator made: choose a password, every session ends, sign in with it). The rules
 * and the single use are `services/passwords.ts`'s.
 *
 * The reset page is reached without a session, so its form carries the pre-session CSRF token
 * (a cookie and a field that must agree, as the sign-in form does). Opening the link spends
 * nothing: link previewers and mail scanners that fetch it leave it usable.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import { changeOwnPassword, hasPassword, PASSPHRASE_LENGTH, PASSWORD_MIN_LENGTH, redeemResetLink, resetLinkUser } from '../../services/passwords.ts';
import { randomSecret, type WebSession } from '../../services/sessions.ts';
import { clearCookie, readCookie, SESSION_COOKIE, setCookie, SIGNIN_CSRF_COOKIE } from '../cookies.ts';
import { renderErrorPage, validationMessages } from '../error-pages.ts';
import { formFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { requireCsrf, requireSignInCsrf } from '../web-auth.ts';
import { errorList, settingsNav } from './account-settings.ts';

const RULE = `At least ${PASSPHRASE_LENGTH} characters, or at least ${PASSWORD_MIN_LENGTH} with a lowercase letter and a number.`;

function signedInSession(request: FastifyRequest): WebSession {
  if (!request.webSession) throw new UnauthorizedError();
  return request.webSession;
}

function newPasswordFields(): Html {
  return html`<label>New password <small class="muted">${RULE}</small><input name="password" type="password" autocomplete="new-password" required minlength="${String(PASSWORD_MIN_LENGTH)}" maxlength="256"></label>
    <label>Confirm new password <input name="password_confirmation" type="password" autocomplete="new-password" required maxlength="256"></label>`;
}

async function passwordPage(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, o: { errors?: string[]; notice?: string } = {}, status = 200): Promise<FastifyReply> {
  const user = signedInSession(request).principal.user;
  const has = await hasPassword(ctx, user);
  const body = html`<h1>Settings for ${user.login}</h1>
${settingsNav(request, 'password')}
${errorList(o.errors ?? [])}
${o.notice ? html`<p class="flash" role="status">${o.notice}</p>` : ''}
<section class="card narrow">
  <h2>${has ? 'Change password' : 'Set a password'}</h2>
  ${
    has
      ? html`<p class="muted">Changing it signs out every other browser; this one stays signed in. Your tokens keep working.</p>`
      : html`<p class="muted">You have no password yet: you signed in with a token. A password lets you sign in without one.</p>`
  }
  <form method="post" action="/settings/password" class="stack">
    ${csrfField(request)}
    <input type="text" name="username" value="${user.login}" autocomplete="username" hidden>
    ${has ? html`<label>Old password <input name="old_password" type="password" autocomplete="current-password" required maxlength="256"></label>` : ''}
    ${newPasswordFields()}
    <p><button type="submit" class="primary">Update password</button></p>
  </form>
</section>`;
  return sendPage(request, reply, { title: 'Password', body }, status);
}

function resetForm(request: FastifyRequest, reply: FastifyReply, secret: string, login: string, errors: string[], status = 200): FastifyReply {
  let csrf = readCookie(request, SIGNIN_CSRF_COOKIE);
  if (!csrf) {
    csrf = randomSecret();
    setCookie(request, reply, SIGNIN_CSRF_COOKIE, csrf, { maxAgeSeconds: 3600 });
  }
  const body = html`<section class="narrow card">
  <h1>Choose a password for ${login}</h1>
  ${errorList(errors)}
  <p class="muted">This link works once. Setting a password signs ${login} out of every browser.</p>
  <form method="post" action="/password_reset/${secret}" class="stack">
    <input type="hidden" name="_csrf" value="${csrf}">
    <input type="text" name="username" value="${login}" autocomplete="username" hidden>
    ${newPasswordFields()}
    <p><button type="submit" class="primary">Change password</button></p>
  </form>
</section>`;
  return sendPage(request, reply, { title: 'Choose a password', body }, status);
}

export function passwordSettingsPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/settings/password', async (request, reply) => passwordPage(ctx, request, reply));

  app.post('/settings/password', async (request, reply) => {
    const fields = formFields(request.body);
    const session = requireCsrf(request, fields._csrf);
    try {
      await changeOwnPassword(ctx, session.principal, fields.old_password ?? '', fields.password ?? '', fields.password_confirmation ?? '', { keepIdHash: session.idHash });
    } catch (err) {
      if (err instanceof ValidationError) return passwordPage(ctx, request, reply, { errors: validationMessages(err) }, 422);
      throw err;
    }
    return passwordPage(ctx, request, reply, { notice: 'Password changed. Every other browser was signed out.' });
  });

  app.get<{ Params: { secret: string } }>('/password_reset/:secret', async (request, reply) => {
    try {
      const user = await resetLinkUser(ctx, request.params.secret);
      return resetForm(request, reply, request.params.secret, user.login, []);
    } catch (err) {
      if (err instanceof NotFoundError) return renderErrorPage(request, reply, 404, err.message);
      throw err;
    }
  });

  app.post<{ Params: { secret: string } }>('/password_reset/:secret', async (request, reply) => {
    const fields = formFields(request.body);
    requireSignInCsrf(request, readCookie(request, SIGNIN_CSRF_COOKIE), fields._csrf);
    const secret = request.params.secret;
    try {
      await redeemResetLink(ctx, secret, fields.password ?? '', fields.password_confirmation ?? '', request.ip);
    } catch (err) {
      if (err instanceof NotFoundError) return renderErrorPage(request, reply, 404, err.message);
      if (err instanceof ValidationError) {
        const user = await resetLinkUser(ctx, secret);
        return resetForm(request, reply, secret, user.login, validationMessages(err), 422);
      }
      throw err;
    }
    // Every session of the user ended, this browser's too if it had one.
    clearCookie(request, reply, SESSION_COOKIE);
    return reply.redirect('/login?password_reset=1', 303);
  });
}
