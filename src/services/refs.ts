/**
 * @module services/refs
 * The one door for every ref change. No other code creates, moves or deletes a ref in a
 * repository Wharf serves (the `git` module's ref writers are called from here only), so the rules
 * about refs and the after-effects of a change live in one place (docs/refs.md):
 *
 * - `checkRefChanges(ctx, repo, changes, actor)` — "may these ref updates happen?" Returns the
 *   refusals (empty: allowed). Every write below asks it before git moves anything, and so does a
 *   push, through its pre-receive hook (`http/push-checks.ts`). Rules read only the database and
 *   git, so every node agrees.
 * - `createRef(ctx, repo, ref, sha, actor)` — creates `ref` if absent (atomic in git: two racing
 *   writers, even on two nodes, give one winner). Returns the change, or null when it existed.
 * - `deleteRef(ctx, repo, ref, actor)` — deletes `ref`. Returns the change, or null when absent.
 * - `claimNewTag(…)` — `createRef` in steps, for a write that also commits database rows
 *   (publishing a release creates its tag): checked, claimed and created in git before the
 *   caller's transaction, recorded inside it, settled once it has ended. `claimExistingTag(…)`
 *   is its counterpart for a release published on a tag git has: no other writer may hold the
 *   tag's claim (it could still delete the tag).
 * - `syncRefs(ctx, repo, actor)` — the database learns what git has now: it compares the refs in
 *   git with the ones it knows (`repository_refs`) and, in one transaction, records the
 *   differences (git is read before that transaction opens, and a snapshot git has moved past
 *   since is read again, so no git process runs while the transaction holds the database), the push time, a default branch for an empty repository, the domain events
 *   (`ref.created`/`ref.deleted`, `push`) and the ref listeners' work (releases follow their
 *   tags). The writers above call it after git, a push calls it when git is done, and the
 *   reconciler (`services/ref-reconciler.ts`) calls it at start-up and periodically, so a change
 *   whose process died between git and the database still gets its events, once.
 *
 * Git cannot join a database transaction, so every writer records its intent first
 * (`ref_intents`, committed before git is touched; concurrent writers' intents share a commit,
 * `services/ref-intent-commits.ts`): a release's tag whose transaction never
 * committed is removed after a crash, and a change found by the reconciler is attributed to
 * whoever intended it. A release's intent is also its claim on the tag (unique per repository
 * and tag), so a second writer publishing on the same tag learns at intent time that another is
 * making it, without either holding the database while git works.
 *
 * A refused change throws a `ValidationError` (422) naming the reason, in words git can show a
 * pusher after `remote rejected`.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, RefIntent, Repository } from '../db/schema.ts';
import { updateRepository } from '../db/repos/repositories-repo.ts';
import { deleteRefIntents, knownRefs, lockRepositoryRefs, markRefsKnown, refIntentsOf, setKnownRefs, takeOverRefIntent } from '../db/repos/refs-repo.ts';
import { ValidationError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { isoSeconds } from '../util/time.ts';
import { ZERO_SHA, type DomainEvent } from '../events/domain-events.ts';
import { recordEvents } from '../events/outbox.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { crashPoint } from '../util/crash-points.ts';
import { refuseAmbiguousNames } from './ambiguous-refs.ts';
import { commitRefIntents } from './ref-intent-commits.ts';
import { refuseImmutableTagChanges } from './immutable-tags.ts';
import { refuseMirroredRefChanges } from './mirror-guard.ts';
import { holderIsGone, LEASE_HOLDER } from './leases.ts';
import { isUniqueViolation } from './db-errors.ts';
import type { RefChange } from './push-events.ts';
import type { WriteReads } from './write-reads.ts';

export type { RefChange } from './push-events.ts';

/** Who asks for a ref change, and through which path. */
export interface RefActor {
  /** The signed-in user, or null for Wharf itself. */
  user: Pick<Account, 'id' | 'login'> | null;
  /**
   * `api`: the git refs API; `release`: publishing a release creates its tag; `push`: a git
   * push; `repository`: a new repository's first commit (`auto_init`); `reconcile`: changes
   * found in git that the database had not recorded (a process died in between); `mirror`: a
   * pull mirror's sync makes the repository's refs those of its upstream (services/mirror-sync.ts);
   * `bundle`: an offline bundle's import (services/bundle-import.ts).
   */
  via: 'api' | 'release' | 'push' | 'repository' | 'reconcile' | 'mirror' | 'bundle';
  /**
   * The reads the writer's own checks made in this request (a release's: is the repository a
   * mirror, is the tag reserved), which the rules then take instead of reading again.
   */
  reads?: WriteReads;
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
 * a tag named like a branch and the reverse), the tags of immutable releases stay as they are
 * (their names are never reused), and a pull mirror's refs move only by its sync.
 */
