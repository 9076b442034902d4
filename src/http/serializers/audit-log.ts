/**
 * @module http/serializers/audit-log
 * Audit entries in GitHub's `audit-log-event` shape: `@timestamp` and `created_at` in epoch
 * milliseconds (as GitHub sends them, whatever the description's wording), `_document_id`,
 * `action`, `actor`, `actor_id`, `user`, `org`, `repo`, and `data` for the rest. `actor_ip` is
 * GitHub's own field for the address (shown on GHES when IP disclosure is on; always here).
 * Fields an entry has no value for are left out, as GitHub does.
 */
import type { AuditLogRow } from '../../db/schema.ts';

export function auditLogEvent(row: AuditLogRow): Record<string, unknown> {
  const event: Record<string, unknown> = {
    '@timestamp': Number(row.created_ms),
    _document_id: String(row.id),
    action: row.action,
    actor: row.actor,
    created_at: Number(row.created_ms),
  };
  if (row.actor_id !== null) event.actor_id = Number(row.actor_id);
  if (row.actor_ip !== null) event.actor_ip = row.actor_ip;
  if (row.user_login !== null) event.user = row.user_login;
  if (row.user_id !== null) event.user_id = Number(row.user_id);
  if (row.org !== null) event.org = row.org;
  if (row.org_id !== null) event.org_id = Number(row.org_id);
  if (row.repo !== null) event.repo = row.repo;
  const data = JSON.parse(row.data) as Record<string, unknown>;
  // GitHub puts visibility changes at the top level of `repo.access` entries.
  for (const key of ['visibility', 'previous_visibility'] as const) if (typeof data[key] === 'string') event[key] = data[key];
  if (Object.keys(data).length > 0) event.data = data;
  return event;
}
