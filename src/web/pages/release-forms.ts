/**
 * @module web/pages/release-forms
 * Drafting, editing, publishing and deleting releases from the pages. Every action calls the same
 * service the API calls (createRelease, updateRelease, deleteRelease), so the rules, checks and
 * errors are the API's; the form only translates fields. All of them need a signed-in session,
 * a valid CSRF token and push access.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Asset, Release } from '../../db/schema.ts';
import { InvalidRequestError, ValidationError } from '../../domain/errors.ts';
import { releaseWebTag } from '../../http/serializers/assets.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { loadReleaseDetails } from '../../services/release-details.ts';
import { getReleaseByWebTag } from '../../services/release-pages.ts';
import { createRelease, deleteRelease, latestReleaseId, updateRelease } from '../../services/releases.ts';
import { requirePermission, type RepoAccess } from '../../services/repositories.ts';
import { immutableStatus } from '../../services/immutable-releases.ts';
import { validationMessages } from '../error-pages.ts';
import { humanSize, repoPath } from '../format.ts';
import { checked, formFields, type FormFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { csrfField, sendPage } from '../layout.ts';
import { staticUrl } from '../static-files.ts';
import { requireCsrf } from '../web-auth.ts';
import { editorTags, notesTools, tagSuggestions } from './release-editor.ts';
import { releasePagePath, releaseTitle } from './release-views.ts';
import { repoHeader } from './repo-header.ts';

type TagParams = { owner: string; repo: string; '*': string };

interface FormState {
  tag_name: string;
  target_commitish: string;
  name: string;
  body: string;
  prerelease: boolean;
  make_latest: boolean;
}

function stateFromRelease(release: Release, isLatest: boolean): FormState {
  return {
    tag_name: release.tag_name,
    target_commitish: release.target_commitish,
    name: release.name ?? '',
    body: release.body ?? '',
    prerelease: release.prerelease === 1,
    make_latest: release.draft === 1 ? release.prerelease === 0 : isLatest,
  };
}

function stateFromFields(fields: FormFields): FormState {
  return {
    tag_name: fields.tag_name ?? '',
    target_commitish: fields.target_commitish ?? '',
    name: fields.name ?? '',
    body: fields.body ?? '',
    prerelease: checked(fields, 'prerelease'),
    make_latest: checked(fields, 'make_latest'),
  };
}

function releaseFields(state: FormState, draft: boolean, sendLatest: boolean): Record<string, unknown> {
  const input: Record<string, unknown> = {
    tag_name: state.tag_name.trim(),
    target_commitish: state.target_commitish.trim() || null,
    name: state.name.trim() === '' ? null : state.name,
    // Browsers submit CRLF line breaks; notes are stored as the API would receive them.
    body: state.body.replace(/\r\n/g, '\n'),
    draft,
    prerelease: state.prerelease,
  };
  if (!draft && !state.prerelease && sendLatest) input.make_latest = state.make_latest ? 'true' : 'false';
  return input;
}

function errorList(errors: string[]): Html {
  return errors.length ? html`<div class="flash error" role="alert"><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : html``;
}

function fieldsHtml(state: FormState, defaultBranch: string, editor: Html): Html {
  return html`<label>Tag <input name="tag_name" required value="${state.tag_name}" placeholder="v1.0.0" autocomplete="off" spellcheck="false" list="existing-tags"></label>
<label>Target <input name="target_commitish" value="${state.target_commitish}" placeholder="${defaultBranch}" spellcheck="false">
<small class="muted">A branch or commit; used when the tag does not exist yet.</small></label>
<label>Release title <input name="name" value="${state.name}"></label>
<label>Notes (Markdown) <textarea name="body" rows="12">${state.body}</textarea></label>
${editor}
<label class="check"><input type="checkbox" name="prerelease" value="1"${state.prerelease ? html` checked` : ''}> This is a pre-release</label>
<label class="check"><input type="checkbox" name="make_latest" value="1"${state.make_latest ? html` checked` : ''}> Set as the latest release</label>`;
}

/** The tus endpoint of a release's resumable uploads, on this origin (the pages' CSP: `connect-src 'self'`). */
function resumableEndpoint(request: FastifyRequest, access: RepoAccess, releaseId: number): string {
  const uploads = new URL(request.urls.uploads).pathname;
  return `${uploads}/repos/${encodeURIComponent(access.owner.login)}/${encodeURIComponent(access.repo.name)}/releases/${releaseId}/assets/resumable`;
}

