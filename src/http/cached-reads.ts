/**
 * @module http/cached-reads
 * Remembered answers to the API's hottest reads (a release, the latest, a page of releases): what
 * every reader of a release gets is rendered, serialized and hashed once per repository generation
 * instead of on every request (docs/performance.md#the-read-cache).
 *
 * Each request still reads its repository's generation from the database first — one indexed
 * query, before anything else it reads — and every key holds that generation, so a change made
 * on any node (its triggers bump the generation in the change's own transaction) is seen by the
 * next request everywhere. Reading the generation before the data matters: an answer rendered
 * from data newer than its generation is harmless (it is filed under an older generation no later
 * request reads), the other way round would be a stale answer kept.
 *
 * Remembered per generation: the caller's access to the repository (by token and scopes, since
 * permission depends on nothing else that does not bump the generation) and the answer, per
 * viewer class (with or without push access: drafts), URL, representation and URL bases.
 * `If-None-Match` on a remembered answer is answered from its ETag, without rendering.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import { repositoryAndCredentialGenerations, repositoryGeneration, writeTargetWithGenerations } from '../services/generations.ts';
import { canSeeDrafts } from '../services/releases.ts';
import { accessToWriteTarget, getRepoAccess, type RepoAccess } from '../services/repositories.ts';
import type { Principal } from '../services/tokens.ts';
import { answerConditionally, etagOf } from './api-headers.ts';
import type { OwnerRepoParams } from './route-helpers.ts';
import type { Urls } from './urls.ts';

/** Headers a rendering sets that belong to the answer (the rest are per request). */
const ANSWER_HEADERS = ['x-github-media-type', 'last-modified', 'link'] as const;

export interface RememberedAnswer {
  /** The JSON as bytes: sent as they are, without encoding the text again for every request. */
  body: Buffer;
  etag: string;
  headers: Array<[string, string]>;
  /** The route that rendered it (`/api/v3/repos/:owner/:repo/releases/latest`): its scopes, and the request log's route. */
  route: string;
}

/** The routes whose answers are remembered (`releases.ts`). */
export const REMEMBERED_ROUTE = /^\/api\/v3\/repos\/:owner\/:repo\/releases(?:\/latest|\/tags\/\*|\/:release_id)?$/;

/** Routes of one repository (`/api/v3/repos/:owner/:repo…`): the remembered reads, and the rest (writes included). */
const REPOSITORY_ROUTE = /^\/api\/v3\/repos\/:owner\/:repo(?:\/|$)/;

/**
 * Before anything else of a request to one repository's routes (credentials included) is read:
 * its repository's generation and the credentials' in one query, one round trip where there were
 * two. The credentials' generation then finds the caller among the remembered principals without
 * another read (`auth.ts`), as the repository's finds the caller's remembered access
 * (`repoAccess`), for writes as for reads: a token revoked or an account suspended before this
 * read has bumped the one, any change to the repository or to who may reach it the other.
 */
export async function readGenerationsFirst(ctx: AppContext, request: FastifyRequest): Promise<void> {
  if (!ctx.readCache.enabled || !REPOSITORY_ROUTE.test(request.routeOptions.url ?? '')) return;
  const { owner, repo } = request.params as OwnerRepoParams;
  const name = repo.replace(/\.git$/i, '');
  if (request.method === 'GET' || request.method === 'HEAD') {
    request.generations = (await repositoryAndCredentialGenerations(ctx.db, owner, name)) ?? null;
    return;
  }
  // A write reads the repository, its owner and its read-only sources next (`repoAccessOf`, the
  // mirror guard): read with the generations, in the same statement.
  const found = await writeTargetWithGenerations(ctx.db, owner, name);
  if (!found) return;
  const { generations, ...target } = found;
  request.generations = generations;
  request.writeTarget = target;
}

/** Repository access for a read whose answer may be remembered, and the generation it was read at (null: do not remember). */
export interface CachedAccess {
  access: RepoAccess;
  generation: number | null;
}

export async function cachedRepoAccess(ctx: AppContext, request: FastifyRequest): Promise<CachedAccess> {
  const { owner, repo } = request.params as OwnerRepoParams;
  const principal = request.principal;
  if (!ctx.readCache.enabled) return { access: await getRepoAccess(ctx, principal, owner, repo), generation: null };
  const found = request.generations ?? (await repositoryGeneration(ctx.db, owner, repo.replace(/\.git$/i, '')));
  if (!found) return { access: await getRepoAccess(ctx, principal, owner, repo), generation: null };
  const remembered = rememberedAccess(ctx, principal, found);
  if (remembered) return remembered;
  const access = await getRepoAccess(ctx, principal, owner, repo);
  // Renamed between the two reads: answer, but remember nothing.
  if (access.repo.id !== found.repositoryId) return { access, generation: null };
  ctx.readCache.set(accessKey(principal, found), { owner: access.owner, repo: access.repo, permission: access.permission }, 2048);
  return { access, generation: found.generation };
}

