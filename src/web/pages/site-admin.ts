/**
 * @module web/pages/site-admin
 * Site administration in the browser, at GHES-style addresses under `/site_admin`: users (create,
 * with a first token shown once; issue another token; a one-time password reset link; suspend
 * and unsuspend; delete),
 * organizations (create; members and their role) and every repository.
 *
 * Only a site administrator acting as one sees these pages: signed in with a token that holds the
 * `site_admin` scope (`actsAsSiteAdmin`), as the admin API requires. Anyone else signed in gets
 * the 404 of a page that does not exist, before any CSRF or form check; anonymous visitors are
 * sent to sign in. Every action calls the service the CLI and the admin API call, and is audited
 * as there, with the administrator as the actor.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Account } from '../../db/schema.ts';
import { NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import { unknownScopes } from '../../domain/oauth-scopes.ts';
import { createOrganization, createUser, getUser } from '../../services/accounts.ts';
import { actorOf } from '../../services/audit.ts';
import { actsAsSiteAdmin } from '../../services/oauth-scopes.ts';
import { createResetLink } from '../../services/passwords.ts';
import type { WebSession } from '../../services/sessions.ts';
import { addOrganizationMember, getOrganization, listAllRepositories, listOrganizationMembers, listOrganizations, SITE_LIST_LIMIT } from '../../services/site-admin.ts';
import { issueToken, type IssuedToken } from '../../services/tokens.ts';
import { deleteUser, listUsers, planUserDeletion, setSuspended } from '../../services/user-admin.ts';
import { validationMessages } from '../error-pages.ts';
import { repoPath, timeTag, webPath } from '../format.ts';
import { checked, formFields, type FormFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { requireCsrf } from '../web-auth.ts';

/** Scopes of a token an administrator issues unless told otherwise: what gh and release tools need (as the CLI). */
const DEFAULT_SCOPES = 'repo read:org workflow';
/** Note on tokens issued from these pages, so their owner knows where they came from. */
const ISSUED_NOTE = 'issued by a site administrator';
const TOKEN_DAYS = 30;

type Section = 'users' | 'organizations' | 'repositories';

/** The administrator's session; 404 for everyone else signed in, sign-in for anonymous visitors. */
function adminSession(request: FastifyRequest): WebSession {
  const session = request.webSession;
  if (!session) {
    if (request.principal) throw new NotFoundError();
    throw new UnauthorizedError();
  }
  if (!actsAsSiteAdmin(session.principal)) throw new NotFoundError();
  return session;
}

/** The same for a form post: the administrator check first, then the CSRF checks. */
function adminForm(request: FastifyRequest): { session: WebSession; fields: FormFields } {
  adminSession(request);
  const fields = formFields(request.body);
  return { session: requireCsrf(request, fields._csrf), fields };
}

function adminNav(current: Section): Html {
  const link = (name: Section, label: string) => html`<a href="/site_admin/${name}"${name === current ? html` class="current" aria-current="page"` : ''}>${label}</a>`;
  return html`<nav class="tabs" aria-label="Site administration">${link('users', 'Users')}${link('organizations', 'Organizations')}${link('repositories', 'Repositories')}</nav>`;
}

function errorList(errors: string[]): Html | '' {
  if (!errors.length) return '';
  return html`<div class="flash error" role="alert"><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>`;
}

function adminPage(request: FastifyRequest, reply: FastifyReply, section: Section, title: string, body: Html, status = 200): FastifyReply {
  const page = html`<h1>Site administration</h1>
${adminNav(section)}
${body}`;
  return sendPage(request, reply, { title: `${title} · Site administration`, body: page }, status);
}

function issuedNotice(login: string, issued: IssuedToken): Html {
  return html`<section class="flash issued" role="status">
  <p><strong>Token for ${login}: copy it now and hand it over safely. It is not shown again.</strong></p>
  <p class="token-value"><code id="new-token">${issued.token}</code> <button type="button" class="copy" data-copy="${issued.token}" aria-label="Copy the token for ${login}">Copy</button></p>
  <p class="muted">${login} signs in with it at <a href="/login">/login</a> and can then make their own tokens.</p>
</section>`;
}

