/**
 * @module events/domain-events
 * Wharf's domain events: what a committed change did, typed. Services build them and hand them to
 * `recordEvents` inside the transaction that makes the change (see events/outbox.ts), so a change
 * that rolls back emits nothing and one that commits is never lost. Each event carries a snapshot
 * of the rows it describes as they were in that transaction: consumers never have to re-read
 * state that may have moved on (or been deleted) since.
 */
import type { Asset, Release } from '../db/schema.ts';

/** GitHub's seven `release` actions. */
export type ReleaseAction = 'created' | 'edited' | 'published' | 'unpublished' | 'prereleased' | 'released' | 'deleted';
/** Wharf's `release_asset` actions (an extension; GitHub has no asset events). */
export type AssetAction = 'uploaded' | 'renamed' | 'deleted';

interface EventBase {
  repositoryId: number;
  ownerId: number;
  /** The account that made the change (the pusher for ref events); null when Wharf did it itself. */
  actorId: number | null;
}

/** What an edit changed, in GitHub's `changes` shape (`from` is the value before). */
export interface ReleaseChanges {
  name?: { from: string };
  body?: { from: string };
  tag_name?: { from: string };
  make_latest?: { to: boolean };
}

export interface ReleaseEvent extends EventBase {
  kind: 'release';
  action: ReleaseAction;
  release: Release;
  /** The release's uploaded assets at the time of the change. */
  assets: Asset[];
  changes?: ReleaseChanges;
}

export interface AssetEvent extends EventBase {
  kind: 'release_asset';
  action: AssetAction;
  release: Release;
  asset: Asset;
  changes?: { name: { from: string } };
}

/** A branch or tag that appeared or disappeared (GitHub's `create` / `delete`). */
export interface RefEvent extends EventBase {
  kind: 'ref';
  action: 'created' | 'deleted';
  refType: 'tag' | 'branch';
  /** The short name (`v1.0`, `main`). */
  ref: string;
  /** The commit the ref points at (created) or pointed at (deleted). */
  sha: string;
}

/** One ref moved by a push (GitHub's `push`): before/after are all-zero when absent. */
export interface PushEvent extends EventBase {
  kind: 'push';
  /** The full ref (`refs/heads/main`). */
  ref: string;
  before: string;
  after: string;
}

export type DomainEvent = ReleaseEvent | AssetEvent | RefEvent | PushEvent;

export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** The stored `type` of an event: `release.published`, `release_asset.uploaded`, `ref.created`, `push`. */
export function eventType(event: DomainEvent): string {
  return event.kind === 'push' ? 'push' : `${event.kind}.${event.action}`;
}

/**
 * The release actions an update makes, in the order GitHub sends them. `before` is the row before
 * the change, `after` the row after it.
 */
export function releaseUpdateActions(before: Release, after: Release, changes: ReleaseChanges): ReleaseAction[] {
  const actions: ReleaseAction[] = [];
  const wasDraft = before.draft === 1;
  const isDraft = after.draft === 1;
  if (Object.keys(changes).length > 0) actions.push('edited');
  if (wasDraft && !isDraft) {
    actions.push('published');
    actions.push(after.prerelease === 1 ? 'prereleased' : 'released');
  } else if (!wasDraft && isDraft) {
    actions.push('unpublished');
  } else if (!isDraft && before.prerelease !== after.prerelease) {
    actions.push(after.prerelease === 1 ? 'prereleased' : 'released');
  }
  return actions;
}

/** The `changes` of an edit: only fields whose value moved. */
export function releaseChanges(before: Release, after: Release, makeLatest: string | undefined): ReleaseChanges {
  const changes: ReleaseChanges = {};
  if ((before.name ?? '') !== (after.name ?? '')) changes.name = { from: before.name ?? '' };
  if ((before.body ?? '') !== (after.body ?? '')) changes.body = { from: before.body ?? '' };
  if (before.tag_name !== after.tag_name) changes.tag_name = { from: before.tag_name };
  if (makeLatest === 'true' || makeLatest === 'false') changes.make_latest = { to: makeLatest === 'true' };
  return changes;
}