const RULES: readonly RefRule[] = [refuseAmbiguousNames, refuseImmutableTagChanges, refuseMirroredRefChanges];

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

/**
 * Records that `actor` is about to make `changes` (before git moves), so that a change a crash
 * leaves unrecorded is attributed to them when the reconciler finds it.
 */
export async function recordChangeIntents(ctx: AppContext, repo: Repository, changes: readonly RefChange[], actor: RefActor): Promise<number[]> {
  const now = Date.now();
  return commitRefIntents(
    ctx.db,
    changes.map((c) => ({ repositoryId: repo.id, ref: c.ref, sha: c.after, purpose: 'change' as const, actorId: actor.user?.id ?? null, holder: LEASE_HOLDER, now })),
  );
}

/** Creates `ref` at `sha` unless it exists: the change made, or null when another writer had it. */
export async function createRef(ctx: AppContext, repo: Repository, ref: string, sha: string, actor: RefActor): Promise<RefChange | null> {
  const gitDir = gitDirFor(ctx, repo);
  const change: RefChange = { ref, before: null, after: sha };
  await requireAllowed(ctx, repo, change, actor);
  const intents = await recordChangeIntents(ctx, repo, [change], actor);
  if (!(await git.createRefIfAbsent(gitDir, ref, sha))) {
    await deleteRefIntents(ctx.db, intents);
    return null;
  }
  crashPoint('ref-written');
  await syncRefs(ctx, repo, actor);
  return change;
}

/**
 * A release's claim on its tag (a `release` intent, at most one per repository and tag), held
 * from before git is touched until the release's transaction has ended (see `claimNewTag`).
 */
export interface TagClaim {
  /** The tag's creation, when this claim made it in git; null when the tag was there already. */
  change: RefChange | null;
  /**
   * In `trx`, the caller's transaction: the claim ends, and a tag made here is recorded with its
   * domain events and its listeners' work, so they commit or roll back with the caller's rows.
   * `events`: the caller's own events, recorded first and with the tag's in one write. Touches the
   * database only: git was done before the transaction began.
   */
  record(trx: Kysely<Database>, events?: DomainEvent[]): Promise<void>;
  /**
   * After the caller's transaction: `false` (rolled back) deletes the tag again if this claim made
   * it, and only then ends the claim, so nobody finds the claim gone while that tag still exists.
   */
  settle(committed: boolean): Promise<void>;
}

/** Another writer holds the claim on a release's tag: it is making that tag, or may yet delete it. */
export class TagClaimedError extends Error {
  constructor(readonly ref: string) {
    super(`a release on ${ref} is being made by another writer`);
  }
}

/** Longer than any write keeps an intent (a release's transaction, a push): older ones are abandoned. */
export const INTENT_MAX_AGE_MS = 10 * 60_000;

/**
 * For a release published on a tag that does not exist: checks the creation with the door's rules,
 * claims the tag (committed before git moves; a claim another writer holds is a `TagClaimedError`,
 * one a dead process left is taken over) and creates the tag in git — all before the caller's
 * transaction, which then never waits on git while it holds the database (on SQLite, every other
 * writer). If the process dies after git and before that transaction commits, the reconciler finds
 * the claim and removes the tag (see `services/ref-reconciler.ts`).
 */
