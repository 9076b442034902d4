/**
 * @module services/refs
 * The one door for every ref change. No other code creates, moves or deletes a ref in a
 * repository Wharf serves (the `git` module's ref writers are called from here only), so the rules
 * about refs and the after-effects of a change live in one place:
 *
 * - `checkRefChanges(ctx, repo, changes, actor)` — "may these ref updates happen?" Returns the
 *   refusals (empty: allowed). Every write below asks it before git moves anything. It takes a
 *   batch of updates so that a push can ask it too, before its refs move, with the updates git is
 *   about to make (a pre-receive check; until that check is wired, pushes only report what they
 *   changed, through `refsChanged`). Rules read only the database and git, so every node agrees.
 * - `createRef(ctx, repo, ref, sha, actor)` — creates `ref` if absent (atomic in git: two racing
 *   writers, even on two nodes, give one winner). Returns the change, or null when it existed.
 * - `deleteRef(ctx, repo, ref, actor)` — deletes `ref`. Returns the change, or null when absent.
 * - `prepareRefCreation(…)` — `createRef` in steps, for a write that also commits database rows
 *   (publishing a release creates its tag): checked now, created inside the caller's transaction,
 *   settled once that transaction has ended.
 * - `refsChanged(ctx, repo, changes, actor)` — the after-effects of changes already made: the
 *   writers above call it, and so does the push path for what a push changed. It records the push
 *   time, adopts the first pushed branch of an empty repository as its default, records the
 *   domain events (`ref.created`/`ref.deleted`, `push`) and tells the ref listeners (releases
 *   follow their tags), all in one transaction. Whatever must happen after every ref change goes here.
 *
 * A refused change throws a `ValidationError` (422) naming the reason, in words git can show a
 * pusher after `remote rejected`.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Repository } from '../db/schema.ts';
import { updateRepository } from '../db/repos/repositories-repo.ts';
import { ValidationError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { isoSeconds } from '../util/time.ts';
import { ZERO_SHA, type DomainEvent } from '../events/domain-events.ts';
import { recordEvents } from '../events/outbox.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { refuseAmbiguousNames } from './ambiguous-refs.ts';
import type { RefChange } from './push-events.ts';

export type { RefChange } from './push-events.ts';

/** Who asks for a ref change, and through which path. */
export interface RefActor {
  /** The signed-in user, or null for Wharf itself. */
  user: Pick<Account, 'id' | 'login'> | null;
  /**
   * `api`: the git refs API; `release`: publishing a release creates its tag; `push`: a git
   * push; `repository`: a new repository's first commit (`auto_init`).
   */
  via: 'api' | 'release' | 'push' | 'repository';
}

/** Why one ref change may not happen, in words git can print after `remote rejected`. */
export interface RefRefusal {
  ref: string;
  reason: string;
}

/**
 * One rule of the door: the refusals for the changes it forbids (none when it has no objection).
 * A rule reads the database and git only, never process memory, so every node agrees.
 */
export type RefRule = (ctx: AppContext, repo: Repository, changes: readonly RefChange[], actor: RefActor) => Promise<RefRefusal[]>;

/**
 * The rules every ref change must pass: no new tag or branch whose name is ambiguous (`HEAD`, or
 * a tag named like a branch and the reverse). Locked tags of immutable releases are the next rule
 * this list is for.
 */
const RULES: readonly RefRule[] = [refuseAmbiguousNames];

/** May these ref updates happen? The refusals, or an empty list when all of them may. */
export async function checkRefChanges(ctx: AppContext, repo: Repository, changes: readonly RefChange[], actor: RefActor): Promise<RefRefusal[]> {
  const refusals: RefRefusal[] = [];
  for (const rule of RULES) refusals.push(...(await rule(ctx, repo, changes, actor)));
  return refusals;
}

async function requireAllowed(ctx: AppContext, repo: Repository, change: RefChange, actor: RefActor): Promise<void> {
  const [refusal] = await checkRefChanges(ctx, repo, [change], actor);
  if (refusal) throw new ValidationError([{ resource: 'Reference', field: 'ref', code: 'custom', message: refusal.reason }], refusal.reason);
}

/** Creates `ref` at `sha` unless it exists: the change made, or null when another writer had it. */
export async function createRef(ctx: AppContext, repo: Repository, ref: string, sha: string, actor: RefActor): Promise<RefChange | null> {
  const gitDir = gitDirFor(ctx, repo);
  const change: RefChange = { ref, before: null, after: sha };
  await requireAllowed(ctx, repo, change, actor);
  if (!(await git.createRefIfAbsent(gitDir, ref, sha))) return null;
  await refsChanged(ctx, repo, [change], actor);
  return change;
}

/** A ref creation checked by the door, to be made as one step of a larger write. */
export interface RefCreation {
  change: RefChange;
  /**
   * Creates the ref in git (false when it exists already) and records its domain events in `trx`,
   * the caller's transaction, so they commit or roll back with the caller's rows.
   */
  create(trx: Kysely<Database>): Promise<boolean>;
  /** After the caller's write: `true` runs the after-effects, `false` deletes the ref again. No-op unless `create` made it. */
  settle(committed: boolean): Promise<void>;
}

