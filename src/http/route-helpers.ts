/**
 * @module http/route-helpers
 * Small helpers shared by route modules: the authenticated caller, repository access from path
 * parameters, and list replies with GitHub's `Link` header.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../domain/errors.ts';
import { actsAsSiteAdmin, missingScope } from '../services/oauth-scopes.ts';
import type { RepoAccess } from '../services/repositories.ts';
import { repoAccessOf } from './cached-reads.ts';
import type { Principal } from '../services/tokens.ts';
import type { Page } from '../domain/page.ts';
import { setLink } from './pagination.ts';

export interface OwnerRepoParams {
  owner: string;
  repo: string;
}

/**
 * A numeric id from the path (release, asset, reaction). Anything but a decimal integer names
 * nothing: 404, as GitHub answers for a path its routes do not match.
 */
export function parsePathId(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new NotFoundError();
  return Number(value);
}

export function requireUser(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

export function requireSiteAdmin(request: FastifyRequest): Principal {
  const principal = requireUser(request);
  if (principal.user.site_admin !== 1) throw new ForbiddenError('Must be a site administrator.');
  // The route table asks for the scope before the handler runs; checked again here so that no
  // admin handler depends on being registered under that table.
  if (!actsAsSiteAdmin(principal)) throw missingScope(['site_admin']);
  return principal;
}

/** The caller's access to the repository in the path (remembered at its generation when it can be: `cached-reads.ts`). */
export function repoAccess(ctx: AppContext, request: FastifyRequest): Promise<RepoAccess> {
  return repoAccessOf(ctx, request);
}

export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, page: Page, total: number, items: T[]): T[] {
  setLink(reply, request, request.urls.web, page, total);
  return items;
}
