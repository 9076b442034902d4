/**
 * @module web/pages/repo-admin
 * What every repository settings page shares: the admin check (repository admins only; everyone
 * else, signed in or not, gets the 404 of a page that does not exist, as the API's settings
 * routes answer, before any CSRF or form check) and the settings navigation.
 */
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { atLeast } from '../../services/permissions.ts';
import type { Principal } from '../../services/tokens.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { repoPath } from '../format.ts';
import { html, type Html } from '../html.ts';
import { formFields, type FormFields } from '../forms.ts';
import { requireCsrf } from '../web-auth.ts';

/** A repository the caller administers, with the caller. */
export type AdminRepoAccess = RepoAccess & { principal: Principal };

/** The repository, if the caller administers it; a 404 otherwise, as if there were no such page. */
export async function repoAdminAccess(ctx: AppContext, request: FastifyRequest): Promise<AdminRepoAccess> {
  const access = await repoAccess(ctx, request);
  if (!access.principal || !atLeast(access.permission, 'admin')) throw new NotFoundError();
  return access as AdminRepoAccess;
}

/** The same, for a form post: the admin check first, then the CSRF checks. */
export async function repoAdminForm(ctx: AppContext, request: FastifyRequest): Promise<{ access: AdminRepoAccess; fields: FormFields }> {
  const access = await repoAdminAccess(ctx, request);
  const fields = formFields(request.body);
  requireCsrf(request, fields._csrf);
  return { access, fields };
}

export type SettingsSection = 'general' | 'hooks' | 'mirror';

/** `/{owner}/{repo}/settings/…` */
export function settingsPath(access: RepoAccess, ...rest: string[]): string {
  return repoPath(access.owner.login, access.repo.name, 'settings', ...rest);
}

/** The settings pages' own navigation, below the repository's tabs. */
export function settingsNav(access: RepoAccess, current: SettingsSection): Html {
  const link = (name: SettingsSection, label: string, href: string) => html`<a href="${href}"${name === current ? html` aria-current="page" class="current"` : ''}>${label}</a>`;
  return html`<nav class="tabs settings-nav" aria-label="Settings">${link('general', 'General', settingsPath(access))}${link('hooks', 'Webhooks', settingsPath(access, 'hooks'))}${link(
    'mirror',
    'Mirror',
    settingsPath(access, 'mirror'),
  )}</nav>`;
}
