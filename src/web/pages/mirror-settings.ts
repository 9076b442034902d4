/**
 * @module web/pages/mirror-settings
 * A repository's pull-mirror settings (docs/mirrors.md), at `/{owner}/{repo}/settings/mirror`:
 * the upstream, its token (write-only: never shown, an empty field keeps it), schedule, filters
 * and removal policy; the last sync's result, a running sync's progress and the next run; "Sync
 * now"; and "Stop mirroring". Every action calls the service the REST API's `…/mirror` routes
 * call (services/mirrors.ts), so the rules and the errors are the API's; the form only
 * translates fields.
 *
 * Repository admins only: everyone else, signed in or not, gets the same 404 as for a page that
 * does not exist, before any CSRF or form check (`repo-admin.ts`, as every settings page).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Mirror, MirrorKind } from '../../db/schema.ts';
import { InvalidRequestError, NotFoundError, ValidationError } from '../../domain/errors.ts';
import { wakeMirrorScheduler } from '../../features/mirrors.ts';
import { describeSummary, type SyncSummary } from '../../services/mirror-sync.ts';
import { formatSchedule, getMirror, removeMirror, requestSync, setMirror } from '../../services/mirrors.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { validationMessages } from '../error-pages.ts';
import { checked, type FormFields } from '../forms.ts';
import { repoPath, timeTag } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { repoAdminAccess, repoAdminForm, settingsNav } from './repo-admin.ts';
import { repoHeader } from './repo-header.ts';

/** What the form shows: a mirror's settings, or what was sent when the service refused it. */
interface MirrorFormState {
  upstreamUrl: string;
  kind: MirrorKind;
  schedule: string;
  tags: string;
  channels: string;
  assets: string;
  last: string;
  prune: boolean;
  hasToken: boolean;
}

const KIND_LABELS: Array<[MirrorKind, string]> = [
  ['auto', 'Detect at the first sync'],
  ['github', 'GitHub, GitHub Enterprise Server or Wharf'],
  ['gitea', 'Gitea or Forgejo'],
];

function mirrorPath(access: RepoAccess, ...rest: string[]): string {
  return repoPath(access.owner.login, access.repo.name, 'settings', 'mirror', ...rest);
}

