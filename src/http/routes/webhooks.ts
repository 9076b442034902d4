/**
 * @module http/routes/webhooks
 * GHES's webhook API for repositories (`/repos/{o}/{r}/hooks`), organizations (`/orgs/{o}/hooks`)
 * and the instance (`/admin/hooks`, global hooks). Only a repository admin, an organization owner
 * or a site administrator may see or touch a hook; everyone else gets 404 on every route, as if
 * there were nothing there, whatever the request's body (it is read only after that check).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Account, Repository } from '../../db/schema.ts';
import { organizationForOwner } from '../../services/accounts.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { actsAsSiteAdmin } from '../../services/oauth-scopes.ts';
import { atLeast } from '../../services/permissions.ts';
import {
  createHook,
  deliveryItemJson,
  deliveryJson,
  enqueuePing,
  enqueueTestPush,
  getDelivery,
  getHook,
  hookConfigJson,
  hookJson,
  listDeliveries,
  listHooks,
  parseCursor,
  redeliver,
  removeHook,
  repositoryHooksPlace,
  updateHook,
  updateHookConfig,
  type HookPlace,
} from '../../webhooks/hooks.ts';
import { bodyObject, deferJsonBodies, readDeferredJson } from '../json-body.ts';
import { parsePage } from '../../domain/page.ts';
import { repoAccess, sendPage } from '../route-helpers.ts';
import { encodePathValue } from '../urls.ts';

interface Place extends HookPlace {
  sender: Account;
  /** The repository and its owner, for repository hooks (the `tests` route needs them). */
  repo?: { owner: Account; repo: Repository };
}

type HookParams = { hook_id: string; delivery_id?: string };

async function repoPlace(ctx: AppContext, request: FastifyRequest): Promise<Place> {
  const access = await repoAccess(ctx, request);
  if (!access.principal || !atLeast(access.permission, 'admin')) throw new NotFoundError();
  return {
    ...repositoryHooksPlace(access.owner, access.repo, request.urls.api),
    sender: access.principal.user,
    repo: { owner: access.owner, repo: access.repo },
  };
}

async function orgPlace(ctx: AppContext, request: FastifyRequest): Promise<Place> {
  const { org } = request.params as { org: string };
  const principal = request.principal;
  if (!principal) throw new NotFoundError();
  const account = await organizationForOwner(ctx, principal, org);
  return { owner: { scope: 'organization', id: account.id }, hooksUrl: `${request.urls.api}/orgs/${encodePathValue(account.login)}/hooks`, sender: principal.user };
}

async function globalPlace(_ctx: AppContext, request: FastifyRequest): Promise<Place> {
  const principal = request.principal;
  if (!principal || !actsAsSiteAdmin(principal)) throw new NotFoundError();
  return { owner: { scope: 'global', id: null }, hooksUrl: `${request.urls.api}/admin/hooks`, sender: principal.user };
}

/** The body, read only now that the caller is known to be allowed here (see `deferJsonBodies`). */
async function jsonBody(request: FastifyRequest): Promise<Record<string, unknown>> {
  return bodyObject(await readDeferredJson(request, { refuseNul: true }));
}

type Resolve = (ctx: AppContext, request: FastifyRequest) => Promise<Place>;

