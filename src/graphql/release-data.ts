/**
 * @module graphql/release-data
 * The release reads GraphQL needs, expressed over the release services.
 */
import type { AppContext } from '../context.ts';
import type { Release } from '../db/schema.ts';
import type { RepoAccess } from '../services/repositories.ts';
import { pageWindow, type ConnectionArgs, type Window } from './connection.ts';

export interface ReleaseOrder {
  field: 'CREATED_AT' | 'NAME';
  direction: 'ASC' | 'DESC';
}

export async function latestReleaseId(_ctx: AppContext, _access: RepoAccess): Promise<number | null> {
  return null;
}

export async function releaseByTagIncludingDrafts(_ctx: AppContext, _access: RepoAccess, _tag: string): Promise<Release | null> {
  return null;
}

export async function latestRelease(_ctx: AppContext, _access: RepoAccess): Promise<Release | null> {
  return null;
}

export async function releasePage(_ctx: AppContext, _access: RepoAccess, args: ConnectionArgs, _order: ReleaseOrder): Promise<{ items: Release[]; window: Window; total: number }> {
  const window = pageWindow(args, 0, 'releases');
  return { items: [], window, total: 0 };
}
