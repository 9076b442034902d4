/**
 * @module http/routes/attestations
 * api.github.com's attestation routes (GHES has not got them yet):
 * - `GET /repos/{owner}/{repo}/attestations/{subject_digest}`: `{"attestations": [{bundle,
 *   repository_id, bundle_url, initiator}]}`, newest first, `per_page` (≤ 100) with `before` and
 *   `after` cursors as GitHub pages them (a `Link` header names the next page);
 * - `POST /repos/{owner}/{repo}/attestations` `{"bundle": …}` → 201 `{"id"}` (push access).
 * Without a token a public repository's attestations can be read; a private one's are 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { AttestationRow } from '../../db/schema.ts';
import { ValidationError } from '../../domain/errors.ts';
import { listAttestations, storeAttestation } from '../../services/attestations.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { bodyObject } from '../json-body.ts';
import { repoAccess } from '../route-helpers.ts';

type DigestParams = { owner: string; repo: string; subject_digest: string };
type ListQuery = { per_page?: string; before?: string; after?: string; predicate_type?: string };

/** Cursors are opaque to clients, as GitHub's are: the attestation id, base64url-encoded. */
function encodeCursor(id: number): string {
  return Buffer.from(`attestation:${id}`).toString('base64url');
}

function decodeCursor(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^attestation:(\d{1,15})$/.exec(Buffer.from(value, 'base64url').toString('utf8'));
  if (!match) throw new ValidationError([{ resource: 'Attestation', field, code: 'invalid' }], `Invalid ${field} cursor`);
  return Number(match[1]);
}

function perPage(value: string | undefined): number {
  const n = value === undefined ? 30 : Number(value);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 100) : 30;
}

/** `{web}/{owner}/{repo}/attestations/{id}/bundle.json`: the bundle alone, for browsers and scripts. */
export function bundleUrl(web: string, access: Pick<RepoAccess, 'owner' | 'repo'>, id: number): string {
  return `${web}/${access.owner.login}/${access.repo.name}/attestations/${id}/bundle.json`;
}

function attestationJson(request: FastifyRequest, access: RepoAccess, row: AttestationRow) {
  return { bundle: JSON.parse(row.bundle) as unknown, repository_id: row.repository_id, bundle_url: bundleUrl(request.urls.web, access, row.id), initiator: row.initiator };
}

function setNextLink(request: FastifyRequest, reply: FastifyReply, rows: AttestationRow[], limit: number, forward: boolean): void {
  if (rows.length < limit) return;
  const url = new URL(request.url, request.urls.web);
  url.searchParams.delete('before');
  url.searchParams.delete('after');
  url.searchParams.set(forward ? 'after' : 'before', encodeCursor(rows[rows.length - 1]!.id));
  reply.header('link', `<${request.urls.api}${url.pathname.replace(/^\/api\/v3/, '')}${url.search}>; rel="next"`);
}

export function attestationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get<{ Params: DigestParams; Querystring: ListQuery }>('/repos/:owner/:repo/attestations/:subject_digest', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const q = request.query;
    const limit = perPage(q.per_page);
    const after = decodeCursor(q.after, 'after');
    const rows = await listAttestations(ctx, access, request.params.subject_digest, {
      perPage: limit,
      before: decodeCursor(q.before, 'before'),
      after,
      predicateType: q.predicate_type || undefined,
    });
    setNextLink(request, reply, rows, limit, after !== undefined);
    return { attestations: rows.map((row) => attestationJson(request, access, row)) };
  });

  app.post('/repos/:owner/:repo/attestations', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const id = await storeAttestation(ctx, access, bodyObject(request.body));
    return reply.code(201).send({ id });
  });
}
