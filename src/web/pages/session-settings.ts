/**
 * @module web/pages/session-settings
 * `/settings/sessions`: the signed-in user's browser sessions (how each signed in, from which
 * address and browser, when, until when) and **Sign out everywhere**, which ends all of them at
 * once, this one included (`services/sessions.ts`); personal access tokens keep working.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { UnauthorizedError } from '../../domain/errors.ts';
import { listSessions, signOutEverywhere, type ListedSession, type WebSession } from '../../services/sessions.ts';
import { clearCookie, SESSION_COOKIE } from '../cookies.ts';
import { timeTag } from '../format.ts';
import { formFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { requireCsrf } from '../web-auth.ts';
import { settingsNav } from './account-settings.ts';

function signedInSession(request: FastifyRequest): WebSession {
  if (!request.webSession) throw new UnauthorizedError();
  return request.webSession;
}

function sessionRow(listed: ListedSession, current: boolean): Html {
  const how = listed.method === 'password' ? 'Password' : html`Token <code>…${listed.tokenLastEight ?? ''}</code>`;
  return html`<li class="session-row">
  <p><strong>${how}</strong>${current ? html` <span class="badge ok">This browser</span>` : ''}</p>
  <p class="muted">${listed.userAgent ?? 'Unknown browser'}</p>
  <p class="muted">From ${listed.address ?? 'an unknown address'} · signed in ${timeTag(listed.createdAt)} · expires ${timeTag(listed.expiresAt)}</p>
</li>`;
}

async function sessionsPage(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const session = signedInSession(request);
  const user = session.principal.user;
  const sessions = await listSessions(ctx, user);
  const body = html`<h1>Settings for ${user.login}</h1>
${settingsNav(request, 'sessions')}
<section>
  <h2>Web sessions (${String(sessions.length)})</h2>
  <ul class="list card sessions">${sessions.map((s) => sessionRow(s, s.idHash === session.idHash))}</ul>
</section>
<section class="card narrow">
  <h2>Sign out everywhere</h2>
  <p>Ends every session above at once, this one included. Your personal access tokens keep working; revoke them on the <a href="/settings/tokens">tokens page</a>.</p>
  <form method="post" action="/settings/sessions/delete" class="confirm" data-confirm="Sign out of every browser?">
    ${csrfField(request)}
    <button type="submit" class="danger">Sign out everywhere</button>
  </form>
</section>`;
  return sendPage(request, reply, { title: 'Sessions', body });
}

export function sessionSettingsPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/settings/sessions', async (request, reply) => sessionsPage(ctx, request, reply));

  app.post('/settings/sessions/delete', async (request, reply) => {
    const fields = formFields(request.body);
    const session = requireCsrf(request, fields._csrf);
    await signOutEverywhere(ctx, session.principal);
    clearCookie(request, reply, SESSION_COOKIE);
    return reply.redirect('/login', 303);
  });
}