function assetRow(request: FastifyRequest, access: RepoAccess, a: Asset): Html {
  const base = repoPath(access.owner.login, access.repo.name, 'releases', 'assets', String(a.id));
  return html`<li class="asset-row" data-asset-id="${String(a.id)}"><span class="name">${a.name}</span>${a.label ? html` <span class="asset-label muted">${a.label}</span>` : ''} <span class="muted">${humanSize(a.size)}</span>
${a.digest ? html`<code class="digest">sha256:${a.digest}</code>` : html`<span class="badge draft">incomplete</span>`}
<details><summary>Rename or relabel</summary>
<form method="post" action="${base}" class="asset-edit">${csrfField(request)}
<label class="inline-field">Name <input name="name" required value="${a.name}" spellcheck="false"></label>
<label class="inline-field">Label <input name="label" value="${a.label ?? ''}"></label>
<button type="submit" class="small">Save</button></form></details>
<form method="post" action="${base}/delete" class="inline confirm" data-confirm="Delete this asset?">${csrfField(request)}<button type="submit" class="danger small">Delete</button></form></li>`;
}

/**
 * The assets card: the release's assets (renamed and relabelled in place) and the uploader. On
 * the new-release form there is no release yet: the script saves a draft from the form's
 * fields (`data-draft-url`) when the first file arrives and uploads into it.
 */
function uploader(request: FastifyRequest, access: RepoAccess, release: Release | null, assets: Asset[]): Html {
  const { owner, repo } = access;
  const endpoint = release ? resumableEndpoint(request, access, release.id) : '';
  const draftUrl = release ? '' : repoPath(owner.login, repo.name, 'releases', 'drafts');
  return html`<section class="card">
<h2>Assets</h2>
${release ? html`<ul class="plain assets-list">${assets.map((a) => assetRow(request, access, a))}</ul>` : html`<p class="muted">Files upload at once into a draft of this release, saved from the fields above; publishing publishes them with it.</p>`}
<div class="uploader" data-endpoint="${endpoint}" data-draft-url="${draftUrl}" data-asset-url="${repoPath(owner.login, repo.name, 'releases', 'assets')}/" data-csrf="${request.webSession?.csrfSecret ?? ''}">
  <label class="dropzone">Drop files here or <span class="link">choose files</span>
    <input type="file" multiple class="file-input">
  </label>
  <p class="uploader-status muted" role="status"></p>
  <ul class="uploads plain" aria-live="polite"></ul>
</div>
</section>`;
}