/**
 * The caller's access to the repository named by the request's path: remembered at the generation
 * read first (`readGenerationsFirst`) when a request at that generation looked it up already, else
 * looked up. Only reads remember what they looked up: a write is about to bump the generation it
 * would be filed under.
 */
export function repoAccessOf(ctx: AppContext, request: FastifyRequest): Promise<RepoAccess> {
  const found = request.generations;
  if (found && request.method === 'GET') return cachedRepoAccess(ctx, request).then((cached) => cached.access);
  if (request.writeTarget) return accessToWriteTarget(ctx, request.principal, request.writeTarget);
  const remembered = found && rememberedAccess(ctx, request.principal, found);
  if (remembered) return Promise.resolve(remembered.access);
  const { owner, repo } = request.params as OwnerRepoParams;
  return getRepoAccess(ctx, request.principal, owner, repo);
}

/** The caller's access remembered at the repository's generation `found`, if any. */
export function rememberedAccess(
  ctx: AppContext,
  principal: Principal | null,
  found: { repositoryId: number; generation: number },
  key = accessKey(principal, found),
): CachedAccess | null {
  const remembered = ctx.readCache.get<Omit<RepoAccess, 'principal'>>(key);
  return remembered ? { access: { ...remembered, principal }, generation: found.generation } : null;
}

/** The key the caller's access to a repository is remembered under at the generation `found`. */
export function accessKey(principal: Principal | null, found: { repositoryId: number; generation: number }): string {
  // A token's scopes never change; its user's site administration bumps every generation.
  const who = principal ? `${principal.token.id}:${principal.user.id}:${principal.user.site_admin}:${[...principal.scopes].join(',')}` : '-';
  return `access\0${found.repositoryId}\0${found.generation}\0${who}`;
}

/** The key of an answer: what it depends on besides the repository's generation (the URL holds the route and its query). */
export function answerKey(url: string, accept: string | undefined, u: Urls, access: RepoAccess, generation: number): string {
  return `answer\0${access.repo.id}\0${generation}\0${canSeeDrafts(access) ? 'push' : 'read'}\0${url}\0${accept ?? ''}\0${u.api}\0${u.uploads}\0${u.web}`;
}

/**
 * Sends the remembered answer to this request, or renders one with `render` (which sets the
 * answer's headers on `reply` and returns the JSON body), remembers and sends it. Requests asking
 * while it renders wait for that rendering. Only 200s are remembered; a rendering that throws
 * (404) throws as it did, for the requests that waited on it too.
 */
export async function sendCached(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, cached: CachedAccess, render: () => Promise<unknown>): Promise<FastifyReply> {
  const { access, generation } = cached;
  if (generation === null) return reply.send(await render());
  const key = answerKey(request.url, request.headers.accept, request.urls, access, generation);
  // The request that renders sets the answer's headers itself; the others take them from the answer.
  let rendered = false;
  const answer = await ctx.readCache.remember<RememberedAnswer>(
    key,
    async () => {
      rendered = true;
      const json = JSON.stringify(await render());
      const headers: Array<[string, string]> = [];
      for (const name of ANSWER_HEADERS) {
        const value = reply.getHeader(name);
        if (typeof value === 'string') headers.push([name, value]);
      }
      return { body: Buffer.from(json), etag: etagOf(json), headers, route: request.routeOptions.url ?? '' };
    },
    (a) => a.body.length + 512,
  );
  return sendRemembered(ctx, request, reply, answer, rendered);
}

/**
 * Sends a remembered answer: its own headers (unless the rendering request set them already),
 * ETag and caching headers, and 304 when the client has it. The one way a remembered answer is
 * sent, by the route and by the fast path alike, so both send the same bytes.
 */
export function sendRemembered(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, answer: RememberedAnswer, headersSet = false): FastifyReply {
  if (!headersSet) for (const [name, value] of answer.headers) reply.header(name, value);
  if (answerConditionally(request, reply, answer.etag, ctx.config.externalUrl !== null)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(answer.body);
}
