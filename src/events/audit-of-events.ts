/**
 * @module events/audit-of-events
 * The audit entries of domain events that are security-relevant: a release published, unpublished
 * or deleted, an asset deleted. Written by `recordEvents` in the transaction of the change, like
 * every audit entry (docs/audit-log.md says why not through an outbox consumer). Events carry the
 * actor's id only; the request's address is not part of them, so these entries have no `actor_ip`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { auditRepo, recordAudit, SYSTEM_ACTOR, type AuditEntry } from '../services/audit.ts';
import { eventType, type DomainEvent } from './domain-events.ts';
import { findAuditSubjects } from '../db/repos/audit-repo.ts';

const AUDITED_EVENTS: Record<string, string> = {
  'release.published': 'release.publish',
  'release.unpublished': 'release.unpublish',
  'release.deleted': 'release.destroy',
  'release_asset.deleted': 'release_asset.destroy',
};

export async function auditEvents(trx: Kysely<Database>, events: DomainEvent[]): Promise<void> {
  const entries: AuditEntry[] = [];
  for (const event of events) {
    const action = AUDITED_EVENTS[eventType(event)];
    if (!action || (event.kind !== 'release' && event.kind !== 'release_asset')) continue;
    const { actor, repo } = await findAuditSubjects(trx, event.repositoryId, event.actorId);
    const release = event.release;
    entries.push({
      action,
      actor: actor ? { id: actor.id, login: actor.login, ip: null } : SYSTEM_ACTOR,
      repo: repo ? auditRepo({ id: repo.ownerId, login: repo.ownerLogin, type: repo.ownerType }, repo) : null,
      data: {
        release_id: release.id,
        tag_name: release.tag_name,
        ...(event.kind === 'release_asset' ? { asset_id: event.asset.id, asset_name: event.asset.name, digest: event.asset.digest ?? null } : {}),
      },
    });
  }
  if (entries.length > 0) await recordAudit(trx, ...entries);
}
