/**
 * @module services/release-channels
 * Channels and versions of releases (docs/channels.md): the repository's release rules, the
 * columns every release stores from them, and "latest" per channel, major line and tag prefix.
 * GitHub's own "latest" lives in services/latest-release.ts and uses the same columns.
 */
import type { AppContext } from '../context.ts';
import type { Release, Repository } from '../db/schema.ts';
import { countReleasesByChannel, findHighestVersion, listReleaseTags, updateVersionColumns, type ReleaseListFilter, type VersionColumns } from '../db/repos/releases-repo.ts';
import { findRepositoryById, updateRepository } from '../db/repos/repositories-repo.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { bodyMembers } from '../domain/request-body.ts';
import { CHANNEL_NAME, DEFAULT_RULES, deriveReleaseVersion, readRules, rulesProblems, type ReleaseRules } from '../domain/release-version.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';

export type { ReleaseListFilter };

export function repositoryRules(repo: Pick<Repository, 'release_rules'>): ReleaseRules {
  return readRules(repo.release_rules);
}

/** The columns a release stores for its tag; an override equal to what the rules derive is no override. */
export function versionColumns(repo: Pick<Repository, 'release_rules'>, tag: string, prerelease: boolean, override: string | null): VersionColumns {
  const rules = repositoryRules(repo);
  const derived = deriveReleaseVersion(tag, prerelease, null, rules);
  const channelOverride = override !== null && override !== derived.channel ? override : null;
  return {
    channel: channelOverride ?? derived.channel,
    channel_override: channelOverride,
    tag_prefix: derived.prefix,
    version: derived.version,
    version_key: derived.versionKey,
    version_major: derived.major,
  };
}

const VERSION_COLUMNS = ['channel', 'channel_override', 'tag_prefix', 'version', 'version_key', 'version_major'] as const satisfies ReadonlyArray<keyof VersionColumns>;

// ---- the rules ---------------------------------------------------------------------------------

export function getReleaseRules(access: RepoAccess): ReleaseRules {
  return repositoryRules(access.repo);
}

/**
 * Replaces the members given (the others keep their values) and re-derives every release's
 * version and channel in the same transaction, so no reader sees releases and rules disagree.
 * Only releases whose columns change are written, a few hundred per statement.
 */
export async function updateReleaseRules(ctx: AppContext, access: RepoAccess, input: unknown): Promise<ReleaseRules> {
  requirePermission(access, 'admin');
  const body = bodyMembers(input);
  const problems = rulesProblems(body);
  if (problems.length) throw new ValidationError(problems.map((message) => ({ resource: 'ReleaseRules', code: 'custom', message })));
  return ctx.db.transaction().execute(async (trx) => {
    const repo = (await findRepositoryById(trx, access.repo.id)) ?? access.repo;
    const rules: ReleaseRules = { ...repositoryRules(repo), ...(body as Partial<ReleaseRules>) };
    const stored = JSON.stringify(rules) === JSON.stringify(DEFAULT_RULES) ? null : JSON.stringify(rules);
    await updateRepository(trx, repo.id, { release_rules: stored });
    const changed: Array<{ id: number } & VersionColumns> = [];
    for (const release of await listReleaseTags(trx, repo.id)) {
      const columns = versionColumns({ release_rules: stored }, release.tag_name, release.prerelease === 1, release.channel_override);
      if (VERSION_COLUMNS.some((c) => columns[c] !== release[c])) changed.push({ id: release.id, ...columns });
    }
    await updateVersionColumns(trx, changed);
    return rules;
  });
}

// ---- latest per line -----------------------------------------------------------------------------

export interface LineQuery {
  channels: string[];
  prefix?: string;
  major?: number;
}

/** Reads `channel`, `major` and `prefix` query parameters; null when none is given (GitHub's own question). */
export function parseLineQuery(query: unknown): LineQuery | null {
  const q = (query ?? {}) as Record<string, unknown>;
  const channel = typeof q.channel === 'string' ? q.channel : undefined;
  const prefix = typeof q.prefix === 'string' ? q.prefix : undefined;
  const major = typeof q.major === 'string' ? q.major : undefined;
  if (channel === undefined && prefix === undefined && major === undefined) return null;
  const channels = (channel ?? 'stable').split(',').map((c) => c.trim());
  const problems: string[] = [];
  if (channels.some((c) => !CHANNEL_NAME.test(c))) problems.push(`channel must be one or more channel names separated by commas`);
  if (major !== undefined && !/^\d{1,9}$/.test(major)) problems.push('major must be a whole number');
  if (prefix !== undefined && prefix.length > 100) problems.push('prefix is too long');
  if (problems.length) throw new ValidationError(problems.map((message) => ({ resource: 'Release', code: 'invalid', message })));
  return { channels, prefix, major: major === undefined ? undefined : Number(major) };
}

/** The published release with the highest version in a line; 404 when there is none. */
export async function getLatestInLine(ctx: AppContext, access: RepoAccess, line: LineQuery): Promise<Release> {
  const release = await findHighestVersion(ctx.db, access.repo.id, line);
  if (!release) throw new NotFoundError();
  return release;
}

export interface ChannelSummary {
  channel: string;
  prefix: string;
  releases: number;
  latest: Release;
}

/** Every (prefix, channel) with published releases, and its latest release. */
export async function listChannels(ctx: AppContext, access: RepoAccess): Promise<ChannelSummary[]> {
  const groups = await countReleasesByChannel(ctx.db, access.repo.id);
  const out: ChannelSummary[] = [];
  for (const g of groups) {
    const latest = await findHighestVersion(ctx.db, access.repo.id, { channels: [g.channel], prefix: g.tag_prefix });
    if (latest) out.push({ channel: g.channel, prefix: g.tag_prefix, releases: g.n, latest });
  }
  return out;
}

/** `channel`, `prefix` and `sort` on release lists (API and pages); GitHub's list when none is given. */
export function parseListFilter(query: unknown): ReleaseListFilter {
  const q = (query ?? {}) as Record<string, unknown>;
  const filter: ReleaseListFilter = {};
  const problems: string[] = [];
  if (typeof q.channel === 'string' && q.channel !== '') {
    filter.channels = q.channel.split(',').map((c) => c.trim());
    if (filter.channels.some((c) => !CHANNEL_NAME.test(c))) problems.push('channel must be one or more channel names separated by commas');
  }
  if (typeof q.prefix === 'string') filter.prefix = q.prefix;
  if (q.sort !== undefined) {
    if (q.sort !== 'created' && q.sort !== 'version') problems.push('sort must be "created" or "version"');
    else filter.sort = q.sort;
  }
  if (problems.length) throw new ValidationError(problems.map((message) => ({ resource: 'Release', code: 'invalid', message })));
  return filter;
}
