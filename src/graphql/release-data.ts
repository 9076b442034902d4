/**
 * @module graphql/release-data
 * The release reads GraphQL needs, expressed over the release services (which own visibility:
 * drafts only for callers with push access). Windows of a connection map onto the services'
 * newest-first offset listing; other orders are derived from it.
 */
import type { AppContext } from '../context.ts';
import type { Release } from '../db/schema.ts';
import { NotFoundError } from '../domain/errors.ts';
import * as releases from '../services/releases.ts';
import type { RepoAccess } from '../services/repositories.ts';
import { pageWindow, type ConnectionArgs, type Window } from './connection.ts';

export interface ReleaseOrder {
  field: 'CREATED_AT' | 'NAME';
  direction: 'ASC' | 'DESC';
}

export interface ReleasePage {
  items: Release[];
  window: Window;
  total: number;
}

export function latestReleaseId(ctx: AppContext, access: RepoAccess): Promise<number | null> {
  return releases.latestReleaseId(ctx, access.repo);
}

export function releaseByTagIncludingDrafts(ctx: AppContext, access: RepoAccess, tag: string): Promise<Release | null> {
  return releases.findReleaseByTagIncludingDrafts(ctx, access, tag);
}

export async function latestRelease(ctx: AppContext, access: RepoAccess): Promise<Release | null> {
  try {
    return await releases.getLatestRelease(ctx, access);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
}

/** `count` releases starting at `offset` in newest-first order. */
async function newestFirst(ctx: AppContext, access: RepoAccess, offset: number, count: number): Promise<{ items: Release[]; total: number }> {
  const { releases: items, total } = await releases.listReleases(ctx, access, { page: 1, perPage: count, offset });
  return { items, total };
}

function byName(a: Release, b: Release): number {
  const an = a.name ?? a.tag_name;
  const bn = b.name ?? b.tag_name;
  return an < bn ? -1 : an > bn ? 1 : a.id - b.id;
}

export async function releasePage(ctx: AppContext, access: RepoAccess, args: ConnectionArgs, order: ReleaseOrder): Promise<ReleasePage> {
  const { total } = await newestFirst(ctx, access, 0, 0);
  const window = pageWindow(args, total, 'releases');
  const count = window.end - window.start;
  if (count === 0) return { items: [], window, total };
  if (order.field === 'NAME') {
    // Names are not indexed; a repository's releases are few enough to order in memory.
    const all = (await newestFirst(ctx, access, 0, total)).items.sort(byName);
    if (order.direction === 'DESC') all.reverse();
    return { items: all.slice(window.start, window.end), window, total };
  }
  if (order.direction === 'DESC') return { items: (await newestFirst(ctx, access, window.start, count)).items, window, total };
  // Oldest first: the same rows read from the other end.
  const { items } = await newestFirst(ctx, access, total - window.end, count);
  return { items: items.reverse(), window, total };
}
