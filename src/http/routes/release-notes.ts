/**
 * @module http/routes/release-notes
 * `POST /repos/{owner}/{repo}/releases/generate-notes` → 200 `{name, body}`; nothing is stored.
 * Members are checked the way GitHub's schema validation reports them ("Invalid request.").
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { InvalidRequestError } from '../../domain/errors.ts';
import { generateReleaseNotes } from '../../services/release-notes.ts';
import { requirePermission } from '../../services/repositories.ts';
import { docsConfig } from '../errors.ts';
import { bodyObject } from '../json-body.ts';
import { repoAccess } from '../route-helpers.ts';

function optionalString(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidRequestError(`Invalid request.\n\nFor 'properties/${field}', ${JSON.stringify(value)} is not a string.`);
  return value;
}

export function releaseNotesRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/repos/:owner/:repo/releases/generate-notes', docsConfig('releases/releases#generate-release-notes-content-for-a-release'), async (request) => {
    const access = await repoAccess(ctx, request);
    requirePermission(access, 'push');
    const body = bodyObject(request.body);
    if (body.tag_name === undefined || body.tag_name === null) throw new InvalidRequestError(`Invalid request.\n\n"tag_name" wasn't supplied.`);
    const tagName = optionalString(body, 'tag_name')!;
    return generateReleaseNotes(
      ctx,
      access,
      {
        tag_name: tagName,
        target_commitish: optionalString(body, 'target_commitish'),
        previous_tag_name: optionalString(body, 'previous_tag_name'),
        configuration_file_path: optionalString(body, 'configuration_file_path'),
      },
      { webUrl: request.urls.web },
    );
  });
}