function resetLinkNotice(login: string, url: string, expiresAt: string): Html {
  return html`<section class="flash issued" role="status">
  <p><strong>Password reset link for ${login}: hand it over safely. It works once, until ${timeTag(expiresAt)}, and is not shown again.</strong></p>
  <p class="token-value"><code id="reset-link">${url}</code> <button type="button" class="copy" data-copy="${url}" aria-label="Copy the reset link for ${login}">Copy</button></p>
  <p class="muted">Making another link voids this one.</p>
</section>`;
}

function parseScopes(value: string | undefined): string[] {
  const scopes = (value ?? '').split(/[\s,]+/).filter(Boolean);
  const unknown = unknownScopes(scopes);
  if (unknown.length) throw new ValidationError([{ resource: 'OauthAccess', field: 'scopes', code: 'invalid', message: `Unknown scope ${unknown.join(', ')}.` }]);
  return scopes;
}

function expiresIn(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function issueFor(ctx: AppContext, session: WebSession, user: Account, scopesField: string | undefined): Promise<IssuedToken> {
  return issueToken(ctx.db, user, parseScopes(scopesField), { note: ISSUED_NOTE, expiresAt: expiresIn(TOKEN_DAYS), actor: actorOf(session.principal) });
}

// ---- users ------------------------------------------------------------------------------------

interface NewUserState {
  login: string;
  email: string;
  name: string;
  admin: boolean;
  token: boolean;
  scopes: string;
}

const EMPTY_USER: NewUserState = { login: '', email: '', name: '', admin: false, token: true, scopes: DEFAULT_SCOPES };

function userRow(request: FastifyRequest, user: Account, self: boolean): Html {
  const base = `/site_admin/users/${encodeURIComponent(user.login)}`;
  return html`<li class="user-row" id="user-${user.login}">
  <p><a href="${webPath(user.login)}"><strong>${user.login}</strong></a>${user.name ? html` <span class="muted">${user.name}</span>` : ''}
    ${user.site_admin ? html` <span class="badge">Site admin</span>` : ''}${user.suspended_at ? html` <span class="badge failed">Suspended ${timeTag(user.suspended_at)}</span>` : ''}</p>
  <p class="muted">${user.email ?? 'No e-mail address'} · created ${timeTag(user.created_at)}</p>
  <div class="actions">
    <form method="post" action="${base}/tokens" class="inline">${csrfField(request)}<input type="hidden" name="scopes" value="${DEFAULT_SCOPES}"><button type="submit" class="small" aria-label="Issue token for ${user.login}">Issue token</button></form>
    <form method="post" action="${base}/reset_link" class="inline">${csrfField(request)}<button type="submit" class="small" aria-label="Password reset link for ${user.login}">Reset link</button></form>
    ${
      self
        ? ''
        : html`<form method="post" action="${base}/${user.suspended_at ? 'unsuspend' : 'suspend'}" class="inline">${csrfField(request)}<button type="submit" class="small${user.suspended_at ? '' : ' danger'}" aria-label="${user.suspended_at ? 'Unsuspend' : 'Suspend'} ${user.login}">${user.suspended_at ? 'Unsuspend' : 'Suspend'}</button></form>
    <form method="post" action="${base}/delete" class="inline confirm" data-confirm="Delete ${user.login} with their repositories, releases and assets? This cannot be undone.">${csrfField(request)}<input type="hidden" name="confirm" value="${user.login}"><button type="submit" class="small danger" aria-label="Delete ${user.login}">Delete</button></form>`
    }
  </div>
</li>`;
}

async function usersPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  o: {
    state?: NewUserState;
    errors?: string[];
    issued?: { login: string; token: IssuedToken };
    notice?: string;
    resetLink?: { login: string; url: string; expiresAt: string };
  } = {},
  status = 200,
): Promise<FastifyReply> {
  const me = adminSession(request).principal.user;
  const users = await listUsers(ctx);
  const s = o.state ?? EMPTY_USER;
  const body = html`${errorList(o.errors ?? [])}
${o.notice ? html`<p class="flash" role="status">${o.notice}</p>` : ''}
${o.issued ? issuedNotice(o.issued.login, o.issued.token) : ''}
${o.resetLink ? resetLinkNotice(o.resetLink.login, o.resetLink.url, o.resetLink.expiresAt) : ''}
<section class="card narrow">
  <h2>Create a user</h2>
  <form method="post" action="/site_admin/users" class="stack">
    ${csrfField(request)}
    <label>Username <input name="login" value="${s.login}" required maxlength="39" autocomplete="off"></label>
    <label>E-mail address <input name="email" type="email" value="${s.email}" maxlength="255" autocomplete="off"></label>
    <label>Name <input name="name" value="${s.name}" maxlength="255" autocomplete="off"></label>
    <label class="check"><input type="checkbox" name="admin" value="1"${s.admin ? ' checked' : ''}> Site administrator</label>
    <label class="check"><input type="checkbox" name="token" value="1"${s.token ? ' checked' : ''}> Issue a first token (${String(TOKEN_DAYS)} days) to sign in with</label>
    <label>Its scopes <small class="muted">Space- or comma-separated GitHub scopes.</small><input name="scopes" value="${s.scopes}"></label>
    <p><button type="submit" class="primary">Create user</button></p>
  </form>
</section>
<section>
  <h2>Users (${String(users.length)})</h2>
  <ul class="list card users">${users.map((u) => userRow(request, u, u.id === me.id))}</ul>
</section>`;
  return adminPage(request, reply, 'users', 'Users', body, status);
}

