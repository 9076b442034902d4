/**
 * @module web/pages/account-settings
 * A signed-in user's own settings, at GitHub's addresses: `/settings/profile` (display name and
 * e-mail address) and `/settings/tokens` (personal access tokens:
 * create with scopes and an expiry, the value shown once; the list with last use; revoke).
 * Passwords and sessions have their own modules (`password-settings.ts`, `session-settings.ts`).
 *
 * Everything goes through the services the API and the CLI use (`services/tokens.ts`,
 * `services/accounts.ts`, `services/sessions.ts`), audited as they are. A session acts with the
 * scopes of the token it signed in with, so a token made here can carry only those scopes
 * (`issueOwnToken`), and revoking another token needs every scope it holds (`revokeTokenAs`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Token } from '../../db/schema.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import { GITHUB_SCOPES } from '../../domain/oauth-scopes.ts';
import { updateProfile } from '../../services/accounts.ts';
import { actorOf } from '../../services/audit.ts';
import { actsAsSiteAdmin, hasScope } from '../../services/oauth-scopes.ts';
import type { WebSession } from '../../services/sessions.ts';
import { issueOwnToken, listTokensOf, revokeTokenAs, type IssuedToken } from '../../services/tokens.ts';
import { clearCookie, SESSION_COOKIE } from '../cookies.ts';
import { validationMessages } from '../error-pages.ts';
import { timeTag } from '../format.ts';
import { checked, formFields, type FormFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { requireCsrf } from '../web-auth.ts';

/** Expiry choices of the token form, in days (GitHub offers the same); 0 is "no expiration". */
export const TOKEN_EXPIRY_DAYS = [7, 30, 60, 90, 0] as const;
const DEFAULT_EXPIRY_DAYS = 30;

/** The session of a settings page; anonymous visitors are sent to sign in (`UnauthorizedError`). */
function signedInSession(request: FastifyRequest): WebSession {
  if (!request.webSession) throw new UnauthorizedError();
  return request.webSession;
}

export function settingsNav(request: FastifyRequest, current: 'profile' | 'password' | 'sessions' | 'tokens'): Html {
  const admin = actsAsSiteAdmin(request.webSession?.principal ?? null);
  const link = (name: typeof current, href: string, label: string) => html`<a href="${href}"${name === current ? html` class="current" aria-current="page"` : ''}>${label}</a>`;
  return html`<nav class="tabs" aria-label="Settings">${link('profile', '/settings/profile', 'Profile')}${link('password', '/settings/password', 'Password')}${link('sessions', '/settings/sessions', 'Sessions')}${link(
    'tokens',
    '/settings/tokens',
    'Personal access tokens',
  )}${admin ? html`<a href="/site_admin/users">Site administration</a>` : ''}</nav>`;
}

export function errorList(errors: string[]): Html | '' {
  if (!errors.length) return '';
  return html`<div class="flash error" role="alert"><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>`;
}

// ---- profile ----------------------------------------------------------------------------------

function profilePage(
  request: FastifyRequest,
  reply: FastifyReply,
  values: { name: string; email: string },
  o: { errors?: string[]; notice?: string } = {},
  status = 200,
): FastifyReply {
  const user = signedInSession(request).principal.user;
  const body = html`<h1>Settings for ${user.login}</h1>
${settingsNav(request, 'profile')}
${errorList(o.errors ?? [])}
${o.notice ? html`<p class="flash" role="status">${o.notice}</p>` : ''}
<section class="card narrow">
  <h2>Public profile</h2>
  <form method="post" action="/settings/profile" class="stack">
    ${csrfField(request)}
    <label>Name <input name="name" value="${values.name}" maxlength="255" autocomplete="name"></label>
    <label>E-mail address <small class="muted">Commits by this address are credited to you in generated release notes.</small>
      <input name="email" type="email" value="${values.email}" maxlength="255" autocomplete="email"></label>
    <p><button type="submit" class="primary">Update profile</button></p>
  </form>
</section>
<section class="card narrow">
  <h2>Sign-in</h2>
  <p>Change your password on the <a href="/settings/password">password page</a>; see your browser sessions and sign out everywhere on the <a href="/settings/sessions">sessions page</a>.</p>
</section>`;
  return sendPage(request, reply, { title: 'Your profile', body }, status);
}