/** The repository's mirror, or null when it is not one. */
async function mirrorOf(ctx: AppContext, access: RepoAccess): Promise<Mirror | null> {
  try {
    return await getMirror(ctx, access);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

function stateOfMirror(mirror: Mirror | null): MirrorFormState {
  return {
    upstreamUrl: mirror?.upstream_url ?? '',
    kind: mirror?.kind ?? 'auto',
    schedule: formatSchedule(mirror?.schedule_ms ?? 3_600_000),
    tags: mirror?.tag_glob ?? '',
    channels: mirror?.channels ?? '',
    assets: mirror?.asset_glob ?? '',
    last: mirror?.last_n === null || mirror?.last_n === undefined ? '' : String(mirror.last_n),
    prune: mirror ? mirror.prune === 1 : true,
    hasToken: mirror?.token_sealed != null,
  };
}

function stateOfFields(fields: FormFields, mirror: Mirror | null): MirrorFormState {
  const kind = fields.kind === 'github' || fields.kind === 'gitea' ? fields.kind : 'auto';
  return {
    upstreamUrl: (fields.upstream_url ?? '').trim(),
    kind,
    schedule: (fields.schedule ?? '').trim(),
    tags: (fields.tags ?? '').trim(),
    channels: (fields.channels ?? '').trim(),
    assets: (fields.assets ?? '').trim(),
    last: (fields.last ?? '').trim(),
    prune: checked(fields, 'prune'),
    hasToken: mirror?.token_sealed != null,
  };
}

/** The API body the form stands for. An empty token field keeps the token the mirror has. */
function mirrorBody(fields: FormFields, state: MirrorFormState): Record<string, unknown> {
  const body: Record<string, unknown> = {
    upstream_url: state.upstreamUrl,
    kind: state.kind,
    schedule: state.schedule,
    tags: state.tags || null,
    channels: state.channels || null,
    assets: state.assets || null,
    // A number when it is one; anything else goes to the service as typed, which says what is wrong.
    last: state.last === '' ? null : /^\d+$/.test(state.last) ? Number(state.last) : state.last,
    prune: state.prune,
  };
  if (checked(fields, 'remove_token')) body.token = null;
  else if (fields.token) body.token = fields.token;
  return body;
}

function field(label: string, name: string, value: string, hint: string, placeholder = ''): Html {
  return html`<label>${label} <input name="${name}" type="text" value="${value}" placeholder="${placeholder}" spellcheck="false" autocomplete="off">
<small class="muted">${hint}</small></label>`;
}

function mirrorForm(request: FastifyRequest, access: RepoAccess, mirror: Mirror | null, state: MirrorFormState): Html {
  const kinds = KIND_LABELS.map(([value, label]) => html`<option value="${value}"${value === state.kind ? html` selected` : ''}>${label}</option>`);
  return html`<form method="post" action="${mirrorPath(access)}" class="stack card mirror-form">
${csrfField(request)}
<label>Upstream repository URL <input name="upstream_url" type="url" required value="${state.upstreamUrl}" placeholder="https://github.com/OWNER/REPO" spellcheck="false" autocomplete="off"></label>
<label>Upstream API <select name="kind">${kinds}</select></label>
<label>Token <input name="token" type="password" value="" autocomplete="new-password">
<small class="muted">${state.hasToken ? 'A token is set. Leave this empty to keep it.' : 'Optional: for a private upstream or a higher rate limit. Stored encrypted, never shown again.'}</small></label>
${state.hasToken ? html`<label class="check"><input type="checkbox" name="remove_token" value="1"> Remove the token</label>` : ''}
${field('Schedule', 'schedule', state.schedule, 'How often to sync: 15m, 1h, 1d (at least a minute).', '1h')}
<fieldset class="stack"><legend>Filters (empty: everything)</legend>
${field('Tags', 'tags', state.tags, 'A glob: only tags matching it, and their releases.', 'v*')}
${field('Channels', 'channels', state.channels, "Only releases of these channels, comma-separated, as this repository's release rules derive them: stable alone leaves out pre-releases.", 'stable')}
${field('Latest releases', 'last', state.last, "Only the upstream's newest N releases.", '20')}
${field('Assets', 'assets', state.assets, 'A glob: only assets whose names match it.', '*.tar.gz')}
</fieldset>
<label class="check"><input type="checkbox" name="prune" value="1"${state.prune ? html` checked` : ''}> Remove here what the upstream removed <small class="muted">(and what the filters leave out)</small></label>
<div class="actions"><button type="submit" class="primary">${mirror ? 'Save mirror settings' : 'Start mirroring'}</button></div>
</form>`;
}

function progressOf(mirror: Mirror): Html {
  const summary = mirror.last_summary ? (JSON.parse(mirror.last_summary) as SyncSummary) : null;
  if (!summary || !summary.releasesTotal) return html`<p class="mirror-progress">Comparing with the upstream…</p>`;
  return html`<p class="mirror-progress"><progress value="${String(summary.releasesDone)}" max="${String(summary.releasesTotal)}"></progress>
${String(summary.releasesDone)} of ${String(summary.releasesTotal)} releases compared (reload to follow)</p>`;
}

function lastSync(mirror: Mirror): Html {
  if (mirror.last_status === null) return html`<p class="mirror-status">Not synced yet.</p>`;
  const status = mirror.last_status;
  const badge = html`<span class="badge ${status === 'ok' ? 'ok' : status === 'failed' ? 'failed' : 'running'}">${status === 'ok' ? 'OK' : status === 'failed' ? 'Failed' : 'Running'}</span>`;
  if (status === 'running') return html`<div class="mirror-status">${badge} started ${timeTag(mirror.last_started_at)}${progressOf(mirror)}</div>`;
  const summary = mirror.last_summary ? describeSummary(JSON.parse(mirror.last_summary) as SyncSummary) : '';
  return html`<div class="mirror-status">${badge} finished ${timeTag(mirror.last_finished_at)}
${mirror.last_error ? html`<p class="error mirror-error">${mirror.last_error}</p>` : ''}
${summary ? html`<p class="muted mirror-summary">${summary}</p>` : ''}</div>`;
}

function mirrorOverview(request: FastifyRequest, access: RepoAccess, mirror: Mirror): Html {
  return html`<section class="card stack mirror-overview">
<p>This repository is a pull mirror of <a href="${mirror.upstream_url}" rel="noreferrer">${mirror.upstream_url}</a>${
    mirror.kind === 'auto' ? '' : html` (${mirror.kind === 'gitea' ? 'Gitea/Forgejo' : 'GitHub API'})`
  }, every ${formatSchedule(mirror.schedule_ms)}. Its releases, assets and refs follow the upstream and are read-only here.</p>
<h2>Last sync</h2>
${lastSync(mirror)}
<p>Next sync: ${timeTag(new Date(mirror.next_sync_ms).toISOString())}</p>
<div class="actions">
<form method="post" action="${mirrorPath(access, 'sync')}" class="inline">${csrfField(request)}<button type="submit">Sync now</button></form>
<form method="post" action="${mirrorPath(access, 'delete')}" class="inline confirm" data-confirm="Stop mirroring? The repository keeps everything synced so far and becomes writable.">${csrfField(request)}<button type="submit" class="danger">Stop mirroring</button></form>
</div>
</section>`;
}

function errorList(errors: string[]): Html {
  if (!errors.length) return html``;
  return html`<div class="flash error" role="alert"><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>`;
}

function mirrorPage(request: FastifyRequest, reply: FastifyReply, access: RepoAccess, mirror: Mirror | null, state: MirrorFormState, errors: string[], status = 200): FastifyReply {
  const intro = mirror
    ? mirrorOverview(request, access, mirror)
    : html`<p>Make this repository follow a repository on GitHub, GitHub Enterprise Server, another Wharf, Gitea or Forgejo: its branches, tags and releases with their assets, on a schedule. Only a repository without releases can become a mirror.</p>`;
  const body = html`${repoHeader(request, access, 'settings')}
${settingsNav(access, 'mirror')}
<h1>Mirror</h1>
${errorList(errors)}
${intro}
<h2>${mirror ? 'Settings' : 'Mirror an upstream repository'}</h2>
${mirrorForm(request, access, mirror, state)}`;
  return sendPage(request, reply, { title: `Mirror · ${access.owner.login}/${access.repo.name}`, body }, status);
}

/** Service refusals a form shows next to its fields; anything else propagates. */
function formErrors(err: unknown): string[] | null {
  if (err instanceof ValidationError) return validationMessages(err);
  if (err instanceof InvalidRequestError) return [err.message];
  return null;
}

export function mirrorSettingsPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/settings/mirror', async (request, reply) => {
    const access = await repoAdminAccess(ctx, request);
    const mirror = await mirrorOf(ctx, access);
    return mirrorPage(request, reply, access, mirror, stateOfMirror(mirror), []);
  });

  app.post('/:owner/:repo/settings/mirror', async (request, reply) => {
    const { access, fields } = await repoAdminForm(ctx, request);
    const mirror = await mirrorOf(ctx, access);
    const state = stateOfFields(fields, mirror);
    try {
      await setMirror(ctx, access, mirrorBody(fields, state));
      wakeMirrorScheduler(ctx);
      return reply.redirect(mirrorPath(access), 303);
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      return mirrorPage(request, reply, access, mirror, state, errors, 422);
    }
  });

  app.post('/:owner/:repo/settings/mirror/sync', async (request, reply) => {
    const { access } = await repoAdminForm(ctx, request);
    await requestSync(ctx, access);
    wakeMirrorScheduler(ctx);
    return reply.redirect(mirrorPath(access), 303);
  });

  app.post('/:owner/:repo/settings/mirror/delete', async (request, reply) => {
    const { access } = await repoAdminForm(ctx, request);
    await removeMirror(ctx, access);
    return reply.redirect(mirrorPath(access), 303);
  });
}
