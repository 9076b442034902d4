/**
 * @module web/pages/release-editor
 * The release form's helpers beyond its fields: a tag picker (the repository's tags offered as
 * suggestions for the tag field), a previous-tag choice, a **Preview** of the notes and a
 * **Generate release notes** button (`static/release-editor.js` drives the last two).
 *
 * - `POST /{owner}/{repo}/releases/preview` renders Markdown with the very renderer and
 *   sanitizer of `body_html` (and the page's heading levels) and answers the HTML fragment.
 * - `POST /{owner}/{repo}/releases/notes` answers `{name, body}` from the API's generator
 *   (`POST /repos/{owner}/{repo}/releases/generate-notes`), or `{errors}` with 422.
 *
 * Both need push access and a session's CSRF token (header `X-CSRF-Token`), as the form itself;
 * neither stores anything. Without script the helpers stay hidden and the form works as before.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import { InvalidRequestError, ValidationError } from '../../domain/errors.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { mentionCandidates } from '../../render/mentions.ts';
import { existingLogins } from '../../services/accounts.ts';
import { listTags } from '../../services/git-data.ts';
import { generateReleaseNotes } from '../../services/release-notes.ts';
import { requirePermission, type RepoAccess } from '../../services/repositories.ts';
import { validationMessages } from '../error-pages.ts';
import { repoPath } from '../format.ts';
import { formFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { renderNotes } from '../notes-cache.ts';
import { setPageSecurityHeaders } from '../security.ts';
import { requireCsrf } from '../web-auth.ts';

/** Tags offered in the picker: the newest this many (a repository may have thousands). */
const TAGS_OFFERED = 200;
/** GitHub's limit on a release body. */
const MAX_BODY = 125_000;

/** The repository's tags for the picker, newest first in the tag order. */
export async function editorTags(ctx: AppContext, access: RepoAccess): Promise<string[]> {
  return (await listTags(ctx, access.repo)).slice(0, TAGS_OFFERED).map((t) => t.name);
}

/** The suggestions list the tag field points at (`list="existing-tags"`). */
export function tagSuggestions(tags: string[]): Html {
  return html`<datalist id="existing-tags">${tags.map((t) => html`<option value="${t}"></option>`)}</datalist>`;
}

/** Previous tag, Generate and Preview: hidden until the script shows them. */
export function notesTools(request: FastifyRequest, access: RepoAccess, tags: string[], previousTag: string): Html {
  const base = repoPath(access.owner.login, access.repo.name, 'releases');
  return html`<div class="notes-tools" hidden data-preview-url="${base}/preview" data-generate-url="${base}/notes" data-csrf="${request.webSession?.csrfSecret ?? ''}">
  <label>Previous tag <select name="previous_tag_name">
    <option value="">Automatic: the previous release</option>
    ${tags.map((t) => html`<option value="${t}"${t === previousTag ? ' selected' : ''}>${t}</option>`)}
  </select></label>
  <button type="button" class="generate-notes">Generate release notes</button>
  <button type="button" class="preview-notes" aria-pressed="false">Preview</button>
  <p class="notes-status muted" role="status"></p>
</div>
<div class="notes notes-preview card" hidden tabindex="-1" aria-label="Preview of the notes"></div>`;
}

async function pushFormAccess(ctx: AppContext, request: FastifyRequest): Promise<{ access: RepoAccess; fields: Record<string, string> }> {
  // The repository first (a private one is a 404 to everyone without access), then CSRF, then push.
  const access = await repoAccess(ctx, request);
  const fields = formFields(request.body);
  requireCsrf(request, fields._csrf);
  requirePermission(access, 'push');
  return { access, fields };
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  reply.header('cache-control', 'no-store');
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

export function releaseEditorRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/:owner/:repo/releases/preview', async (request, reply) => {
    const { access, fields } = await pushFormAccess(ctx, request);
    const body = (fields.body ?? '').replace(/\r\n/g, '\n');
    if (body.length > MAX_BODY) throw new ValidationError([{ resource: 'Release', field: 'body', code: 'custom', message: 'body is too long (maximum is 125000 characters)' }]);
    const mentions = await existingLogins(ctx, mentionCandidates(body));
    const rendered = renderNotes(body, {
      mentions,
      context: { web: request.urls.web, owner: access.owner.login, repo: access.repo.name },
      headingsBelow: 1,
      scope: 'preview',
      images: request.imageProxy ? { origin: new URL(request.urls.web).origin, signer: request.imageProxy } : null,
    });
    setPageSecurityHeaders(reply);
    reply.header('cache-control', 'no-store');
    return reply
      .code(200)
      .type('text/html; charset=utf-8')
      .send(rendered || '<p class="muted">Nothing to preview.</p>');
  });

  app.post('/:owner/:repo/releases/notes', async (request, reply) => {
    const { access, fields } = await pushFormAccess(ctx, request);
    const tagName = (fields.tag_name ?? '').trim();
    if (tagName === '') return sendJson(reply, 422, { errors: ['Choose a tag first: the notes describe what changed up to it.'] });
    try {
      const notes = await generateReleaseNotes(
        ctx,
        access,
        {
          tag_name: tagName,
          target_commitish: (fields.target_commitish ?? '').trim() || null,
          previous_tag_name: (fields.previous_tag_name ?? '').trim() || null,
        },
        { webUrl: request.urls.web },
      );
      return sendJson(reply, 200, notes);
    } catch (err) {
      if (err instanceof ValidationError || err instanceof InvalidRequestError) return sendJson(reply, 422, { errors: validationMessages(err) });
      throw err;
    }
  });
}