function newUserState(fields: FormFields): NewUserState {
  return {
    login: (fields.login ?? '').trim(),
    email: (fields.email ?? '').trim(),
    name: (fields.name ?? '').trim(),
    admin: checked(fields, 'admin'),
    token: checked(fields, 'token'),
    scopes: fields.scopes ?? DEFAULT_SCOPES,
  };
}

function createUserProblems(err: unknown, login: string): string[] {
  if (err instanceof ValidationError && err.errors[0]?.code === 'already_exists') return [`A user or organization named ${login} already exists.`];
  if (err instanceof ValidationError && err.errors[0]?.field === 'login') {
    return [`"${login}" is not a valid username: letters, digits and single hyphens, not at the start or end, at most 39 characters.`];
  }
  return validationMessages(err);
}

// ---- organizations ----------------------------------------------------------------------------

interface NewOrgState {
  login: string;
  admin: string;
  name: string;
}

async function organizationsPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  o: { state?: NewOrgState; errors?: string[] } = {},
  status = 200,
): Promise<FastifyReply> {
  const me = adminSession(request).principal.user;
  const orgs = await listOrganizations(ctx);
  const s = o.state ?? { login: '', admin: me.login, name: '' };
  const body = html`${errorList(o.errors ?? [])}
<section class="card narrow">
  <h2>Create an organization</h2>
  <form method="post" action="/site_admin/organizations" class="stack">
    ${csrfField(request)}
    <label>Organization name <input name="login" value="${s.login}" required maxlength="39" autocomplete="off"></label>
    <label>Display name <input name="name" value="${s.name}" maxlength="255" autocomplete="off"></label>
    <label>Administered by <small class="muted">An existing user.</small><input name="admin" value="${s.admin}" required maxlength="39" autocomplete="off"></label>
    <p><button type="submit" class="primary">Create organization</button></p>
  </form>
</section>
<section>
  <h2>Organizations (${String(orgs.length)})</h2>
  ${
    orgs.length
      ? html`<ul class="list card orgs">${orgs.map(
          ({ org, members }) =>
            html`<li><a href="/site_admin/organizations/${encodeURIComponent(org.login)}"><strong>${org.login}</strong></a>${org.name ? html` <span class="muted">${org.name}</span>` : ''} <span class="muted">· ${String(members)} member${members === 1 ? '' : 's'} · created ${timeTag(org.created_at)}</span></li>`,
        )}</ul>`
      : html`<p class="empty">No organizations yet.</p>`
  }
</section>`;
  return adminPage(request, reply, 'organizations', 'Organizations', body, status);
}

