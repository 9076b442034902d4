/**
 * @module web/pages/repository-settings-views
 * The markup of `/{owner}/{repo}/settings`: the description, immutable releases, the
 * collaborators with their permission, and the visibility behind a typed confirmation. Each part
 * is a form of its own, with the refusals of its last submission shown beside it.
 */
import type { FastifyRequest } from 'fastify';
import type { Permission } from '../../db/schema.ts';
import type { Collaborator } from '../../services/collaborators.ts';
import type { ImmutableStatus } from '../../services/immutable-releases.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { webPath } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField } from '../layout.ts';
import { settingsPath } from './repo-admin.ts';

/** The parts of the page, each a form of its own. */
export type SettingsPart = 'general' | 'immutable' | 'collaborators' | 'visibility';

/** GitHub's role names for the permissions, most limited first. */
export const ROLES: ReadonlyArray<{ permission: Permission; label: string }> = [
  { permission: 'pull', label: 'Read' },
  { permission: 'triage', label: 'Triage' },
  { permission: 'push', label: 'Write' },
  { permission: 'maintain', label: 'Maintain' },
  { permission: 'admin', label: 'Admin' },
];

export interface SettingsView {
  collaborators: Collaborator[];
  immutable: ImmutableStatus;
  /** The refusals of the last submission, shown beside the part it came from. */
  refusal?: { part: SettingsPart; messages: string[] };
  /** What a refused form had, so nothing typed is lost. */
  typed?: { description?: string; login?: string; permission?: Permission };
  /** What the last submission did (after its redirect). */
  notice?: string;
}

function refusalOf(view: SettingsView, part: SettingsPart): Html | '' {
  if (view.refusal?.part !== part) return '';
  return html`<div class="flash error" role="alert"><ul>${view.refusal.messages.map((m) => html`<li>${m}</li>`)}</ul></div>`;
}

function roleOptions(current: Permission): Html[] {
  return ROLES.map((r) => html`<option value="${r.permission}"${r.permission === current ? html` selected` : ''}>${r.label} (${r.permission})</option>`);
}

function generalPart(request: FastifyRequest, access: RepoAccess, view: SettingsView): Html {
  const description = view.typed?.description ?? access.repo.description ?? '';
  return html`<section class="card" id="general" aria-labelledby="general-heading">
<h2 id="general-heading">General</h2>
${refusalOf(view, 'general')}
<form method="post" action="${settingsPath(access)}" class="stack">
${csrfField(request)}
<label>Description <input name="description" value="${description}" maxlength="350"></label>
<p><button type="submit">Save</button></p>
</form>
</section>`;
}

function immutablePart(request: FastifyRequest, access: RepoAccess, view: SettingsView): Html {
  const { enabled, enforced_by_owner: enforced } = view.immutable;
  return html`<section class="card" id="immutable-releases" aria-labelledby="immutable-heading">
<h2 id="immutable-heading">Releases</h2>
${refusalOf(view, 'immutable')}
<form method="post" action="${settingsPath(access, 'immutable_releases')}" class="stack">
${csrfField(request)}
<label class="check"><input type="checkbox" name="enabled" value="1"${enabled ? html` checked` : ''}${enforced ? html` disabled` : ''}> Enable release immutability</label>
<p class="muted">${
    enforced
      ? `${access.owner.login} enforces immutable releases on this repository; only its owners can turn them off.`
      : 'Releases published from now on cannot have their assets or tag changed, and their tags cannot be used again. Drafts stay editable.'
  }</p>
${enforced ? '' : html`<p><button type="submit">Save</button></p>`}
</form>
</section>`;
}

function collaboratorRow(request: FastifyRequest, access: RepoAccess, c: Collaborator): Html {
  const login = c.account.login;
  const isOwner = c.account.id === access.owner.id;
  const base = settingsPath(access, 'collaborators', login);
  const controls = isOwner
    ? html`<span class="muted">Owner</span>`
    : html`<form method="post" action="${base}" class="inline role-form">${csrfField(request)}<select name="permission" aria-label="Permission of ${login}">${roleOptions(c.permission)}</select>
<button type="submit" aria-label="Change the permission of ${login}">Change</button></form>
<form method="post" action="${base}/delete" class="inline confirm" data-confirm="Remove ${login} from ${access.owner.login}/${access.repo.name}? They lose access at once.">${csrfField(
        request,
      )}<button type="submit" class="danger" aria-label="Remove ${login}">Remove</button></form>`;
  return html`<li class="collaborator" data-login="${login}">
<div class="collaborator-name"><a href="${webPath(login)}"><strong>${login}</strong></a>${c.account.name ? html` <span class="muted">${c.account.name}</span>` : ''}</div>
<div class="actions">${controls}</div>
</li>`;
}

function collaboratorsPart(request: FastifyRequest, access: RepoAccess, view: SettingsView): Html {
  const permission = view.typed?.permission ?? 'push';
  return html`<section class="card" id="collaborators" aria-labelledby="collaborators-heading">
<h2 id="collaborators-heading">Collaborators</h2>
${refusalOf(view, 'collaborators')}
${
  view.collaborators.length
    ? html`<ul class="list collaborators">${view.collaborators.map((c) => collaboratorRow(request, access, c))}</ul>`
    : html`<p class="muted">No collaborators yet: the organization's owners administer this repository.</p>`
}
<form method="post" action="${settingsPath(access, 'collaborators')}" class="stack add-collaborator">
${csrfField(request)}
<h3>Add a collaborator</h3>
<label>Username <input name="login" value="${view.typed?.login ?? ''}" required maxlength="39" autocomplete="off" autocapitalize="off" spellcheck="false"></label>
<label>Permission <select name="permission">${roleOptions(permission)}</select></label>
<p><button type="submit" class="primary">Add collaborator</button></p>
</form>
</section>`;
}

function visibilityPart(request: FastifyRequest, access: RepoAccess, view: SettingsView): Html {
  const full = `${access.owner.login}/${access.repo.name}`;
  const isPrivate = access.repo.private === 1;
  const target = isPrivate ? 'public' : 'private';
  return html`<section class="card danger-zone" id="visibility" aria-labelledby="visibility-heading">
<h2 id="visibility-heading">Danger zone</h2>
${refusalOf(view, 'visibility')}
<form method="post" action="${settingsPath(access, 'visibility')}" class="stack">
${csrfField(request)}
<input type="hidden" name="visibility" value="${target}">
<p>This repository is <strong>${isPrivate ? 'private' : 'public'}</strong>. ${
    isPrivate
      ? 'Making it public shows it, its releases and their assets to everyone, signed in or not.'
      : 'Making it private hides it, its releases and their assets from everyone but its owner and collaborators, at once.'
  }</p>
<label><span>Type <code>${full}</code> to confirm</span> <input name="confirm" value="" required autocomplete="off" autocapitalize="off" spellcheck="false"></label>
<p><button type="submit" class="danger">Make ${target}</button></p>
</form>
</section>`;
}

export function settingsBody(request: FastifyRequest, access: RepoAccess, view: SettingsView): Html {
  return html`<h1>Settings</h1>
${view.notice ? html`<p class="flash" role="status">${view.notice}</p>` : ''}
${generalPart(request, access, view)}
${immutablePart(request, access, view)}
${collaboratorsPart(request, access, view)}
${visibilityPart(request, access, view)}`;
}