export async function claimNewTag(ctx: AppContext, repo: Repository, ref: string, sha: string, actor: RefActor): Promise<TagClaim> {
  const change: RefChange = { ref, before: null, after: sha };
  await requireAllowed(ctx, repo, change, actor);
  const gitDir = gitDirFor(ctx, repo);
  const actorId = actor.user?.id ?? null;
  const now = Date.now();
  let id: number;
  try {
    id = (await commitRefIntents(ctx.db, [{ repositoryId: repo.id, ref, sha, purpose: 'release', actorId, holder: LEASE_HOLDER, now }]))[0]!;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const taken = await takeAbandonedClaim(ctx, repo, ref, { sha, actorId, now });
    if (!taken) throw new TagClaimedError(ref);
    id = taken.id;
  }
  let created: boolean;
  try {
    created = await git.createRefIfAbsent(gitDir, ref, sha);
  } catch (err) {
    await deleteRefIntents(ctx.db, [id]);
    throw err;
  }
  if (created) crashPoint('release-tag-written');
  return {
    change: created ? change : null,
    async record(trx, events = []) {
      // Deleted with the caller's rows: a claim still there after a crash means they never committed.
      await deleteRefIntents(trx, [id]);
      if (!created) {
        await recordEvents(trx, events);
        return;
      }
      await setKnownRefs(trx, repo.id, [{ ref, sha }]);
      await recordEvents(trx, [...events, ...refChangeEvents(repo, [change], actorId)]);
      await ctx.pushListeners.emit(trx, { repo, changes: [change], actorId });
    },
    async settle(committed) {
      if (committed) return;
      if (created) await git.deleteRef(gitDir, ref, sha).catch(() => undefined);
      created = false;
      await deleteRefIntents(ctx.db, [id]);
    },
  };
}

/**
 * For a release published on a tag git already has: makes sure no other writer holds the tag's
 * claim. A writer creating that tag for its own release may still fail and delete it, and a
 * release committed meanwhile on that tag would be left without one; so a claim held by a live
 * writer is a `TagClaimedError`. Without a claim the tag is read again: its creator deletes it
 * before it ends its claim, so a tag still there now is one no creator will take away (its
 * creator committed, and the caller's release then collides with that creator's). A claim a dead
 * process left (a tag made for a release that never committed) is taken over: this release adopts
 * the tag, and the claim is handed back if its transaction fails, for the reconciler to undo.
 * Returns the claim held, or null when none was needed.
 */
export async function claimExistingTag(ctx: AppContext, repo: Repository, ref: string, actor: RefActor): Promise<TagClaim | null> {
  const claim = await releaseClaimOn(ctx, repo, ref);
  if (!claim) {
    if ((await git.readRef(gitDirFor(ctx, repo), ref)) === null) throw new TagClaimedError(ref);
    return null;
  }
  const taken = await takeAbandonedClaim(ctx, repo, ref, { actorId: actor.user?.id ?? null }, claim);
  if (!taken) throw new TagClaimedError(ref);
  return {
    change: null,
    async record(trx, events = []) {
      await deleteRefIntents(trx, [taken.id]);
      await recordEvents(trx, events);
    },
    async settle(committed) {
      if (!committed) await takeOverRefIntent(ctx.db, taken.id, LEASE_HOLDER, { holder: taken.holder, actorId: taken.actor_id, now: taken.created_ms });
    },
  };
}

/** The release claim on `ref`, if a writer holds one. */
async function releaseClaimOn(ctx: AppContext, repo: Repository, ref: string): Promise<RefIntent | undefined> {
  return (await refIntentsOf(ctx.db, repo.id)).find((i) => i.purpose === 'release' && i.ref === ref);
}

/**
 * Takes over the release claim on `ref` if the process holding it is gone (compare-and-set on its
 * holder: of several writers, and the reconciler, one wins): the claim as it was, or null when a
 * live writer holds it (or another took it first).
 */
async function takeAbandonedClaim(
  ctx: AppContext,
  repo: Repository,
  ref: string,
  to: { sha?: string; actorId: number | null; now?: number },
  known?: RefIntent,
): Promise<RefIntent | null> {
  const claim = known ?? (await releaseClaimOn(ctx, repo, ref));
  if (!claim || !holderIsGone(claim.holder, claim.created_ms, INTENT_MAX_AGE_MS)) return null;
  return (await takeOverRefIntent(ctx.db, claim.id, claim.holder, { holder: LEASE_HOLDER, ...to })) ? claim : null;
}

