/**
 * @module web/pages/hook-views
 * The markup of the webhook settings pages: the list of a repository's hooks, the form that
 * creates or edits one, and its recent deliveries, each with the request as sent (headers and
 * payload), the response as received (status, headers, body) and a Redeliver button.
 */
import type { FastifyRequest } from 'fastify';
import type { Webhook, WebhookAttempt } from '../../db/schema.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { hookEvents } from '../../webhooks/hooks.ts';
import { repoPath, timeTag } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField } from '../layout.ts';

/** The events the form offers, with GitHub's descriptions (`*` is "everything"). */
export const OFFERED_EVENTS: ReadonlyArray<{ name: string; label: string }> = [
  { name: 'push', label: 'Pushes: git pushes to the repository' },
  { name: 'release', label: 'Releases: published, unpublished, created, edited, deleted or prereleased' },
  { name: 'release_asset', label: 'Release assets: uploaded, renamed or deleted (a Wharf extension)' },
  { name: 'create', label: 'Branch or tag creation' },
  { name: 'delete', label: 'Branch or tag deletion' },
  { name: '*', label: 'Send me everything' },
];

/** What the form shows: a hook's settings, or what was just submitted. */
export interface HookFormState {
  url: string;
  contentType: 'json' | 'form';
  insecureSsl: '0' | '1';
  events: string[];
  active: boolean;
  /** Whether the hook has a secret now (the form never shows it). */
  hasSecret: boolean;
}

export function hooksPath(access: RepoAccess, ...rest: string[]): string {
  return repoPath(access.owner.login, access.repo.name, 'settings', 'hooks', ...rest);
}

export function stateOfHook(hook: Webhook): HookFormState {
  return {
    url: hook.url,
    contentType: hook.content_type,
    insecureSsl: hook.insecure_ssl === '1' ? '1' : '0',
    events: hookEvents(hook),
    active: hook.active === 1,
    hasSecret: hook.secret_ciphertext !== null,
  };
}

/** A hook's state in a word, with Wharf's reason when it turned the hook off. */
function hookStatus(hook: Webhook): Html {
  if (hook.active !== 1) {
    return hook.disabled_reason ? html`<span class="badge failed">Disabled</span> <span class="muted">${hook.disabled_reason}</span>` : html`<span class="badge">Inactive</span>`;
  }
  if (hook.last_response_status === null) return html`<span class="badge">No deliveries yet</span>`;
  return hook.last_response_status === 'active'
    ? html`<span class="badge ok">Last delivery succeeded</span>`
    : html`<span class="badge failed">Last delivery failed</span> <span class="muted">${hook.last_response_message ?? ''}</span>`;
}

export function hookList(access: RepoAccess, hooks: Webhook[]): Html {
  const items = hooks.map(
    (hook) => html`<li class="hook">
  <a href="${hooksPath(access, String(hook.id))}"><code>${hook.url}</code></a>
  <span class="muted">(${hookEvents(hook).join(', ') || 'no events'})</span>
  <div>${hookStatus(hook)}</div>
</li>`,
  );
  return html`<div class="toolbar"><h1 class="grow">Webhooks</h1><a class="button primary" href="${hooksPath(access, 'new')}">Add webhook</a></div>
<p class="muted">Webhooks send a POST request to each URL below when the chosen events happen in this repository, signed with the hook's secret.</p>
${items.length ? html`<ul class="list card hooks">${items}</ul>` : html`<p class="empty card">This repository has no webhooks yet.</p>`}`;
}

