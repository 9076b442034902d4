/**
 * @module webhooks/fan-out
 * The webhooks consumer of the outbox: for each event, one delivery (`webhook_jobs` row, with its
 * own GUID) per active hook that subscribes to it, written in the transaction that marks the
 * event handled, so an event fans out exactly once. Payloads are built here, once per event and
 * URL base, from the event's snapshot; a redelivery later sends the very same bytes.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AppContext } from '../context.ts';
import type { Account, Database, Webhook } from '../db/schema.ts';
import { findAccountsByIds } from '../db/repos/accounts-repo.ts';
import { findRepositoryById } from '../db/repos/repositories-repo.ts';
import { findHooksFor, insertJobs, type NewJob } from '../db/repos/webhooks-repo.ts';
import type { QueuedEvent } from '../events/outbox.ts';
import { payloadUrls, subscribes } from './hooks.ts';
import { buildPayload, webhookEventName, type Payload } from './payloads.ts';

/** Accounts an event's payload mentions: owner, sender, release author, asset uploaders. */
function accountIdsOf(queued: QueuedEvent): number[] {
  const { event } = queued;
  const ids = [event.ownerId];
  if (event.actorId !== null) ids.push(event.actorId);
  if (event.kind === 'release') {
    ids.push(event.release.author_id);
    for (const a of event.assets) if (a.uploader_id !== null) ids.push(a.uploader_id);
  }
  if (event.kind === 'release_asset') {
    ids.push(event.release.author_id);
    if (event.asset.uploader_id !== null) ids.push(event.asset.uploader_id);
  }
  return ids;
}

/**
 * The hooks of a repository and its owner, read once per transaction of the consumer (which
 * handles up to 25 events in one; a release created records five). Every event of that
 * transaction was recorded before it was claimed, so a hook made after the first read has a
 * `created_ms` after all of them and would hear none of them anyway.
 */
const hooksByTransaction = new WeakMap<Kysely<Database>, Map<string, Promise<Webhook[]>>>();

function hooksFor(trx: Kysely<Database>, repositoryId: number | null, ownerId: number | null): Promise<Webhook[]> {
  let read = hooksByTransaction.get(trx);
  if (!read) {
    read = new Map();
    hooksByTransaction.set(trx, read);
  }
  const key = `${repositoryId}:${ownerId}`;
  let hooks = read.get(key);
  if (!hooks) {
    hooks = findHooksFor(trx, repositoryId, ownerId);
    read.set(key, hooks);
  }
  return hooks;
}

export async function fanOutEvent(ctx: AppContext, trx: Kysely<Database>, queued: QueuedEvent): Promise<void> {
  const { event } = queued;
  const name = webhookEventName(event);
  // A hook hears what happened after it was made, not what was still waiting in the outbox.
  const hooks = (await hooksFor(trx, event.repositoryId, event.ownerId)).filter((h) => subscribes(h, name) && h.created_ms <= queued.row.created_ms);
  if (hooks.length === 0) return;
  const repo = await findRepositoryById(trx, event.repositoryId);
  // The repository is gone (deleted since): nothing left to describe.
  if (!repo) return;
  const accounts = await findAccountsByIds(trx, accountIdsOf(queued));
  const owner = accounts.get(event.ownerId);
  if (!owner) return;
  const sender: Account = (event.actorId !== null ? accounts.get(event.actorId) : undefined) ?? owner;
  const byBase = new Map<string, Payload>();
  const jobs: NewJob[] = [];
  for (const hook of hooks) {
    const urls = payloadUrls(ctx, hook);
    let payload = byBase.get(urls.web);
    if (!payload) {
      payload = await buildPayload(ctx, event, { owner, repo, sender, accounts, urls });
      byBase.set(urls.web, payload);
    }
    jobs.push({ hook_id: hook.id, guid: randomUUID(), event: payload.event, action: payload.action, repository_id: repo.id, payload: JSON.stringify(payload.body), redelivery: 0 });
  }
  await insertJobs(trx, jobs, Date.now());
}