// ---- tokens -----------------------------------------------------------------------------------

interface TokenFormState {
  note: string;
  expiryDays: number;
  scopes: string[];
}

function tokenStatus(token: Token, now: number): Html {
  if (token.revoked_at) return html`<span class="badge">Revoked ${timeTag(token.revoked_at)}</span>`;
  if (token.expires_at && Date.parse(token.expires_at) <= now) return html`<span class="badge failed">Expired ${timeTag(token.expires_at)}</span>`;
  return token.expires_at ? html`<span class="muted">Expires ${timeTag(token.expires_at)}</span>` : html`<span class="muted">Never expires</span>`;
}

function tokenList(request: FastifyRequest, tokens: Token[]): Html {
  const session = signedInSession(request);
  const now = Date.now();
  const live = tokens.filter((t) => !t.revoked_at);
  const revoked = tokens.filter((t) => t.revoked_at).slice(-20);
  const row = (t: Token) => {
    const current = t.id === session.principal.token.id;
    return html`<li class="token-row" id="token-${t.id}">
  <p><strong>${t.note ?? 'Token without a note'}</strong> <code>…${t.token_last_eight}</code>${current ? html` <span class="badge ok">This session</span>` : ''}</p>
  <p class="muted">Scopes: ${t.scopes ? t.scopes.split(' ').join(', ') : 'none'}</p>
  <p class="muted">Created ${timeTag(t.created_at)} · ${t.last_used_at ? html`Last used ${timeTag(t.last_used_at)}` : 'Never used'} · ${tokenStatus(t, now)}</p>
  ${
    !t.revoked_at
      ? html`<form method="post" action="/settings/tokens/${String(t.id)}/delete" class="confirm" data-confirm="${current ? 'Revoke the token this session uses? You will be signed out.' : 'Revoke this token? Anything using it stops working.'}">
    ${csrfField(request)}
    <button type="submit" class="danger small" aria-label="Revoke token …${t.token_last_eight}">Revoke</button>
  </form>`
      : ''
  }
</li>`;
  };
  return html`<section>
  <h2>Your tokens</h2>
  ${live.length ? html`<ul class="list card tokens">${live.map(row)}</ul>` : html`<p class="empty">You have no active tokens.</p>`}
  ${revoked.length ? html`<details><summary>Revoked tokens (${String(revoked.length)})</summary><ul class="list card tokens">${revoked.map(row)}</ul></details>` : ''}
</section>`;
}

function tokenForm(request: FastifyRequest, state: TokenFormState): Html {
  const principal = signedInSession(request).principal;
  const chosen = new Set(state.scopes);
  return html`<section class="card">
  <h2>Generate a new token</h2>
  <form method="post" action="/settings/tokens" class="stack">
    ${csrfField(request)}
    <label>Note <small class="muted">What is this token for?</small><input name="note" value="${state.note}" maxlength="255" required></label>
    <label>Expiration <select name="expires_in_days">${TOKEN_EXPIRY_DAYS.map(
      (d) => html`<option value="${String(d)}"${d === state.expiryDays ? ' selected' : ''}>${d === 0 ? 'No expiration' : `${d} days`}</option>`,
    )}</select></label>
    <fieldset class="events scopes">
      <legend>Scopes</legend>
      <p class="muted">A token made here can have only scopes the token you signed in with has; the others are greyed out.</p>
      ${GITHUB_SCOPES.map((scope) => {
        const allowed = hasScope(principal, scope);
        return html`<label class="check"><input type="checkbox" name="scope_${scope}" value="1"${chosen.has(scope) && allowed ? ' checked' : ''}${allowed ? '' : ' disabled'}> <code>${scope}</code></label>`;
      })}
    </fieldset>
    <p><button type="submit" class="primary">Generate token</button></p>
  </form>
</section>`;
}

function issuedNotice(issued: IssuedToken): Html {
  return html`<section class="flash issued" role="status">
  <p><strong>Copy your new personal access token now. You won't be able to see it again.</strong></p>
  <p class="token-value"><code id="new-token">${issued.token}</code> <button type="button" class="copy" data-copy="${issued.token}" aria-label="Copy the new token">Copy</button></p>
  <p class="muted">Use it as a password with git, as <code>GH_TOKEN</code> with gh, or in an <code>Authorization: token …</code> header.</p>
</section>`;
}

