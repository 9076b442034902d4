/**
 * @module web/pages/asset-uploads
 * The pages' asset routes beside the release form:
 * - `POST /{owner}/{repo}/releases/upload/{release_id}?name=…`: a single-request upload with the
 *   session's CSRF token in `X-CSRF-Token`, streamed into the `uploadAsset` service the API's
 *   upload host uses; the answer is the API's `release-asset` JSON. (The form's uploader uses
 *   tus on the uploads host instead: `static/uploader.js`, docs/assets.md.)
 * - `GET /{owner}/{repo}/releases/assets/{id}`: the asset's `release-asset` JSON (the uploader
 *   reads a finished upload's digest there).
 * - `POST /{owner}/{repo}/releases/assets/{id}`: rename and relabel through the service of
 *   `PATCH /repos/{o}/{r}/releases/assets/{id}`; JSON for a script that asks for it, else a
 *   redirect to the edit page (or the page with the service's errors).
 * - `POST /{owner}/{repo}/releases/assets/{id}/delete`.
 * Errors for scripts are JSON in GitHub's shapes, since a script reads them, not a person.
 */
import { closeAfterAnswer } from '../../http/progress-deadline.ts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Asset, Release } from '../../db/schema.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { formErrors, releaseEditPage } from './release-forms.ts';
import { accountsWithIds } from '../../services/accounts.ts';
import { errorHandler } from '../../http/errors.ts';
import { repoAccess } from '../../http/route-helpers.ts';
import { assetJson, releaseWebTag } from '../../http/serializers/assets.ts';
import { deleteAsset, getAsset, updateAsset, uploadAsset } from '../../services/assets.ts';
import { repoPath } from '../format.ts';
import { formFields } from '../forms.ts';
import { requireCsrf } from '../web-auth.ts';
import { acceptRawBodies, declaredContentType, uploadBody } from '../../http/raw-body.ts';
import { uploadRule } from '../../http/client-errors.ts';

type UploadParams = { owner: string; repo: string; release_id: string };

type AssetParams = { owner: string; repo: string; asset_id: string };

async function sendAsset(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, access: RepoAccess, asset: Asset, release: Release, status: number): Promise<FastifyReply> {
  const accounts = await accountsWithIds(ctx, asset.uploader_id !== null ? [asset.uploader_id] : []);
  const json = assetJson(asset, { owner: access.owner, repo: access.repo, release, accounts, urls: request.urls });
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(json);
}

function positiveId(value: string): number {
  return /^\d{1,15}$/.test(value) ? Number(value) : NaN;
}

export function assetUploadPage(app: FastifyInstance, ctx: AppContext): void {
  void app.register(async (uploads) => {
    acceptRawBodies(uploads);
    uploads.setErrorHandler((err, request, reply) => {
      // A refused upload is not drained: the rest of a large file would otherwise still arrive.
      closeAfterAnswer(request, reply);
      return errorHandler(err as FastifyError, request, reply);
    });

    uploads.post<{ Params: UploadParams; Querystring: Record<string, string | undefined> }>(
      '/:owner/:repo/releases/upload/:release_id',
      { bodyLimit: ctx.config.maxAssetSize + 1 },
      async (request, reply) => {
        // The repository first, so a private one is a 404 to everyone without access (see
        // release-forms.ts); the CSRF check still comes before anything is read from the body.
        const access = await repoAccess(ctx, request);
        requireCsrf(request, undefined);
        const upload = uploadBody(request, uploadRule(ctx));
        const name = request.query.name;
        const { asset, release } = await uploadAsset(ctx, access, {
          releaseId: positiveId(request.params.release_id),
          name: name ?? '',
          label: request.query.label || null,
          contentType: declaredContentType(request),
          ...upload,
        });
        const accounts = await accountsWithIds(ctx, asset.uploader_id !== null ? [asset.uploader_id] : []);
        const json = assetJson(asset, { owner: access.owner, repo: access.repo, release, accounts, urls: request.urls });
        return reply.code(201).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(json);
      },
    );
  });

  // The asset as the API's `release-asset` JSON: the uploader reads a finished upload's digest here.
  app.get<{ Params: AssetParams }>('/:owner/:repo/releases/assets/:asset_id', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { asset, release } = await getAsset(ctx, access, positiveId(request.params.asset_id));
    return sendAsset(ctx, request, reply, access, asset, release, 200);
  });

  // Rename and relabel, through the service of `PATCH /repos/{o}/{r}/releases/assets/{id}`: the
  // edit page's form (redirects back) and the uploader's script (`Accept: application/json`).
  app.post<{ Params: AssetParams }>('/:owner/:repo/releases/assets/:asset_id', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const fields = formFields(request.body);
    requireCsrf(request, fields._csrf);
    const wantsJson = (request.headers.accept ?? '').includes('application/json');
    const id = positiveId(request.params.asset_id);
    const patch: Record<string, unknown> = {};
    if (fields.name !== undefined) patch.name = fields.name.trim();
    if (fields.label !== undefined) patch.label = fields.label.trim() === '' ? null : fields.label;
    try {
      const { asset, release } = await updateAsset(ctx, access, id, patch);
      if (wantsJson) return sendAsset(ctx, request, reply, access, asset, release, 200);
      return reply.redirect(repoPath(access.owner.login, access.repo.name, 'releases', 'edit', releaseWebTag(release)), 303);
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      if (wantsJson) return reply.code(422).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify({ errors }));
      const { release } = await getAsset(ctx, access, id);
      return releaseEditPage(ctx, request, reply, access, release, errors);
    }
  });

  app.post<{ Params: AssetParams }>('/:owner/:repo/releases/assets/:asset_id/delete', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    requireCsrf(request, formFields(request.body)._csrf);
    const { release } = await getAsset(ctx, access, positiveId(request.params.asset_id));
    await deleteAsset(ctx, access, positiveId(request.params.asset_id));
    return reply.redirect(repoPath(access.owner.login, access.repo.name, 'releases', 'edit', releaseWebTag(release)), 303);
  });
}