/**
 * Makes refs of `repo` those a remote has (a pull mirror's sync): the changes are checked by the
 * door like a push's, the intents recorded, the objects fetched from the remote without writing a
 * ref, and then the refs moved in one git transaction, each only from the value it was seen at
 * (a concurrent writer makes the whole update fail rather than be overwritten). `syncRefs` then
 * records them with their events, as after a push. Returns the changes made.
 */
export async function applyRemoteRefs(
  ctx: AppContext,
  repo: Repository,
  remote: git.RemoteAccess,
  changes: readonly RefChange[],
  actor: RefActor,
  timeoutMs: number,
): Promise<RefChange[]> {
  if (changes.length === 0) return [];
  const refusals = await checkRefChanges(ctx, repo, changes, actor);
  if (refusals.length) {
    const reason = refusals.map((r) => `${r.ref}: ${r.reason}`).join('; ');
    throw new ValidationError([{ resource: 'Reference', field: 'ref', code: 'custom', message: reason }], reason);
  }
  const gitDir = gitDirFor(ctx, repo);
  await git.fetchObjects(
    gitDir,
    remote,
    changes.filter((c) => c.after !== null).map((c) => c.ref),
    timeoutMs,
  );
  await recordChangeIntents(ctx, repo, changes, actor);
  await git.updateRefs(gitDir, changes);
  crashPoint('ref-written');
  await syncRefs(ctx, repo, actor);
  return [...changes];
}

/** Deletes `ref`: the change made, or null when there was no such ref. */
export async function deleteRef(ctx: AppContext, repo: Repository, ref: string, actor: RefActor): Promise<RefChange | null> {
  const gitDir = gitDirFor(ctx, repo);
  const existing = await git.getRef(gitDir, ref);
  if (!existing) return null;
  const change: RefChange = { ref, before: existing.sha, after: null };
  await requireAllowed(ctx, repo, change, actor);
  await recordChangeIntents(ctx, repo, [change], actor);
  if (!(await git.deleteRef(gitDir, ref, existing.sha))) return null;
  crashPoint('ref-written');
  await syncRefs(ctx, repo, actor);
  return change;
}

/**
 * The database learns what git has now (see the module comment): the changes recorded, each
 * attributed to whoever recorded the intent to make it, else to `actor`. Refs with a release's
 * tag still being made are left to that release's transaction. Publishing a release does not
 * count as a push: its tag leaves `pushed_at` as it was.
 */
export async function syncRefs(ctx: AppContext, repo: Repository, actor: RefActor): Promise<RefChange[]> {
  const gitDir = gitDirFor(ctx, repo);
  let headSetTo: string | null = null;
  for (let attempt = 0; attempt < OPTIMISTIC_SYNCS; attempt++) {
    // Git is read before the transaction opens: a slow `for-each-ref` (a big repository, a loaded
    // machine) must not hold a database transaction, which on SQLite holds every writer.
    const actual = await snapshotRefs(gitDir);
    const outcome = await ctx.db.transaction().execute(async (trx): Promise<RefChange[] | Retry> => {
      const lock = await lockRepositoryRefs(trx, repo.id);
      if (!lock) return [];
      if (!lock.refsKnown) return { unknown: true };
      return recordRefs(ctx, trx, repo, actor, actual, { gitDir, headSetTo });
    });
    if (Array.isArray(outcome)) return outcome;
    if ('unknown' in outcome) break;
    if ('adoptHead' in outcome) {
      // HEAD is git's and is set before the database records the adopted default branch.
      await git.setHead(gitDir, outcome.adoptHead);
      headSetTo = outcome.adoptHead;
    }
  }
  // Other writers kept moving the refs (or the repository's refs were never recorded): read git
  // while holding the repository's lock, so this sync and any other see git one after the other.
  return ctx.db.transaction().execute(async (trx) => {
    const lock = await lockRepositoryRefs(trx, repo.id);
    if (!lock) return [];
    const actual = await snapshotRefs(gitDir);
    if (!lock.refsKnown) {
      // A repository from before the snapshot: its refs are taken as they are, without events.
      await setKnownRefs(
        trx,
        repo.id,
        [...actual].map(([ref, sha]) => ({ ref, sha })),
      );
      await markRefsKnown(trx, repo.id);
      return [];
    }
    const outcome = await recordRefs(ctx, trx, repo, actor, actual, null);
    if (Array.isArray(outcome)) return outcome;
    throw new Error('unreachable: a locked sync is never stale');
  });
}