async function organizationPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  org: Account,
  o: { errors?: string[]; member?: string } = {},
  status = 200,
): Promise<FastifyReply> {
  const members = await listOrganizationMembers(ctx, org);
  const base = `/site_admin/organizations/${encodeURIComponent(org.login)}`;
  const body = html`<p class="crumbs"><a href="/site_admin/organizations">Organizations</a> / ${org.login}</p>
<h2><a href="${webPath(org.login)}">${org.login}</a></h2>
${errorList(o.errors ?? [])}
<section>
  <h3>Members (${String(members.length)})</h3>
  <ul class="list card members">${members.map(
    (m) =>
      html`<li><a href="${webPath(m.user.login)}">${m.user.login}</a> <span class="badge">${m.role === 'admin' ? 'Owner' : 'Member'}</span>
      <form method="post" action="${base}/members" class="inline">${csrfField(request)}<input type="hidden" name="login" value="${m.user.login}"><input type="hidden" name="role" value="${m.role === 'admin' ? 'member' : 'admin'}"><button type="submit" class="small" aria-label="${m.role === 'admin' ? 'Make member' : 'Make owner'} ${m.user.login}">${m.role === 'admin' ? 'Make member' : 'Make owner'}</button></form></li>`,
  )}</ul>
</section>
<section class="card narrow">
  <h3>Add a member</h3>
  <form method="post" action="${base}/members" class="stack">
    ${csrfField(request)}
    <label>Username <input name="login" value="${o.member ?? ''}" required maxlength="39" autocomplete="off"></label>
    <label>Role <select name="role"><option value="member">Member</option><option value="admin">Owner (administers the organization)</option></select></label>
    <p><button type="submit" class="primary">Add member</button></p>
  </form>
</section>`;
  return adminPage(request, reply, 'organizations', org.login, body, status);
}

// ---- repositories -----------------------------------------------------------------------------

async function repositoriesPage(ctx: AppContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  adminSession(request);
  const repos = await listAllRepositories(ctx);
  const body = html`<section>
  <h2>Repositories (${String(repos.length)}${repos.length >= SITE_LIST_LIMIT ? '+' : ''})</h2>
  ${
    repos.length
      ? html`<ul class="list card repos">${repos.map(
          (r) =>
            html`<li><a href="${repoPath(r.owner, r.name)}"><strong>${r.owner}/${r.name}</strong></a> ${r.private ? html`<span class="badge">Private</span>` : ''}
  <span class="muted">· ${String(r.releases)} release${r.releases === 1 ? '' : 's'} · created ${timeTag(r.createdAt)}</span></li>`,
        )}</ul>`
      : html`<p class="empty">No repositories yet.</p>`
  }
</section>`;
  return adminPage(request, reply, 'repositories', 'Repositories', body);
}

// ---- routes -----------------------------------------------------------------------------------

type LoginParams = { login: string };

