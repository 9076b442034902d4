/**
 * @module http/serializers/mirrors
 * A pull mirror as the API shows it (a Wharf extension, docs/mirrors.md). The token is never
 * shown, only whether there is one.
 */
import type { Mirror } from '../../db/schema.ts';
import { formatSchedule } from '../../services/mirrors.ts';

export function mirrorJson(mirror: Mirror, url: string) {
  return {
    url,
    upstream_url: mirror.upstream_url,
    kind: mirror.kind,
    has_token: mirror.token_sealed !== null,
    schedule: formatSchedule(mirror.schedule_ms),
    tags: mirror.tag_glob,
    channels: mirror.channels,
    assets: mirror.asset_glob,
    last: mirror.last_n,
    prune: mirror.prune === 1,
    next_sync_at: new Date(mirror.next_sync_ms).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    last_sync:
      mirror.last_status === null
        ? null
        : {
            status: mirror.last_status,
            started_at: mirror.last_started_at,
            finished_at: mirror.last_finished_at,
            error: mirror.last_error,
            summary: mirror.last_summary ? (JSON.parse(mirror.last_summary) as Record<string, number>) : null,
          },
    created_at: mirror.created_at,
    updated_at: mirror.updated_at,
  };
}
