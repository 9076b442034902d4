/**
 * @module services/mirrors
 * Setting a repository up as a pull mirror of an upstream, reading and removing that, and the
 * scheduler's round (docs/mirrors.md). The sync itself is services/mirror-sync.ts.
 *
 * - Only a repository's administrators configure its mirror; the upstream token is sealed with
 *   the instance key (`WHARF_INSTANCE_KEY_FILE`, as webhook secrets) and never shown again.
 * - A repository becomes a mirror only while it has no releases: a mirror's sync deletes what its
 *   upstream has not got, and must never delete releases someone published here.
 * - Removing the mirror keeps everything synced so far; the repository is an ordinary one again.
 */
import type { AppContext } from '../context.ts';
import type { Mirror, MirrorKind } from '../db/schema.ts';
import {
  countReleasesOfRepository,
  deleteMirrorRow,
  dueMirrors,
  findMirrorOfRepository,
  forgetAnswers,
  insertMirror,
  listMirrorsWithNames,
  updateMirror,
} from '../db/repos/mirrors-repo.ts';
import { InvalidRequestError, NotFoundError, ValidationError, type FieldError } from '../domain/errors.ts';
import { bodyMembers } from '../domain/request-body.ts';
import { CHANNEL_NAME } from '../domain/release-version.ts';
import { secretBoxAt } from '../util/secret-box.ts';
import { isoSeconds } from '../util/time.ts';
import { locateUpstream, UpstreamError } from './mirror-upstream.ts';
import { syncMirror, type SyncOutcome } from './mirror-sync.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';

export const DEFAULT_SCHEDULE_MS = 3_600_000;
const MIN_SCHEDULE_MS = 60_000;

