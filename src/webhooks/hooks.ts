/**
 * @module webhooks/hooks
 * Webhooks as GitHub Enterprise Server manages them: on a repository, an organization or the whole
 * instance (`global`). Input rules and JSON shapes follow the GHES REST description. The signing
 * secret is stored encrypted with the instance key and never returned (`********`).
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { AppContext } from '../context.ts';
import type { Account, Repository, Webhook, WebhookAttempt, WebhookScope } from '../db/schema.ts';
import { findAccountsByIds } from '../db/repos/accounts-repo.ts';
import {
  deleteWebhook,
  findAttempt,
  findJob,
  findWebhook,
  insertJobs,
  insertWebhook,
  listAttempts,
  listWebhooks,
  updateWebhook,
  type HookOwner,
} from '../db/repos/webhooks-repo.ts';
import { findRepositoryById } from '../db/repos/repositories-repo.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import type { Urls } from '../http/urls.ts';
import { urlsFromBase } from '../http/urls.ts';
import { isoSeconds } from '../util/time.ts';
import * as git from '../git/git.ts';
import { gitDirFor } from '../context.ts';
import { pingBody, pushBody } from './payloads.ts';
import { outboundPolicyFor, secretBoxFor } from './runtime.ts';

export const HIDDEN_SECRET = '********';

/** Where a hook's API lives, for its URLs. */
export interface HookPlace {
  owner: HookOwner;
  /** `{api}/repos/o/r/hooks`, `{api}/orgs/o/hooks` or `{api}/admin/hooks`. */
  hooksUrl: string;
}

/** A repository's hooks, with their API under `api` (`…/repos/{owner}/{repo}/hooks`). */
export function repositoryHooksPlace(owner: Account, repo: Repository, api: string): HookPlace {
  return { owner: { scope: 'repository', id: repo.id }, hooksUrl: `${api}/repos/${encodeURIComponent(owner.login)}/${encodeURIComponent(repo.name)}/hooks` };
}

function fieldError(field: string, message?: string): ValidationError {
  return new ValidationError([{ resource: 'Hook', code: message ? 'custom' : 'invalid', field, ...(message ? { message } : {}) }]);
}

/** GitHub's `config` as read: the columns it sets, and the secret in clear (null removes it). */
type ConfigInput = Partial<Pick<Webhook, 'url' | 'content_type' | 'insecure_ssl'>> & { secret?: string | null };

