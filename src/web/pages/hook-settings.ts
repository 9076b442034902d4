/**
 * @module web/pages/hook-settings
 * A repository's webhook settings, at GitHub's addresses: `/{owner}/{repo}/settings/hooks` (the
 * list), `…/hooks/new`, and `…/hooks/{id}` (edit, ping, delete, and the recent deliveries with
 * Redeliver). Every action calls the same service as the REST API (`webhooks/hooks.ts`), so the
 * rules, the SSRF check on the URL and the errors are the API's; the form only translates fields.
 *
 * Repository admins only: everyone else, signed in or not, gets the same 404 as for a page that
 * does not exist (the API's hook routes answer so too), before any CSRF or form check (`repo-admin.ts`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Account, Webhook } from '../../db/schema.ts';
import { ValidationError } from '../../domain/errors.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import {
  createHook,
  enqueuePing,
  getHook,
  listDeliveries,
  listHooks,
  parseCursor,
  redeliver,
  removeHook,
  repositoryHooksPlace,
  updateHook,
  type HookPlace,
} from '../../webhooks/hooks.ts';
import { validationMessages } from '../error-pages.ts';
import { checked, type FormFields } from '../forms.ts';
import { html, type Html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { deliveryList, errorList, hookActions, hookForm, hookList, hooksPath, stateOfHook, type HookFormState } from './hook-views.ts';
import { repoAdminAccess, repoAdminForm, settingsNav, type AdminRepoAccess } from './repo-admin.ts';
import { repoHeader } from './repo-header.ts';

type HookParams = { owner: string; repo: string; hook_id: string };
type DeliveryParams = HookParams & { delivery_id: string };

/** A repository's hooks only list so many on one page (GitHub's default page is 30). */
const HOOKS_SHOWN = 100;
const DELIVERIES_PER_PAGE = 20;

interface AdminAccess {
  access: RepoAccess;
  place: HookPlace;
  /** The signed-in admin (the `sender` of pings). */
  sender: Account;
}

/** The repository, if the caller administers it; a 404 otherwise, as if there were no such page. */
async function adminAccess(ctx: AppContext, request: FastifyRequest): Promise<AdminAccess> {
  return hookAdmin(request, await repoAdminAccess(ctx, request));
}

function hookAdmin(request: FastifyRequest, access: AdminRepoAccess): AdminAccess {
  return { access, place: repositoryHooksPlace(access.owner, access.repo, request.urls.api), sender: access.principal.user };
}

/** The same, for a form post: the admin check first, then the CSRF checks. */
async function adminFormAccess(ctx: AppContext, request: FastifyRequest): Promise<AdminAccess & { fields: FormFields }> {
  const { access, fields } = await repoAdminForm(ctx, request);
  return { ...hookAdmin(request, access), fields };
}

function stateOfFields(fields: FormFields, hook: Webhook | null): HookFormState {
  return {
    url: (fields.url ?? '').trim(),
    contentType: fields.content_type === 'form' ? 'form' : 'json',
    insecureSsl: fields.insecure_ssl === '1' ? '1' : '0',
    events: Object.keys(fields)
      .filter((k) => k.startsWith('event_'))
      .map((k) => k.slice('event_'.length)),
    active: checked(fields, 'active'),
    hasSecret: hook?.secret_ciphertext != null,
  };
}

/** The API body the form stands for. An empty secret field keeps the secret the hook has. */
function hookBody(fields: FormFields, state: HookFormState): Record<string, unknown> {
  const config: Record<string, unknown> = { url: state.url, content_type: state.contentType, insecure_ssl: state.insecureSsl };
  if (checked(fields, 'remove_secret')) config.secret = '';
  else if (fields.secret) config.secret = fields.secret;
  return { name: 'web', active: state.active, events: state.events, config };
}

function settingsPage(request: FastifyRequest, reply: FastifyReply, access: RepoAccess, title: string, body: Html, status = 200): FastifyReply {
  const page = html`${repoHeader(request, access, 'settings')}
${settingsNav(access, 'hooks')}
${body}`;
  return sendPage(request, reply, { title: `${title} · ${access.owner.login}/${access.repo.name}`, body: page }, status);
}

function newHookPage(request: FastifyRequest, reply: FastifyReply, access: RepoAccess, state: HookFormState, errors: string[], status = 200): FastifyReply {
  const body = html`<p class="crumbs"><a href="${hooksPath(access)}">Webhooks</a> / Add webhook</p>
<h1>Add webhook</h1>
${errorList(errors)}
${hookForm(request, access, null, state)}`;
  return settingsPage(request, reply, access, 'Add webhook', body, status);
}