function hookRoutes(app: FastifyInstance, ctx: AppContext, prefix: string, resolve: Resolve, options: { deliveries: boolean; tests: boolean }): void {
  app.get(prefix, async (request, reply) => {
    const place = await resolve(ctx, request);
    const page = parsePage(request.query);
    const { rows, total } = await listHooks(ctx, place, page.perPage, page.offset);
    return sendPage(
      request,
      reply,
      page,
      total,
      rows.map((h) => hookJson(h, place.hooksUrl)),
    );
  });

  app.post(prefix, async (request, reply) => {
    const place = await resolve(ctx, request);
    const hook = await createHook(ctx, place, await jsonBody(request), request.urls.web);
    // GitHub pings a new hook at once.
    if (hook.active === 1) await enqueuePing(ctx, hook, place.sender);
    const json = hookJson(hook, place.hooksUrl);
    reply.header('location', json.url);
    return reply.code(201).send(json);
  });

  app.get<{ Params: HookParams }>(`${prefix}/:hook_id`, async (request) => {
    const place = await resolve(ctx, request);
    return hookJson(await getHook(ctx, place, request.params.hook_id), place.hooksUrl);
  });

  app.patch<{ Params: HookParams }>(`${prefix}/:hook_id`, async (request) => {
    const place = await resolve(ctx, request);
    return hookJson(await updateHook(ctx, place, request.params.hook_id, await jsonBody(request)), place.hooksUrl);
  });

  app.delete<{ Params: HookParams }>(`${prefix}/:hook_id`, async (request, reply) => {
    const place = await resolve(ctx, request);
    await removeHook(ctx, place, request.params.hook_id);
    return reply.code(204).send();
  });

  app.post<{ Params: HookParams }>(`${prefix}/:hook_id/pings`, async (request, reply) => {
    const place = await resolve(ctx, request);
    await enqueuePing(ctx, await getHook(ctx, place, request.params.hook_id), place.sender);
    return reply.code(204).send();
  });

  if (options.tests) {
    app.post<{ Params: HookParams }>(`${prefix}/:hook_id/tests`, async (request, reply) => {
      const place = await resolve(ctx, request);
      const hook = await getHook(ctx, place, request.params.hook_id);
      if (place.repo) await enqueueTestPush(ctx, hook, place.repo.owner, place.repo.repo, place.sender);
      return reply.code(204).send();
    });
  }

  if (!options.deliveries) return;

  app.get<{ Params: HookParams }>(`${prefix}/:hook_id/config`, async (request) => {
    const place = await resolve(ctx, request);
    return hookConfigJson(await getHook(ctx, place, request.params.hook_id));
  });

  app.patch<{ Params: HookParams }>(`${prefix}/:hook_id/config`, async (request) => {
    const place = await resolve(ctx, request);
    return hookConfigJson(await updateHookConfig(ctx, place, request.params.hook_id, await jsonBody(request)));
  });

  app.get<{ Params: HookParams }>(`${prefix}/:hook_id/deliveries`, async (request, reply) => {
    const place = await resolve(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    const query = request.query as Record<string, unknown>;
    const perPage = parsePage(query).perPage;
    const status = query.status === 'success' || query.status === 'failure' ? query.status : null;
    const { page, next } = await listDeliveries(ctx, hook, parseCursor(query.cursor), perPage, status);
    if (next) setCursorLink(request, reply, next, perPage);
    return page.map(deliveryItemJson);
  });

  app.get<{ Params: HookParams }>(`${prefix}/:hook_id/deliveries/:delivery_id`, async (request) => {
    const place = await resolve(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    return deliveryJson(await getDelivery(ctx, hook, request.params.delivery_id!));
  });

  app.post<{ Params: HookParams }>(`${prefix}/:hook_id/deliveries/:delivery_id/attempts`, async (request, reply) => {
    const place = await resolve(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    await redeliver(ctx, hook, request.params.delivery_id!);
    return reply.code(202).send({});
  });
}

/** GitHub's cursor pagination: a `Link` with `rel="next"` carrying the cursor. */
function setCursorLink(request: FastifyRequest, reply: FastifyReply, cursor: string, perPage: number): void {
  const url = new URL(request.url, request.urls.web);
  url.searchParams.set('per_page', String(perPage));
  url.searchParams.set('cursor', cursor);
  const origin = new URL(request.urls.web);
  const path = url.pathname.startsWith(origin.pathname.replace(/\/$/, '')) ? url.pathname : `${origin.pathname.replace(/\/$/, '')}${url.pathname}`;
  reply.header('link', `<${origin.origin}${path}${url.search}>; rel="next"`);
}

export function webhookRoutes(app: FastifyInstance, ctx: AppContext): void {
  void app.register(async (scope) => {
    // Every route resolves who may see the hooks before it reads a byte of the body.
    deferJsonBodies(scope);
    hookRoutes(scope, ctx, '/repos/:owner/:repo/hooks', repoPlace, { deliveries: true, tests: true });
    hookRoutes(scope, ctx, '/orgs/:org/hooks', orgPlace, { deliveries: true, tests: false });
    hookRoutes(scope, ctx, '/admin/hooks', globalPlace, { deliveries: false, tests: false });
  });
}