export function errorList(errors: string[]): Html {
  return errors.length ? html`<div class="flash error" role="alert"><ul>${errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : html``;
}

export function hookForm(request: FastifyRequest, access: RepoAccess, hook: Webhook | null, state: HookFormState): Html {
  const offered = new Set(OFFERED_EVENTS.map((e) => e.name));
  // Events set through the API that the form does not offer stay listed, so saving keeps them.
  const extra = state.events.filter((e) => !offered.has(e)).map((name) => ({ name, label: name }));
  const eventBoxes = [...OFFERED_EVENTS, ...extra].map(
    (e) =>
      html`<label class="check"><input type="checkbox" name="event_${e.name}" value="1"${state.events.includes(e.name) ? html` checked` : ''}> ${e.label}${
        e.name === '*' ? '' : html` <code>${e.name}</code>`
      }</label>`,
  );
  const option = (value: string, label: string, current: string) => html`<option value="${value}"${value === current ? html` selected` : ''}>${label}</option>`;
  return html`<form method="post" action="${hook ? hooksPath(access, String(hook.id)) : hooksPath(access)}" class="stack card hook-form">
${csrfField(request)}
<label>Payload URL <input name="url" type="text" required value="${state.url}" placeholder="https://example.com/postreceive" spellcheck="false" autocomplete="off"></label>
<label>Content type <select name="content_type">${option('json', 'application/json', state.contentType)}${option('form', 'application/x-www-form-urlencoded', state.contentType)}</select></label>
<label>Secret <input name="secret" type="password" value="" autocomplete="new-password">
<small class="muted">${state.hasSecret ? 'A secret is set. Leave this empty to keep it.' : 'Deliveries are signed with it (X-Hub-Signature-256).'}</small></label>
${state.hasSecret ? html`<label class="check"><input type="checkbox" name="remove_secret" value="1"> Remove the secret</label>` : ''}
<label>SSL verification <select name="insecure_ssl">${option('0', 'Enable SSL verification', state.insecureSsl)}${option('1', 'Disable (not recommended)', state.insecureSsl)}</select></label>
<fieldset class="stack events"><legend>Which events would you like to trigger this webhook?</legend>${eventBoxes}</fieldset>
<label class="check"><input type="checkbox" name="active" value="1"${state.active ? html` checked` : ''}> Active <small class="muted">(deliveries are sent while the hook is active)</small></label>
<div class="actions"><button type="submit" class="primary">${hook ? 'Update webhook' : 'Add webhook'}</button>
<a class="button" href="${hooksPath(access)}">Cancel</a></div>
</form>`;
}

/** Ping and delete: small forms of their own next to the edit form. */
export function hookActions(request: FastifyRequest, access: RepoAccess, hook: Webhook): Html {
  return html`<div class="actions">
<form method="post" action="${hooksPath(access, String(hook.id), 'pings')}" class="inline">${csrfField(request)}<button type="submit">Ping</button></form>
<form method="post" action="${hooksPath(access, String(hook.id), 'delete')}" class="inline confirm" data-confirm="Delete this webhook? Its deliveries go with it.">${csrfField(request)}<button type="submit" class="danger">Delete webhook</button></form>
</div>
<p class="muted">Status: ${hookStatus(hook)}</p>`;
}

function headerLines(json: string | null): string {
  if (!json) return '';
  const headers = JSON.parse(json) as Record<string, string>;
  return Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

/** The payload pretty-printed when it is JSON (it always is as stored), as is otherwise. */
function prettyPayload(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function succeeded(a: WebhookAttempt): boolean {
  return a.status_code >= 200 && a.status_code < 300;
}

function deliveryItem(request: FastifyRequest, access: RepoAccess, hook: Webhook, a: WebhookAttempt): Html {
  const ok = succeeded(a);
  return html`<li class="delivery" data-guid="${a.guid}" data-id="${a.id}">
<details>
<summary><span class="badge ${ok ? 'ok' : 'failed'}">${ok ? 'OK' : 'Failed'}</span> <code>${a.guid}</code>
<strong>${a.action ? `${a.event}.${a.action}` : a.event}</strong>
${a.redelivery === 1 ? html`<span class="badge">redelivery</span>` : ''}
<span class="muted">${timeTag(a.delivered_at)} · ${Number(a.duration).toFixed(2)} s · ${a.status_code ? `${a.status_code}` : a.status}</span></summary>
<div class="delivery-detail">
<form method="post" action="${hooksPath(access, String(hook.id), 'deliveries', String(a.id), 'redeliver')}" class="inline">${csrfField(request)}<button type="submit">Redeliver</button></form>
<h3>Request</h3>
<p><code>POST ${a.url}</code></p>
<h4>Headers</h4>
<pre class="request-headers">${headerLines(a.request_headers)}</pre>
<h4>Payload</h4>
<pre class="request-body">${prettyPayload(a.request_body)}</pre>
<h3>Response <code class="response-status">${a.status_code ? String(a.status_code) : '—'}</code></h3>
<p class="muted">${a.status}</p>
${
  a.response_headers !== null
    ? html`<h4>Headers</h4>
<pre class="response-headers">${headerLines(a.response_headers)}</pre>
<h4>Body</h4>
<pre class="response-body">${a.response_body ?? ''}</pre>`
    : html`<p class="muted">No response was received.</p>`
}
</div>
</details>
</li>`;
}

export function deliveryList(request: FastifyRequest, access: RepoAccess, hook: Webhook, deliveries: WebhookAttempt[], next: string | null): Html {
  const base = hooksPath(access, String(hook.id));
  return html`<section class="card deliveries">
<div class="toolbar"><h2 class="grow">Recent deliveries</h2><a class="button small" href="${base}">Refresh</a></div>
${deliveries.length ? html`<ul class="plain delivery-list">${deliveries.map((a) => deliveryItem(request, access, hook, a))}</ul>` : html`<p class="empty">No deliveries yet.</p>`}
${next ? html`<nav class="pager"><span></span><a rel="next" href="${base}?cursor=${encodeURIComponent(next)}">Older deliveries</a></nav>` : ''}
</section>`;
}