/** Reads GitHub's `config` object (`url`, `content_type`, `secret`, `insecure_ssl`). */
function parseConfig(value: unknown, ctx: AppContext): ConfigInput {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw fieldError('config');
  const c = value as Record<string, unknown>;
  const out: ConfigInput = {};
  if (c.url !== undefined) {
    if (typeof c.url !== 'string') throw fieldError('url');
    let parsed: URL;
    try {
      parsed = new URL(c.url);
    } catch {
      throw fieldError('url', 'url is not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw fieldError('url', 'url must use http or https');
    if (parsed.username || parsed.password) throw fieldError('url', 'url must not carry credentials; use a secret');
    // An internal address written into the URL is refused at once; names are checked on every
    // delivery, against the address they resolve to then.
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const policy = outboundPolicyFor(ctx.config);
    if ((isIP(host) || host.toLowerCase() === 'localhost') && !policy.allowsHostName(host) && (host.toLowerCase() === 'localhost' || !policy.allowsAddress(host))) {
      throw fieldError('url', 'url points at an internal address that WHARF_OUTBOUND_ALLOWED_HOSTS does not allow');
    }
    out.url = c.url;
  }
  if (c.content_type !== undefined) {
    if (c.content_type !== 'json' && c.content_type !== 'form') throw fieldError('content_type');
    out.content_type = c.content_type;
  }
  if (c.secret !== undefined) {
    if (c.secret !== null && typeof c.secret !== 'string') throw fieldError('secret');
    // Sending back the mask keeps the secret as it was (clients echo the config they read).
    if (c.secret !== HIDDEN_SECRET) out.secret = c.secret === '' ? null : c.secret;
  }
  if (c.insecure_ssl !== undefined) {
    const v = typeof c.insecure_ssl === 'number' ? String(c.insecure_ssl) : c.insecure_ssl;
    if (v !== '0' && v !== '1') throw fieldError('insecure_ssl');
    out.insecure_ssl = v;
  }
  return out;
}

function parseEvents(value: unknown, field = 'events'): string[] {
  if (!Array.isArray(value) || !value.every((e) => typeof e === 'string' && (e === '*' || /^[a-z_]{1,64}$/.test(e)))) throw fieldError(field);
  return [...new Set(value as string[])];
}

function parseActive(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw fieldError('active');
  return value;
}

export function hookEvents(hook: Webhook): string[] {
  return JSON.parse(hook.events) as string[];
}

export function subscribes(hook: Webhook, event: string): boolean {
  const events = hookEvents(hook);
  return events.includes('*') || events.includes(event);
}

function configJson(hook: Webhook) {
  return {
    content_type: hook.content_type,
    insecure_ssl: hook.insecure_ssl,
    url: hook.url,
    ...(hook.secret_ciphertext ? { secret: HIDDEN_SECRET } : {}),
  };
}

const TYPES: Record<WebhookScope, string> = { repository: 'Repository', organization: 'Organization', global: 'Global' };

/** A hook as the API shows it (`hook`, `org-hook` or `global-hook`). */
export function hookJson(hook: Webhook, hooksUrl: string) {
  const url = `${hooksUrl}/${hook.id}`;
  const base = {
    type: TYPES[hook.scope],
    id: hook.id,
    name: hook.name,
    active: hook.active === 1,
    events: hookEvents(hook),
    config: configJson(hook),
    updated_at: hook.updated_at,
    created_at: hook.created_at,
    url,
  };
  if (hook.scope === 'global') return { ...base, ping_url: `${url}/pings` };
  const lastResponse = { code: hook.last_response_code, status: hook.last_response_status ?? 'unused', message: hook.disabled_reason ?? hook.last_response_message };
  if (hook.scope === 'organization') return { ...base, ping_url: `${url}/pings`, deliveries_url: `${url}/deliveries` };
  return { ...base, test_url: `${url}/tests`, ping_url: `${url}/pings`, deliveries_url: `${url}/deliveries`, last_response: lastResponse };
}

export function hookConfigJson(hook: Webhook) {
  return configJson(hook);
}

export async function listHooks(ctx: AppContext, place: HookPlace, limit: number, offset: number): Promise<{ rows: Webhook[]; total: number }> {
  return listWebhooks(ctx.db, place.owner, limit, offset);
}

export async function getHook(ctx: AppContext, place: HookPlace, idParam: string): Promise<Webhook> {
  if (!/^\d{1,15}$/.test(idParam)) throw new NotFoundError();
  const hook = await findWebhook(ctx.db, place.owner, Number(idParam));
  if (!hook) throw new NotFoundError();
  return hook;
}

export async function createHook(ctx: AppContext, place: HookPlace, body: Record<string, unknown>, webBase: string): Promise<Webhook> {
  const name = body.name ?? 'web';
  if (name !== 'web') throw fieldError('name', `Name must be "web"`);
  if (body.config === undefined || body.config === null) throw new ValidationError([{ resource: 'Hook', code: 'custom', message: 'Config must contain url' }]);
  const config = parseConfig(body.config, ctx);
  if (!config.url) throw new ValidationError([{ resource: 'Hook', code: 'custom', message: 'Config must contain url' }]);
  const events = body.events === undefined ? ['push'] : parseEvents(body.events);
  const active = parseActive(body.active) ?? true;
  const now = isoSeconds();
  return insertWebhook(ctx.db, {
    scope: place.owner.scope,
    repository_id: place.owner.scope === 'repository' ? place.owner.id : null,
    account_id: place.owner.scope === 'organization' ? place.owner.id : null,
    name: 'web',
    active: active ? 1 : 0,
    events: JSON.stringify(events),
    url: config.url,
    content_type: config.content_type ?? 'form',
    insecure_ssl: config.insecure_ssl ?? '0',
    secret_ciphertext: config.secret ? secretBoxFor(ctx.config).seal(config.secret) : null,
    web_base: webBase,
    created_at: now,
    created_ms: Date.now(),
    updated_at: now,
    failing_since: null,
    disabled_reason: null,
    last_response_code: null,
    last_response_status: null,
    last_response_message: null,
  });
}

export async function updateHook(ctx: AppContext, place: HookPlace, idParam: string, body: Record<string, unknown>): Promise<Webhook> {
  const hook = await getHook(ctx, place, idParam);
  const set: Partial<Webhook> = { updated_at: isoSeconds() };
  if (body.config !== undefined) Object.assign(set, configSet(ctx, parseConfig(body.config, ctx)));
  let events = hookEvents(hook);
  if (body.events !== undefined) events = parseEvents(body.events);
  if (body.add_events !== undefined) events = [...new Set([...events, ...parseEvents(body.add_events, 'add_events')])];
  if (body.remove_events !== undefined) {
    const remove = new Set(parseEvents(body.remove_events, 'remove_events'));
    events = events.filter((e) => !remove.has(e));
  }
  set.events = JSON.stringify(events);
  const active = parseActive(body.active);
  if (active !== undefined) {
    set.active = active ? 1 : 0;
    // Turning a hook back on clears the reason Wharf turned it off and starts a fresh count.
    if (active) Object.assign(set, { disabled_reason: null, failing_since: null });
  }
  const updated = await updateWebhook(ctx.db, hook.id, set);
  if (!updated) throw new NotFoundError();
  return updated;
}

function configSet(ctx: AppContext, config: ConfigInput): Partial<Webhook> {
  const set: Partial<Webhook> = {};
  if (config.url !== undefined) set.url = config.url;
  if (config.content_type !== undefined) set.content_type = config.content_type;
  if (config.insecure_ssl !== undefined) set.insecure_ssl = config.insecure_ssl;
  if (config.secret !== undefined) set.secret_ciphertext = config.secret ? secretBoxFor(ctx.config).seal(config.secret) : null;
  return set;
}

export async function updateHookConfig(ctx: AppContext, place: HookPlace, idParam: string, body: Record<string, unknown>): Promise<Webhook> {
  const hook = await getHook(ctx, place, idParam);
  const updated = await updateWebhook(ctx.db, hook.id, { ...configSet(ctx, parseConfig(body, ctx)), updated_at: isoSeconds() });
  if (!updated) throw new NotFoundError();
  return updated;
}

export async function removeHook(ctx: AppContext, place: HookPlace, idParam: string): Promise<void> {
  const hook = await getHook(ctx, place, idParam);
  if (!(await deleteWebhook(ctx.db, hook.id))) throw new NotFoundError();
}

/** The URLs payloads of this hook use: the external URL when set, else the base the hook was created through. */
export function payloadUrls(ctx: AppContext, hook: Pick<Webhook, 'web_base'>): Urls {
  return urlsFromBase(ctx.config.externalUrl ?? hook.web_base);
}

/** Queues a `ping` (GitHub sends one on creation too). */
export async function enqueuePing(ctx: AppContext, hook: Webhook, sender: Account): Promise<void> {
  const urls = payloadUrls(ctx, hook);
  const repo = hook.repository_id !== null ? await findRepositoryById(ctx.db, hook.repository_id) : undefined;
  const ownerId = repo?.owner_id ?? hook.account_id;
  const owner = ownerId !== null ? (await findAccountsByIds(ctx.db, [ownerId])).get(ownerId) : undefined;
  const hooksUrl =
    hook.scope === 'repository' && repo && owner
      ? `${urls.api}/repos/${encodeURIComponent(owner.login)}/${encodeURIComponent(repo.name)}/hooks`
      : hook.scope === 'organization' && owner
        ? `${urls.api}/orgs/${encodeURIComponent(owner.login)}/hooks`
        : `${urls.api}/admin/hooks`;
  const body = pingBody(hook, hookJson(hook, hooksUrl), { sender, urls, owner, repo });
  await insertJobs(
    ctx.db,
    [{ hook_id: hook.id, guid: randomUUID(), event: 'ping', action: null, repository_id: repo?.id ?? null, payload: JSON.stringify(body), redelivery: 0 }],
    Date.now(),
  );
}

/** `POST …/tests`: a `push` of the default branch's head, when the hook takes `push` and the branch exists. */
export async function enqueueTestPush(ctx: AppContext, hook: Webhook, owner: Account, repo: Repository, sender: Account): Promise<void> {
  if (!subscribes(hook, 'push')) return;
  const head = await git.resolveCommit(gitDirFor(ctx, repo), `refs/heads/${repo.default_branch}`);
  if (!head) return;
  const parent = (await git.getCommit(gitDirFor(ctx, repo), head))?.parents[0] ?? '0'.repeat(40);
  const urls = payloadUrls(ctx, hook);
  const body = await pushBody(ctx, `refs/heads/${repo.default_branch}`, parent, head, { owner, repo, sender, accounts: new Map(), urls });
  await insertJobs(
    ctx.db,
    [{ hook_id: hook.id, guid: randomUUID(), event: 'push', action: null, repository_id: repo.id, payload: JSON.stringify(body), redelivery: 0 }],
    Date.now(),
  );
}

// ---- deliveries ---------------------------------------------------------------------------------

export function deliveryItemJson(a: WebhookAttempt) {
  return {
    id: a.id,
    guid: a.guid,
    delivered_at: a.delivered_at,
    redelivery: a.redelivery === 1,
    duration: a.duration,
    status: a.status,
    status_code: a.status_code,
    event: a.event,
    action: a.action,
    installation_id: null,
    repository_id: a.repository_id,
    throttled_at: null,
  };
}

export function deliveryJson(a: WebhookAttempt) {
  let payload: unknown;
  try {
    payload = JSON.parse(a.request_body);
  } catch {
    payload = null;
  }
  return {
    ...deliveryItemJson(a),
    url: a.url,
    request: { headers: JSON.parse(a.request_headers) as Record<string, string>, payload },
    response: { headers: a.response_headers ? (JSON.parse(a.response_headers) as Record<string, string>) : null, payload: a.response_body },
  };
}

/** GitHub's delivery cursors look like `v1_12345`; Wharf's name the last id seen. */
export function parseCursor(value: unknown): number | null {
  if (value === undefined || value === '') return null;
  const m = typeof value === 'string' ? /^v1_(\d{1,15})$/.exec(value) : null;
  if (!m) throw new ValidationError([{ resource: 'Hook', code: 'invalid', field: 'cursor' }]);
  return Number(m[1]);
}

export async function listDeliveries(ctx: AppContext, hook: Webhook, cursor: number | null, perPage: number, status: 'success' | 'failure' | null) {
  const rows = await listAttempts(ctx.db, hook.id, cursor, perPage + 1, status);
  const page = rows.slice(0, perPage);
  const next = rows.length > perPage ? `v1_${page[page.length - 1]!.id}` : null;
  return { page, next };
}

export async function getDelivery(ctx: AppContext, hook: Webhook, idParam: string): Promise<WebhookAttempt> {
  if (!/^\d{1,15}$/.test(idParam)) throw new NotFoundError();
  const attempt = await findAttempt(ctx.db, hook.id, Number(idParam));
  if (!attempt) throw new NotFoundError();
  return attempt;
}

/** Redelivery: the same payload and GUID, sent again as a new delivery marked `redelivery`. */
export async function redeliver(ctx: AppContext, hook: Webhook, idParam: string): Promise<void> {
  const attempt = await getDelivery(ctx, hook, idParam);
  const job = await findJob(ctx.db, attempt.job_id);
  if (!job) throw new NotFoundError();
  await insertJobs(
    ctx.db,
    [{ hook_id: hook.id, guid: job.guid, event: job.event, action: job.action, repository_id: job.repository_id, payload: job.payload, redelivery: 1 }],
    Date.now(),
  );
}

export async function findRepoById(ctx: AppContext, id: number): Promise<Repository | undefined> {
  return findRepositoryById(ctx.db, id);
}