/**
 * Checks a ref creation now and leaves the rest to the caller: a release's tag is created inside
 * the release's transaction (`create` touches git only, so it cannot wait on that transaction's
 * database connection) and deleted again if the transaction rolls back.
 */
export async function prepareRefCreation(ctx: AppContext, repo: Repository, ref: string, sha: string, actor: RefActor): Promise<RefCreation> {
  const change: RefChange = { ref, before: null, after: sha };
  await requireAllowed(ctx, repo, change, actor);
  const gitDir = gitDirFor(ctx, repo);
  let created = false;
  return {
    change,
    async create(trx) {
      created = await git.createRefIfAbsent(gitDir, ref, sha);
      if (created) await recordEvents(trx, refChangeEvents(repo, [change], actor));
      return created;
    },
    async settle(committed) {
      if (!created) return;
      created = false;
      if (committed) await refsChanged(ctx, repo, [change], actor, { eventsRecorded: true });
      else await git.deleteRef(gitDir, ref).catch(() => undefined);
    },
  };
}

/** Deletes `ref`: the change made, or null when there was no such ref. */
export async function deleteRef(ctx: AppContext, repo: Repository, ref: string, actor: RefActor): Promise<RefChange | null> {
  const gitDir = gitDirFor(ctx, repo);
  const existing = await git.getRef(gitDir, ref);
  if (!existing) return null;
  const change: RefChange = { ref, before: existing.sha, after: null };
  await requireAllowed(ctx, repo, change, actor);
  if (!(await git.deleteRef(gitDir, ref))) return null;
  await refsChanged(ctx, repo, [change], actor);
  return change;
}

/**
 * The after-effects of ref changes already made (by the writers above, or by git during a push).
 * Publishing a release does not count as a push: its tag leaves `pushed_at` as it was.
 */
export async function refsChanged(ctx: AppContext, repo: Repository, changes: RefChange[], actor: RefActor, options: { eventsRecorded?: boolean } = {}): Promise<void> {
  if (changes.length === 0) return;
  const gitDir = gitDirFor(ctx, repo);
  const update: Parameters<typeof updateRepository>[2] = {};
  if (actor.via !== 'release') update.pushed_at = isoSeconds();
  // A repository whose default branch does not exist adopts the first branch pushed to it.
  // Only a change that creates a branch can do that, so tags (every release) spawn no git here.
  const pushedBranch = changes.find((c) => c.ref.startsWith('refs/heads/') && c.after);
  if (pushedBranch && !(await git.resolveCommit(gitDir, `refs/heads/${repo.default_branch}`))) {
    const branch = pushedBranch.ref.slice('refs/heads/'.length);
    await git.setHead(gitDir, branch);
    update.default_branch = branch;
  }
  await ctx.db.transaction().execute(async (trx) => {
    const updated = Object.keys(update).length ? await updateRepository(trx, repo.id, update) : repo;
    if (!options.eventsRecorded) await recordEvents(trx, refChangeEvents(repo, changes, actor));
    await ctx.pushListeners.emit(trx, { repo: updated, changes, actorId: actor.user?.id ?? null });
  });
}

/** The domain events of ref changes: a `push` per moved ref, `ref.created`/`ref.deleted` for refs that appeared or went. */
export function refChangeEvents(repo: Repository, changes: readonly RefChange[], actor: RefActor): DomainEvent[] {
  const base = { repositoryId: repo.id, ownerId: repo.owner_id, actorId: actor.user?.id ?? null };
  const events: DomainEvent[] = [];
  for (const change of changes) {
    const m = /^refs\/(heads|tags)\/(.+)$/.exec(change.ref);
    if (!m) continue;
    const refType = m[1] === 'tags' ? 'tag' : 'branch';
    if (change.before === null && change.after !== null) events.push({ kind: 'ref', action: 'created', refType, ref: m[2]!, sha: change.after, ...base });
    if (change.before !== null && change.after === null) events.push({ kind: 'ref', action: 'deleted', refType, ref: m[2]!, sha: change.before, ...base });
    events.push({ kind: 'push', ref: change.ref, before: change.before ?? ZERO_SHA, after: change.after ?? ZERO_SHA, ...base });
  }
  return events;
}

// ---- the push path ----------------------------------------------------------------------------

/** Every ref of a repository (`ref → sha`), to compare before and after a push. */
export async function snapshotRefs(gitDir: string): Promise<Map<string, string>> {
  const refs = await git.listRefs(gitDir, 'refs/');
  return new Map(refs.map((r) => [r.ref, r.sha]));
}

/** Compares two ref listings (`ref → sha`) and returns what changed. */
export function diffRefs(before: Map<string, string>, after: Map<string, string>): RefChange[] {
  const changes: RefChange[] = [];
  for (const [ref, sha] of after) if (before.get(ref) !== sha) changes.push({ ref, before: before.get(ref) ?? null, after: sha });
  for (const [ref, sha] of before) if (!after.has(ref)) changes.push({ ref, before: sha, after: null });
  return changes;
}
