/**
 * @module web/pages/repository-settings
 * `/{owner}/{repo}/settings`, GitHub's address: a repository's description, immutable releases,
 * collaborators and their permission, and its visibility. Each form calls the service the REST
 * API calls for the same change (`updateRepositorySettings`, `addCollaborator`,
 * `removeCollaborator`, `setRepositoryImmutableReleases`), so the rules, the audit log and the
 * refusals are the API's; a refusal is shown beside the form it came from, with the status the
 * API would answer.
 *
 * Repository admins only: everyone else gets the 404 of a page that does not exist, before any
 * CSRF or form check (`repo-admin.ts`). A pull mirror's settings work as any repository's: only
 * its releases, assets and refs are read-only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Permission } from '../../db/schema.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { addCollaborator, listRepositoryCollaborators, removeCollaborator } from '../../services/collaborators.ts';
import { immutableStatus, setRepositoryImmutableReleases } from '../../services/immutable-releases.ts';
import { updateRepositorySettings } from '../../services/repositories.ts';
import { formRefusal } from '../error-pages.ts';
import { checked, type FormFields } from '../forms.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { repoAdminAccess, repoAdminForm, settingsNav, settingsPath, type AdminRepoAccess } from './repo-admin.ts';
import { repoHeader } from './repo-header.ts';
import { ROLES, settingsBody, type SettingsPart, type SettingsView } from './repository-settings-views.ts';

type CollaboratorParams = { owner: string; repo: string; login: string };

/** What a submission did, named in the redirect's `?done=` so a reload shows it and repeats nothing. */
const NOTICES: Record<string, string> = {
  general: 'Settings saved.',
  immutable: 'Immutable releases setting saved.',
  added: 'Collaborator added.',
  changed: 'Permission changed.',
  removed: 'Collaborator removed.',
  visibility: 'Visibility changed.',
};

async function settingsPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  access: AdminRepoAccess,
  view: Omit<SettingsView, 'collaborators' | 'immutable'>,
  status = 200,
): Promise<FastifyReply> {
  const [collaborators, immutable] = await Promise.all([listRepositoryCollaborators(ctx, access), immutableStatus(ctx, access.repo)]);
  const body = html`${repoHeader(request, access, 'settings')}
${settingsNav(access, 'general')}
${settingsBody(request, access, { ...view, collaborators, immutable })}`;
  return sendPage(request, reply, { title: `Settings · ${access.owner.login}/${access.repo.name}`, body }, status);
}

function permissionOf(fields: FormFields): Permission | undefined {
  return ROLES.find((r) => r.permission === fields.permission)?.permission;
}

/**
 * Runs a change through its service and goes back to the page (`done` names what happened), or
 * shows the service's refusal beside the form `part`. Anything else is the error page's.
 */
async function change(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  access: AdminRepoAccess,
  o: { part: SettingsPart; done: string; typed?: SettingsView['typed']; notFound?: string },
  run: () => Promise<unknown>,
): Promise<FastifyReply> {
  try {
    await run();
  } catch (err) {
    const refusal = formRefusal(err);
    if (!refusal) throw err;
    // A 404 here is the user the form named, never the repository (checked before): say so.
    const messages = err instanceof NotFoundError && o.notFound ? [o.notFound] : refusal.messages;
    return settingsPage(ctx, request, reply, access, { refusal: { part: o.part, messages }, typed: o.typed }, refusal.status);
  }
  return reply.redirect(`${settingsPath(access)}?done=${o.done}`, 303);
}

export function repositorySettingsPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/settings', async (request, reply) => {
    const access = await repoAdminAccess(ctx, request);
    const done = (request.query as Record<string, unknown>).done;
    return settingsPage(ctx, request, reply, access, { notice: typeof done === 'string' ? NOTICES[done] : undefined });
  });

  app.post('/:owner/:repo/settings', async (request, reply) => {
    const { access, fields } = await repoAdminForm(ctx, request);
    const description = (fields.description ?? '').trim();
    return change(ctx, request, reply, access, { part: 'general', done: 'general', typed: { description } }, () =>
      updateRepositorySettings(ctx, access, { description: description || null }),
    );
  });

  app.post('/:owner/:repo/settings/visibility', async (request, reply) => {
    const { access, fields } = await repoAdminForm(ctx, request);
    const full = `${access.owner.login}/${access.repo.name}`;
    return change(ctx, request, reply, access, { part: 'visibility', done: 'visibility' }, async () => {
      // GitHub asks for the repository's name before its visibility changes; so does this form.
      if ((fields.confirm ?? '').trim() !== full) {
        throw new ValidationError([{ resource: 'Repository', field: 'visibility', code: 'custom', message: `Type ${full} to confirm the change.` }]);
      }
      await updateRepositorySettings(ctx, access, { visibility: fields.visibility });
    });
  });

  app.post('/:owner/:repo/settings/immutable_releases', async (request, reply) => {
    const { access, fields } = await repoAdminForm(ctx, request);
    return change(ctx, request, reply, access, { part: 'immutable', done: 'immutable' }, () => setRepositoryImmutableReleases(ctx, access, checked(fields, 'enabled')));
  });

  app.post('/:owner/:repo/settings/collaborators', async (request, reply) => {
    const { access, fields } = await repoAdminForm(ctx, request);
    const login = (fields.login ?? '').trim();
    const permission = permissionOf(fields);
    return change(
      ctx,
      request,
      reply,
      access,
      { part: 'collaborators', done: 'added', typed: { login, permission }, notFound: login ? `There is no user named ${login}.` : 'Enter the username of the person to add.' },
      () =>
        // An unknown permission goes to the service as sent, which refuses it as the API does.
        addCollaborator(ctx, access, login, { permission: fields.permission }),
    );
  });

  app.post<{ Params: CollaboratorParams }>('/:owner/:repo/settings/collaborators/:login', async (request, reply) => {
    const { access, fields } = await repoAdminForm(ctx, request);
    const { login } = request.params;
    return change(ctx, request, reply, access, { part: 'collaborators', done: 'changed', notFound: `There is no user named ${login}.` }, () =>
      addCollaborator(ctx, access, login, { permission: fields.permission }),
    );
  });

  app.post<{ Params: CollaboratorParams }>('/:owner/:repo/settings/collaborators/:login/delete', async (request, reply) => {
    const { access } = await repoAdminForm(ctx, request);
    const { login } = request.params;
    return change(ctx, request, reply, access, { part: 'collaborators', done: 'removed', notFound: `There is no user named ${login}.` }, () =>
      removeCollaborator(ctx, access, login),
    );
  });
}