function formPage(
  request: FastifyRequest,
  reply: FastifyReply,
  access: RepoAccess,
  o: { release: Release | null; state: FormState; errors: string[]; assets: Asset[]; immutable: boolean; tags: string[] },
  status = 200,
): FastifyReply {
  const { owner, repo } = access;
  const release = o.release;
  const action = release ? repoPath(owner.login, repo.name, 'releases', 'edit', releaseWebTag(release)) : repoPath(owner.login, repo.name, 'releases');
  // With immutable releases on, publishing freezes the assets: the way in is draft, upload, publish.
  const buttons = !release
    ? o.immutable
      ? html`<button type="submit" name="intent" value="draft" class="primary">Save draft and add assets</button>
<button type="submit" name="intent" value="publish">Publish now, without assets</button>`
      : html`<button type="submit" name="intent" value="publish" class="primary">Publish release</button>
<button type="submit" name="intent" value="draft">Save draft</button>`
    : release.draft === 1
      ? html`<button type="submit" name="intent" value="publish" class="primary">Publish release</button>
<button type="submit" name="intent" value="draft">Save draft</button>`
      : html`<button type="submit" name="intent" value="update" class="primary">Update release</button>`;
  const title = release ? `Edit ${releaseTitle(release)}` : 'New release';
  const body = html`${repoHeader(request, access, 'releases')}
<h1>${title}</h1>
${o.immutable && (!release || release.draft === 1) ? immutableNotice(release !== null) : ''}
${errorList(o.errors)}
<form method="post" action="${action}" class="stack card release-form">
${csrfField(request)}
${fieldsHtml(o.state, repo.default_branch, notesTools(request, access, o.tags, ''))}
${tagSuggestions(o.tags)}
<div class="actions">${buttons}
<a class="button" href="${release ? releasePagePath(access, release) : repoPath(owner.login, repo.name, 'releases')}">Cancel</a></div>
</form>
${uploader(request, access, release, o.assets)}`;
  const head = html`<script src="${staticUrl('release-editor.js')}" defer></script>
<script src="${staticUrl('tus.js')}" defer></script>
<script src="${staticUrl('uploader.js')}" defer></script>`;
  return sendPage(request, reply, { title: `${title} · ${owner.login}/${repo.name}`, body, head }, status);
}

/** A release's edit page as stored, with `errors` above the form (422 when there are any). */
export async function releaseEditPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  access: RepoAccess,
  release: Release,
  errors: string[],
): Promise<FastifyReply> {
  const [details, latestId] = await Promise.all([loadReleaseDetails(ctx, [release], { includeIncompleteAssets: true }), latestReleaseId(ctx, access.repo)]);
  const state = stateFromRelease(release, latestId === release.id);
  return formPage(
    request,
    reply,
    access,
    { release, state, errors, assets: details.assets.get(release.id) ?? [], immutable: await immutableOn(ctx, access), tags: await editorTags(ctx, access) },
    errors.length ? 422 : 200,
  );
}

/** Steers to draft → upload → publish when what is published can never change again. */
function immutableNotice(editingDraft: boolean): Html {
  return html`<div class="notice immutable-notice"><p><strong>Immutable releases are on in this repository.</strong> Once published, a release's assets and tag can never change, and Wharf signs an attestation of exactly what it holds. ${
    editingDraft ? 'Upload every asset below before you publish.' : 'Save a draft first, upload every asset, then publish.'
  }</p></div>`;
}

async function immutableOn(ctx: AppContext, access: RepoAccess): Promise<boolean> {
  return (await immutableStatus(ctx, access.repo)).enabled;
}

/** Service failures a form can show next to its fields; anything else propagates. */
export function formErrors(err: unknown): string[] | null {
  if (err instanceof ValidationError) return validationMessages(err);
  if (err instanceof InvalidRequestError) return [err.message.replace(/^Invalid request\.\s*/, '')];
  return null;
}

async function writableAccess(ctx: AppContext, request: FastifyRequest): Promise<RepoAccess> {
  const access = await repoAccess(ctx, request);
  requirePermission(access, 'push');
  return access;
}

/**
 * The repository a state-changing form writes to, after the CSRF checks and the push check. The
 * repository is looked up first, so a private one is a 404 to everyone without access, signed
 * in or not, as on every other route (the CSRF check alone answered 401 to anonymous visitors).
 * The lookup changes nothing, so it is safe before the CSRF check.
 */
async function writableFormAccess(ctx: AppContext, request: FastifyRequest, csrf: unknown): Promise<RepoAccess> {
  const access = await repoAccess(ctx, request);
  requireCsrf(request, csrf);
  requirePermission(access, 'push');
  return access;
}