export function siteAdminPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/site_admin', async (request, reply) => {
    adminSession(request);
    return reply.redirect('/site_admin/users', 303);
  });

  app.get('/site_admin/users', async (request, reply) => usersPage(ctx, request, reply));

  app.post('/site_admin/users', async (request, reply) => {
    const { session, fields } = adminForm(request);
    const state = newUserState(fields);
    const actor = actorOf(session.principal);
    try {
      const scopes = state.token ? parseScopes(state.scopes) : [];
      // The user and their first token are two steps, as with the CLI; a refused token leaves a
      // user who can be given one with "Issue token".
      const user = await createUser(ctx, { login: state.login, email: state.email || null, name: state.name || null, siteAdmin: state.admin }, actor);
      const issued = state.token ? await issueToken(ctx.db, user, scopes, { note: ISSUED_NOTE, expiresAt: expiresIn(TOKEN_DAYS), actor }) : undefined;
      return usersPage(ctx, request, reply, { issued: issued ? { login: user.login, token: issued } : undefined, notice: `Created ${user.login}.` }, 201);
    } catch (err) {
      if (err instanceof ValidationError) return usersPage(ctx, request, reply, { state, errors: createUserProblems(err, state.login) }, 422);
      throw err;
    }
  });

  app.post<{ Params: LoginParams }>('/site_admin/users/:login/tokens', async (request, reply) => {
    const { session, fields } = adminForm(request);
    const user = await getUser(ctx, request.params.login);
    try {
      const issued = await issueFor(ctx, session, user, fields.scopes ?? DEFAULT_SCOPES);
      return usersPage(ctx, request, reply, { issued: { login: user.login, token: issued } }, 201);
    } catch (err) {
      if (err instanceof ValidationError) return usersPage(ctx, request, reply, { errors: validationMessages(err) }, 422);
      throw err;
    }
  });

  app.post<{ Params: LoginParams }>('/site_admin/users/:login/reset_link', async (request, reply) => {
    const { session } = adminForm(request);
    const user = await getUser(ctx, request.params.login);
    const link = await createResetLink(ctx, user, actorOf(session.principal));
    return usersPage(ctx, request, reply, { resetLink: { login: user.login, url: `${request.urls.web}${link.path}`, expiresAt: link.expiresAt } }, 201);
  });

  for (const [action, suspended] of [
    ['suspend', true],
    ['unsuspend', false],
  ] as const) {
    app.post<{ Params: LoginParams }>(`/site_admin/users/:login/${action}`, async (request, reply) => {
      const { session } = adminForm(request);
      const user = await getUser(ctx, request.params.login);
      if (user.id === session.principal.user.id) return usersPage(ctx, request, reply, { errors: ['You cannot suspend yourself.'] }, 422);
      await setSuspended(ctx, user.login, suspended, actorOf(session.principal));
      return reply.redirect(`/site_admin/users#user-${encodeURIComponent(user.login)}`, 303);
    });
  }

  app.post<{ Params: LoginParams }>('/site_admin/users/:login/delete', async (request, reply) => {
    const { session, fields } = adminForm(request);
    const user = await getUser(ctx, request.params.login);
    if (user.id === session.principal.user.id) return usersPage(ctx, request, reply, { errors: ['You cannot delete yourself.'] }, 422);
    if (fields.confirm !== user.login) return usersPage(ctx, request, reply, { errors: [`Deleting ${user.login} needs the confirmation field to name them.`] }, 422);
    const plan = await planUserDeletion(ctx, user.login);
    if (plan.releasesElsewhere > 0) {
      return usersPage(
        ctx,
        request,
        reply,
        { errors: [`${user.login} published ${String(plan.releasesElsewhere)} release(s) in other accounts' repositories, which would lose their author; suspend them instead.`] },
        422,
      );
    }
    await deleteUser(ctx, plan, actorOf(session.principal));
    return usersPage(ctx, request, reply, { notice: `Deleted ${user.login} and ${String(plan.repositories.length)} repositor${plan.repositories.length === 1 ? 'y' : 'ies'}.` });
  });

  app.get('/site_admin/organizations', async (request, reply) => organizationsPage(ctx, request, reply));

  app.post('/site_admin/organizations', async (request, reply) => {
    const { session, fields } = adminForm(request);
    const state: NewOrgState = { login: (fields.login ?? '').trim(), admin: (fields.admin ?? '').trim(), name: (fields.name ?? '').trim() };
    try {
      const org = await createOrganization(ctx, state.login, state.admin, state.name || null, actorOf(session.principal));
      return reply.redirect(`/site_admin/organizations/${encodeURIComponent(org.login)}`, 303);
    } catch (err) {
      if (err instanceof ValidationError) return organizationsPage(ctx, request, reply, { state, errors: createUserProblems(err, state.login) }, 422);
      throw err;
    }
  });

  app.get<{ Params: LoginParams }>('/site_admin/organizations/:login', async (request, reply) => {
    adminSession(request);
    return organizationPage(ctx, request, reply, await getOrganization(ctx, request.params.login));
  });

  app.post<{ Params: LoginParams }>('/site_admin/organizations/:login/members', async (request, reply) => {
    const { session, fields } = adminForm(request);
    const org = await getOrganization(ctx, request.params.login);
    const login = (fields.login ?? '').trim();
    const role = fields.role === 'admin' ? 'admin' : 'member';
    try {
      await addOrganizationMember(ctx, org, login, role, actorOf(session.principal));
    } catch (err) {
      if (err instanceof ValidationError) return organizationPage(ctx, request, reply, org, { errors: validationMessages(err), member: login }, 422);
      throw err;
    }
    return reply.redirect(`/site_admin/organizations/${encodeURIComponent(org.login)}`, 303);
  });

  app.get('/site_admin/repositories', async (request, reply) => repositoriesPage(ctx, request, reply));
}