async function editHookPage(
  ctx: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  access: RepoAccess,
  hook: Webhook,
  o: { state: HookFormState; errors: string[]; cursor: number | null },
  status = 200,
): Promise<FastifyReply> {
  const { page: deliveries, next } = await listDeliveries(ctx, hook, o.cursor, DELIVERIES_PER_PAGE, null);
  const body = html`<p class="crumbs"><a href="${hooksPath(access)}">Webhooks</a> / Manage webhook</p>
<h1>Webhook <code>${hook.url}</code></h1>
${errorList(o.errors)}
${hookActions(request, access, hook)}
${hookForm(request, access, hook, o.state)}
${deliveryList(request, access, hook, deliveries, next)}`;
  return settingsPage(request, reply, access, 'Manage webhook', body, status);
}

/** Service failures a form shows next to its fields; anything else propagates. */
function formErrors(err: unknown): string[] | null {
  return err instanceof ValidationError ? validationMessages(err) : null;
}

function cursorOf(request: FastifyRequest): number | null {
  try {
    return parseCursor((request.query as Record<string, unknown>).cursor);
  } catch {
    return null;
  }
}

export function hookSettingsPages(app: FastifyInstance, ctx: AppContext): void {
  app.get('/:owner/:repo/settings/hooks', async (request, reply) => {
    const { access, place } = await adminAccess(ctx, request);
    const { rows } = await listHooks(ctx, place, HOOKS_SHOWN, 0);
    return settingsPage(request, reply, access, 'Webhooks', hookList(access, rows));
  });

  app.get('/:owner/:repo/settings/hooks/new', async (request, reply) => {
    const { access } = await adminAccess(ctx, request);
    const state: HookFormState = { url: '', contentType: 'json', insecureSsl: '0', events: ['push'], active: true, hasSecret: false };
    return newHookPage(request, reply, access, state, []);
  });

  app.post('/:owner/:repo/settings/hooks', async (request, reply) => {
    const { access, place, sender, fields } = await adminFormAccess(ctx, request);
    const state = stateOfFields(fields, null);
    try {
      const hook = await createHook(ctx, place, hookBody(fields, state), request.urls.web);
      // As through the API: a new active hook is pinged at once.
      if (hook.active === 1) await enqueuePing(ctx, hook, sender);
      return reply.redirect(hooksPath(access, String(hook.id)), 303);
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      return newHookPage(request, reply, access, state, errors, 422);
    }
  });

  app.get<{ Params: HookParams }>('/:owner/:repo/settings/hooks/:hook_id', async (request, reply) => {
    const { access, place } = await adminAccess(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    return editHookPage(ctx, request, reply, access, hook, { state: stateOfHook(hook), errors: [], cursor: cursorOf(request) });
  });

  app.post<{ Params: HookParams }>('/:owner/:repo/settings/hooks/:hook_id', async (request, reply) => {
    const { access, place, fields } = await adminFormAccess(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    const state = stateOfFields(fields, hook);
    try {
      await updateHook(ctx, place, String(hook.id), hookBody(fields, state));
      return reply.redirect(hooksPath(access, String(hook.id)), 303);
    } catch (err) {
      const errors = formErrors(err);
      if (!errors) throw err;
      return editHookPage(ctx, request, reply, access, hook, { state, errors, cursor: null }, 422);
    }
  });

  app.post<{ Params: HookParams }>('/:owner/:repo/settings/hooks/:hook_id/pings', async (request, reply) => {
    const { access, place, sender } = await adminFormAccess(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    await enqueuePing(ctx, hook, sender);
    return reply.redirect(hooksPath(access, String(hook.id)), 303);
  });

  app.post<{ Params: HookParams }>('/:owner/:repo/settings/hooks/:hook_id/delete', async (request, reply) => {
    const { access, place } = await adminFormAccess(ctx, request);
    await removeHook(ctx, place, request.params.hook_id);
    return reply.redirect(hooksPath(access), 303);
  });

  app.post<{ Params: DeliveryParams }>('/:owner/:repo/settings/hooks/:hook_id/deliveries/:delivery_id/redeliver', async (request, reply) => {
    const { access, place } = await adminFormAccess(ctx, request);
    const hook = await getHook(ctx, place, request.params.hook_id);
    await redeliver(ctx, hook, request.params.delivery_id);
    return reply.redirect(hooksPath(access, String(hook.id)), 303);
  });
}