/** Optimistic syncs (git read before the transaction) tried before one that reads git under the lock. */
const OPTIMISTIC_SYNCS = 3;

/**
 * Why an optimistic sync recorded nothing: git has moved since its snapshot (`stale`), the
 * repository's refs were never recorded (`unknown`), or HEAD must first point at `adoptHead`.
 */
type Retry = { stale: true } | { unknown: true } | { adoptHead: string };

/**
 * Records, in `trx` (holding the repository's lock), the difference between the refs the
 * database knows and `actual`. With `optimistic` (git read before the transaction), each change
 * is first checked against git's files: a ref git has moved since the snapshot (another sync's
 * push, a release's tag made and committed meanwhile) makes the whole snapshot stale, so an old
 * snapshot never undoes a newer one. Without it, `actual` was read under the lock.
 */
async function recordRefs(
  ctx: AppContext,
  trx: Kysely<Database>,
  repo: Repository,
  actor: RefActor,
  actual: Map<string, string>,
  optimistic: { gitDir: string; headSetTo: string | null } | null,
): Promise<RefChange[] | Retry> {
  const intents = await refIntentsOf(trx, repo.id);
  const tagsInFlight = new Set(intents.filter((i) => i.purpose === 'release').map((i) => i.ref));
  const changes = diffRefs(await knownRefs(trx, repo.id), actual).filter((c) => !tagsInFlight.has(c.ref));
  if (optimistic) {
    // Reads of single refs from git's files: no git process while the transaction is open.
    for (const c of changes) if ((await git.readRef(optimistic.gitDir, c.ref)) !== c.after) return { stale: true };
  }
  // A repository whose default branch does not exist adopts the first branch pushed to it.
  // Only a change that creates a branch can do that, so tags (every release) spawn no git here.
  const pushedBranch = changes.find((c) => c.ref.startsWith('refs/heads/') && c.after);
  const adopted = pushedBranch && !actual.has(`refs/heads/${repo.default_branch}`) ? pushedBranch.ref.slice('refs/heads/'.length) : null;
  if (adopted && optimistic && optimistic.headSetTo !== adopted) return { adoptHead: adopted };
  // A change intent is done once git shows its ref as intended (or it is old: a push git refused).
  const done = intents.filter((i) => i.purpose === 'change' && (actual.get(i.ref) ?? null) === i.sha);
  await deleteRefIntents(
    trx,
    done.map((i) => i.id),
  );
  if (changes.length === 0) return [];
  await setKnownRefs(
    trx,
    repo.id,
    changes.map((c) => ({ ref: c.ref, sha: c.after })),
  );

  const update: Parameters<typeof updateRepository>[2] = {};
  if (actor.via !== 'release') update.pushed_at = isoSeconds();
  if (adopted) {
    if (!optimistic) await git.setHead(gitDirFor(ctx, repo), adopted);
    update.default_branch = adopted;
  }
  const updated = Object.keys(update).length ? await updateRepository(trx, repo.id, update) : repo;
  for (const [actorId, group] of byActor(changes, done, actor.user?.id ?? null)) {
    await recordEvents(trx, refChangeEvents(updated, group, actorId));
    await ctx.pushListeners.emit(trx, { repo: updated, changes: group, actorId });
  }
  return changes;
}

/** Groups changes by who made them: the intent's actor where one matches the change, else `fallback`. */
function byActor(changes: readonly RefChange[], intents: readonly RefIntent[], fallback: number | null): Map<number | null, RefChange[]> {
  const groups = new Map<number | null, RefChange[]>();
  for (const change of changes) {
    const intent = intents.find((i) => i.ref === change.ref && i.sha === change.after);
    const actorId = intent ? intent.actor_id : fallback;
    groups.set(actorId, [...(groups.get(actorId) ?? []), change]);
  }
  return groups;
}

/** The domain events of ref changes: a `push` per moved ref, `ref.created`/`ref.deleted` for refs that appeared or went. */
export function refChangeEvents(repo: Repository, changes: readonly RefChange[], actorId: number | null): DomainEvent[] {
  const base = { repositoryId: repo.id, ownerId: repo.owner_id, actorId };
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

/** Every ref of a repository (`ref → sha`). */
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
