/**
 * @module web/attestation-downloads
 * Unauthenticated, at the web root:
 * - `GET {web}/.well-known/wharf/trusted-root.json`: the instance's trusted root (every signing
 *   key, with its validity; attestations/trusted-root.ts), what verifiers need offline;
 * - `GET {web}/{owner}/{repo}/attestations/{id}/bundle.json`: one attestation's Sigstore bundle
 *   (the API's `bundle_url`, the release page's download link), readable as the repository is
 *   (a token or a signed-in session for a private one).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.ts';
import { parsePathId } from '../http/route-helpers.ts';
import { getAttestation } from '../services/attestations.ts';
import { getRepoAccess } from '../services/repositories.ts';
import { instanceTrustedRoot } from '../services/signing-keys.ts';
import { browserPrincipal } from './web-auth.ts';

export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export function attestationDownloadRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/.well-known/wharf/trusted-root.json', async (_request, reply) => {
    // Keys change only by rotation; a minute of caching keeps verifiers from hammering the database.
    return reply
      .header('cache-control', 'public, max-age=60')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(await instanceTrustedRoot(ctx), null, 2));
  });

  app.get<{ Params: { owner: string; repo: string; id: string } }>('/:owner/:repo/attestations/:id/bundle.json', async (request, reply) => {
    request.principal = await browserPrincipal(ctx, request);
    const access = await getRepoAccess(ctx, request.principal, request.params.owner, request.params.repo);
    const row = await getAttestation(ctx, access, parsePathId(request.params.id));
    const file = `${access.repo.name}-attestation-${row.id}.sigstore.json`;
    return reply
      .type(`${SIGSTORE_BUNDLE_MEDIA_TYPE}`)
      .header('content-disposition', `attachment; filename="${file.replace(/[^\w.-]/g, '_')}"`)
      .header('cache-control', 'private, no-cache')
      .send(row.bundle);
  });
}