export function releaseFormRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/releases/new', async (request, reply) => {
    const access = await writableAccess(ctx, request);
    const q = request.query as Record<string, unknown>;
    const state: FormState = {
      tag_name: typeof q.tag === 'string' ? q.tag : '',
      target_commitish: '',
      name: '',
      body: '',
      prerelease: false,
      make_latest: true,
    };
    return formPage(request, reply, access, { release: null, state, errors: [], assets: [], immutable: await immutableOn(ctx, access), tags: await editorTags(ctx, access) });
  });

  app.post('/:owner/:repo/releases', async (request, reply) => {
    const fields = formFields(request.body);
    const access = await writableFormAccess(ctx, request, fields._csrf);
    const state = stateFromFields(fields);
    const draft = fields.intent === 'draft';
    try {
      const release = await createRelease(ctx, access, releaseFields(state, draft, true));
      const next = draft ? repoPath(access.owner.login, access.repo.name, 'releases', 'edit', releaseWebTag(release)) : releasePagePath(access, release);
      return reply.redirect(next, 303);
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      return formPage(request, reply, access, { release: null, state, errors, assets: [], immutable: await immutableOn(ctx, access), tags: await editorTags(ctx, access) }, 422);
    }
  });

  // The new-release form's uploader: a draft from the form's fields, for files to upload into.
  app.post('/:owner/:repo/releases/drafts', async (request, reply) => {
    const fields = formFields(request.body);
    const access = await writableFormAccess(ctx, request, fields._csrf);
    reply.header('cache-control', 'no-store').type('application/json; charset=utf-8');
    try {
      const release = await createRelease(ctx, access, releaseFields(stateFromFields(fields), true, false));
      return reply.code(201).send(
        JSON.stringify({
          id: release.id,
          upload_url: resumableEndpoint(request, access, release.id),
          edit_url: repoPath(access.owner.login, access.repo.name, 'releases', 'edit', releaseWebTag(release)),
        }),
      );
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      return reply.code(422).send(JSON.stringify({ errors }));
    }
  });

  app.get<{ Params: TagParams }>('/:owner/:repo/releases/edit/*', async (request, reply) => {
    const access = await writableAccess(ctx, request);
    const release = await getReleaseByWebTag(ctx, access, request.params['*']);
    return releaseEditPage(ctx, request, reply, access, release, []);
  });

  app.post<{ Params: TagParams }>('/:owner/:repo/releases/edit/*', async (request, reply) => {
    const fields = formFields(request.body);
    const access = await writableFormAccess(ctx, request, fields._csrf);
    const release = await getReleaseByWebTag(ctx, access, request.params['*']);
    const state = stateFromFields(fields);
    const draft = fields.intent === 'draft' || (release.draft === 1 && fields.intent !== 'publish');
    const publishing = release.draft === 1 && !draft;
    const wasLatest = (await latestReleaseId(ctx, access.repo)) === release.id;
    try {
      // make_latest is sent when publishing, or when the checkbox changed the designation.
      const updated = await updateRelease(ctx, access, release.id, releaseFields(state, draft, publishing || state.make_latest !== wasLatest));
      const next = updated.draft === 1 ? repoPath(access.owner.login, access.repo.name, 'releases', 'edit', releaseWebTag(updated)) : releasePagePath(access, updated);
      return reply.redirect(next, 303);
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      const details = await loadReleaseDetails(ctx, [release], { includeIncompleteAssets: true });
      return formPage(
        request,
        reply,
        access,
        { release, state, errors, assets: details.assets.get(release.id) ?? [], immutable: await immutableOn(ctx, access), tags: await editorTags(ctx, access) },
        422,
      );
    }
  });

  app.post<{ Params: TagParams }>('/:owner/:repo/releases/publish/*', async (request, reply) => {
    const fields = formFields(request.body);
    const access = await writableFormAccess(ctx, request, fields._csrf);
    const release = await getReleaseByWebTag(ctx, access, request.params['*']);
    const updated = await updateRelease(ctx, access, release.id, { draft: false });
    return reply.redirect(releasePagePath(access, updated), 303);
  });

  app.post<{ Params: TagParams }>('/:owner/:repo/releases/delete/*', async (request, reply) => {
    const fields = formFields(request.body);
    const access = await writableFormAccess(ctx, request, fields._csrf);
    const release = await getReleaseByWebTag(ctx, access, request.params['*']);
    await deleteRelease(ctx, access, release.id);
    return reply.redirect(repoPath(access.owner.login, access.repo.name, 'releases'), 303);
  });
}