/** `90s`, `30m`, `1h`, `2d` → milliseconds; null when not such a duration. */
export function parseSchedule(value: string): number | null {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export function formatSchedule(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

export interface MirrorInput {
  upstream_url: string;
  kind: MirrorKind;
  /** undefined: keep the token the mirror has (it is never shown, so it cannot be sent back); null: none. */
  token: string | null | undefined;
  schedule_ms: number;
  tag_glob: string | null;
  last_n: number | null;
  asset_glob: string | null;
  channels: string | null;
  prune: boolean;
}

const KINDS: readonly MirrorKind[] = ['github', 'gitea', 'auto'];

/** `"stable, beta"` → `"stable,beta"`; null when not a list of channel names. */
export function normaliseChannels(value: string): string | null {
  const names = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (names.length === 0 || names.some((c) => !CHANNEL_NAME.test(c))) return null;
  return [...new Set(names)].join(',');
}

function invalid(field: string, message: string): FieldError {
  return { resource: 'Mirror', field, code: 'invalid', message };
}

/**
 * Reads a mirror's settings from a request body (`upstream_url`, `kind`, `token`, `schedule`,
 * `tags`, `channels`, `assets`, `last`, `prune`).
 */
export function parseMirrorInput(body: unknown): MirrorInput {
  const b = bodyMembers(body);
  const errors: FieldError[] = [];
  const url = b.upstream_url;
  if (typeof url !== 'string' || url === '') errors.push({ resource: 'Mirror', field: 'upstream_url', code: 'missing_field' });
  else {
    try {
      locateUpstream(url);
    } catch (err) {
      errors.push(invalid('upstream_url', (err as Error).message));
    }
  }
  if (b.kind !== undefined && b.kind !== null && !KINDS.includes(b.kind as MirrorKind)) errors.push(invalid('kind', 'kind must be "github", "gitea" or "auto"'));
  let channels: string | null = null;
  if (b.channels !== undefined && b.channels !== null) {
    channels = typeof b.channels === 'string' ? normaliseChannels(b.channels) : null;
    if (channels === null) errors.push(invalid('channels', 'channels must be a comma-separated list of channel names such as stable or stable,beta'));
  }
  if (b.token !== undefined && b.token !== null && (typeof b.token !== 'string' || b.token === '')) errors.push(invalid('token', 'token must be a non-empty string or null'));
  let schedule = DEFAULT_SCHEDULE_MS;
  if (b.schedule !== undefined) {
    const parsed = typeof b.schedule === 'string' ? parseSchedule(b.schedule) : null;
    if (parsed === null || parsed < MIN_SCHEDULE_MS) errors.push(invalid('schedule', 'schedule must be a duration of at least a minute, such as 15m, 1h or 1d'));
    else schedule = parsed;
  }
  if (b.tags !== undefined && b.tags !== null && (typeof b.tags !== 'string' || b.tags === '')) errors.push(invalid('tags', 'tags must be a glob such as v*'));
  if (b.assets !== undefined && b.assets !== null && (typeof b.assets !== 'string' || b.assets === '')) errors.push(invalid('assets', 'assets must be a glob such as *.tar.gz'));
  if (b.last !== undefined && b.last !== null && (typeof b.last !== 'number' || !Number.isInteger(b.last) || b.last < 1))
    errors.push(invalid('last', 'last must be a whole number of at least 1'));
  if (b.prune !== undefined && typeof b.prune !== 'boolean') errors.push(invalid('prune', 'prune must be true or false'));
  if (errors.length) throw new ValidationError(errors);
  return {
    upstream_url: url as string,
    kind: typeof b.kind === 'string' ? (b.kind as MirrorKind) : 'auto',
    token: typeof b.token === 'string' ? b.token : b.token === null ? null : undefined,
    schedule_ms: schedule,
    tag_glob: typeof b.tags === 'string' ? b.tags : null,
    last_n: typeof b.last === 'number' ? b.last : null,
    asset_glob: typeof b.assets === 'string' ? b.assets : null,
    channels,
    prune: b.prune !== false,
  };
}

/** Makes the repository a mirror of `input.upstream_url`, or changes its mirror's settings. Its first sync is due at once. */
export async function setMirror(ctx: AppContext, access: RepoAccess, body: unknown): Promise<{ mirror: Mirror; created: boolean }> {
  requirePermission(access, 'admin');
  const input = parseMirrorInput(body);
  const existing = await findMirrorOfRepository(ctx.db, access.repo.id);
  const sealed = input.token === undefined ? (existing?.token_sealed ?? null) : input.token === null ? null : secretBoxAt(ctx.config.instanceKeyFile).seal(input.token);
  const now = isoSeconds();
  const settings = {
    upstream_url: input.upstream_url,
    kind: input.kind,
    token_sealed: sealed,
    schedule_ms: input.schedule_ms,
    tag_glob: input.tag_glob,
    last_n: input.last_n,
    asset_glob: input.asset_glob,
    channels: input.channels,
    prune: input.prune ? 1 : 0,
    updated_at: now,
    next_sync_ms: Date.now(),
  };
  if (existing) {
    // Other settings, other answers: the conditional-request cache starts afresh.
    await forgetAnswers(ctx.db, existing.id);
    return { mirror: (await updateMirror(ctx.db, existing.id, settings))!, created: false };
  }
  if ((await countReleasesOfRepository(ctx.db, access.repo.id)) > 0) {
    throw new InvalidRequestError('A repository with releases cannot become a mirror: a mirror deletes what its upstream has not got. Mirror into a new repository.');
  }
  const mirror = await insertMirror(ctx.db, { ...settings, repository_id: access.repo.id, created_by: access.principal!.user.id, created_at: now });
  return { mirror, created: true };
}

/** The repository's mirror (its administrators only); 404 when it is not a mirror. */
export async function getMirror(ctx: AppContext, access: RepoAccess): Promise<Mirror> {
  requirePermission(access, 'admin');
  const mirror = await findMirrorOfRepository(ctx.db, access.repo.id);
  if (!mirror) throw new NotFoundError();
  return mirror;
}

export async function removeMirror(ctx: AppContext, access: RepoAccess): Promise<void> {
  requirePermission(access, 'admin');
  if (!(await deleteMirrorRow(ctx.db, access.repo.id))) throw new NotFoundError();
}

/** Asks for a sync as soon as a node's scheduler looks (the API's `POST …/mirror/sync`). */
export async function requestSync(ctx: AppContext, access: RepoAccess): Promise<Mirror> {
  const mirror = await getMirror(ctx, access);
  return (await updateMirror(ctx.db, mirror.id, { next_sync_ms: Date.now() }))!;
}

/** Runs one sync of the repository's mirror now, in this process (`wharf mirror sync`). */
export async function syncNow(ctx: AppContext, access: RepoAccess): Promise<SyncOutcome> {
  const mirror = await getMirror(ctx, access);
  return syncMirror(ctx, mirror.id);
}

export async function listMirrors(ctx: AppContext): Promise<Array<Mirror & { owner_login: string; repo_name: string }>> {
  return listMirrorsWithNames(ctx.db);
}

/**
 * The scheduler's round: syncs every mirror that is due and that no other node is syncing (the
 * lease decides), one after another. Returns how many it synced.
 */
export async function syncDueMirrors(ctx: AppContext, limit = 10): Promise<number> {
  let synced = 0;
  const now = Date.now();
  for (const mirror of await dueMirrors(ctx.db, now, limit)) {
    const outcome = await syncMirror(ctx, mirror.id, { onlyIfDueAt: now });
    if (outcome.ran) synced++;
  }
  return synced;
}

export { UpstreamError };
