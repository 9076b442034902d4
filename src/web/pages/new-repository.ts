/**
 * @module web/pages/new-repository
 * `/new`: create a repository from the browser, as GitHub's page does: an owner (the signed-in
 * user, or an organization they administer), a name, a description and the visibility. The form
 * calls the API's service (`createRepository`, with `requireOrgRepositoryCreator` for an
 * organization), so names, scopes and errors are the API's; a refusal shows them beside the form
 * with the values kept.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import { getAccount } from '../../services/accounts.ts';
import { createRepository, repositoryOwnersFor, requireOrgRepositoryCreator } from '../../services/repositories.ts';
import type { WebSession } from '../../services/sessions.ts';
import { validationMessages } from '../error-pages.ts';
import { repoPath } from '../format.ts';
import { formFields, type FormFields } from '../forms.ts';
import { html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { requireCsrf } from '../web-auth.ts';
import { errorList } from './account-settings.ts';

type Visibility = 'public' | 'private';

interface NewRepositoryState {
  owner: string;
  name: string;
  description: string;
  visibility: Visibility;
}

function signedInSession(request: FastifyRequest): WebSession {
  if (!request.webSession) throw new UnauthorizedError();
  return request.webSession;
}

async function newRepositoryPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  state: NewRepositoryState,
  errors: string[] = [],
  status = 200,
): Promise<FastifyReply> {
  const principal = signedInSession(request).principal;
  const owners = await repositoryOwnersFor(ctx, principal);
  const radio = (value: Visibility, label: string, hint: string) =>
    html`<label class="check"><input type="radio" name="visibility" value="${value}"${state.visibility === value ? ' checked' : ''}> ${label} <small class="muted">${hint}</small></label>`;
  const body = html`<section class="card narrow">
  <h1>Create a new repository</h1>
  ${errorList(errors)}
  <form method="post" action="/new" class="stack">
    ${csrfField(request)}
    <label>Owner <select name="owner">${owners.map((o) => html`<option value="${o.login}"${o.login.toLowerCase() === state.owner.toLowerCase() ? ' selected' : ''}>${o.login}</option>`)}</select></label>
    <label>Repository name <input name="name" value="${state.name}" required maxlength="100" autocomplete="off" autocapitalize="off" spellcheck="false"></label>
    <label>Description <small class="muted">(optional)</small><input name="description" value="${state.description}" maxlength="350"></label>
    <fieldset class="events">
      <legend>Visibility</legend>
      ${radio('public', 'Public', 'Anyone can see this repository and its releases.')}
      ${radio('private', 'Private', 'Only you and the people you give access see it.')}
    </fieldset>
    <p><button type="submit" class="primary">Create repository</button></p>
  </form>
</section>`;
  return sendPage(request, reply, { title: 'Create a new repository', body }, status);
}

function stateOf(fields: FormFields, fallbackOwner: string): NewRepositoryState {
  return {
    owner: (fields.owner ?? '').trim() || fallbackOwner,
    name: (fields.name ?? '').trim(),
    description: (fields.description ?? '').trim(),
    visibility: fields.visibility === 'private' ? 'private' : 'public',
  };
}

export function newRepositoryPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/new', async (request, reply) => {
    const login = signedInSession(request).principal.user.login;
    return newRepositoryPage(ctx, request, reply, { owner: login, name: '', description: '', visibility: 'public' });
  });

  app.post('/new', async (request, reply) => {
    const fields = formFields(request.body);
    const session = requireCsrf(request, fields._csrf);
    const principal = session.principal;
    const state = stateOf(fields, principal.user.login);
    try {
      let owner = principal.user;
      if (state.owner.toLowerCase() !== principal.user.login_lower) {
        owner = await getAccount(ctx, state.owner);
        await requireOrgRepositoryCreator(ctx, owner, principal);
      }
      const repo = await createRepository(ctx, owner, principal, { name: state.name, description: state.description || null, visibility: state.visibility });
      return reply.redirect(repoPath(owner.login, repo.name), 303);
    } catch (err) {
      if (err instanceof ValidationError) return newRepositoryPage(ctx, request, reply, state, validationMessages(err), 422);
      if (err instanceof ForbiddenError) return newRepositoryPage(ctx, request, reply, state, [err.message], 403);
      if (err instanceof NotFoundError) return newRepositoryPage(ctx, request, reply, state, [`You cannot create repositories for ${state.owner}.`], 404);
      throw err;
    }
  });
}