async function tokensPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  o: { state?: TokenFormState; errors?: string[]; issued?: IssuedToken } = {},
  status = 200,
): Promise<FastifyReply> {
  const user = signedInSession(request).principal.user;
  const tokens = await listTokensOf(ctx.db, user);
  const body = html`<h1>Settings for ${user.login}</h1>
${settingsNav(request, 'tokens')}
${errorList(o.errors ?? [])}
${o.issued ? issuedNotice(o.issued) : ''}
${tokenList(request, tokens)}
${tokenForm(request, o.state ?? { note: '', expiryDays: DEFAULT_EXPIRY_DAYS, scopes: ['repo'] })}`;
  return sendPage(request, reply, { title: 'Personal access tokens', body }, status);
}

function tokenState(fields: FormFields): TokenFormState {
  const days = Number(fields.expires_in_days);
  return {
    note: (fields.note ?? '').trim(),
    expiryDays: (TOKEN_EXPIRY_DAYS as readonly number[]).includes(days) ? days : DEFAULT_EXPIRY_DAYS,
    scopes: Object.keys(fields)
      .filter((k) => k.startsWith('scope_') && checked(fields, k))
      .map((k) => k.slice('scope_'.length)),
  };
}

function expiryOf(days: number): string | null {
  if (days === 0) return null;
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function accountSettingsPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/settings', async (request, reply) => {
    signedInSession(request);
    return reply.redirect('/settings/profile', 303);
  });

  app.get('/settings/profile', async (request, reply) => {
    const user = signedInSession(request).principal.user;
    return profilePage(request, reply, { name: user.name ?? '', email: user.email ?? '' });
  });

  app.post('/settings/profile', async (request, reply) => {
    const fields = formFields(request.body);
    const session = requireCsrf(request, fields._csrf);
    const values = { name: fields.name ?? '', email: fields.email ?? '' };
    try {
      const updated = await updateProfile(ctx, session.principal.user, values, actorOf(session.principal));
      session.principal.user = updated;
      return profilePage(request, reply, { name: updated.name ?? '', email: updated.email ?? '' }, { notice: 'Profile updated.' });
    } catch (err) {
      if (err instanceof ValidationError) return profilePage(request, reply, values, { errors: validationMessages(err) }, 422);
      throw err;
    }
  });

  app.get('/settings/tokens', async (request, reply) => tokensPage(ctx, request, reply));

  app.post('/settings/tokens', async (request, reply) => {
    const fields = formFields(request.body);
    const session = requireCsrf(request, fields._csrf);
    const state = tokenState(fields);
    if (state.note === '') return tokensPage(ctx, request, reply, { state, errors: ['Give the token a note: what is it for?'] }, 422);
    try {
      const issued = await issueOwnToken(ctx.db, session.principal, state.scopes, { note: state.note, expiresAt: expiryOf(state.expiryDays) });
      return tokensPage(ctx, request, reply, { issued }, 201);
    } catch (err) {
      if (err instanceof ValidationError) return tokensPage(ctx, request, reply, { state, errors: validationMessages(err) }, 422);
      throw err;
    }
  });

  app.post<{ Params: { id: string } }>('/settings/tokens/:id/delete', async (request, reply) => {
    const fields = formFields(request.body);
    const session = requireCsrf(request, fields._csrf);
    const id = Number(request.params.id);
    if (!Number.isSafeInteger(id) || id < 1) throw new NotFoundError();
    // Only one's own tokens here, site administrators included: others' are revoked on the admin pages.
    const own = (await listTokensOf(ctx.db, session.principal.user)).some((t) => t.id === id);
    if (!own) throw new NotFoundError();
    try {
      await revokeTokenAs(ctx.db, session.principal, id, actorOf(session.principal));
    } catch (err) {
      if (err instanceof ForbiddenError) return tokensPage(ctx, request, reply, { errors: [err.message] }, 403);
      if (err instanceof NotFoundError) return reply.redirect('/settings/tokens', 303); // already revoked
      throw err;
    }
    if (id === session.principal.token.id) {
      clearCookie(request, reply, SESSION_COOKIE);
      return reply.redirect('/login', 303);
    }
    return reply.redirect('/settings/tokens', 303);
  });
}
