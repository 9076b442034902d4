/**
 * @module services/ref-reconciler
 * Makes git and the database converge after a crash (docs/refs.md). Git moves a ref and the
 * database records it in two steps; a process killed between them leaves one store ahead:
 *
 * - A release's tag made in git whose release transaction never committed: its intent
 *   (`ref_intents`, purpose `release`, the tag's claim) outlives the process. The tag is removed —
 *   unless a published release uses that tag, which then keeps it (adopted). A release published
 *   on such a tag takes the abandoned claim over itself (services/refs.ts), so this is left for
 *   releases published before claims existed.
 * - A push, refs API change or tag whose events were never recorded: git differs from the refs the
 *   database knows (`repository_refs`). `syncRefs` records the difference with its events and
 *   listeners (a deleted tag makes its published release a draft), attributed to whoever recorded
 *   the intent to make it.
 *
 * Runs at start-up, before the server takes requests (intents of this host's dead processes, and
 * repositories whose refs were never recorded), then periodically in full on whichever node takes
 * the lease. Safe on several nodes at once: syncs lock their repository's row, and undoing a tag
 * is a compare-and-delete in git.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import { findPublishedByTag } from '../db/repos/releases-repo.ts';
import { deleteRefIntents, deleteRefIntentsBefore, refIntentsFor, repositoryIdsAfter, takeOverRefIntent } from '../db/repos/refs-repo.ts';
import { findRepositoryById } from '../db/repos/repositories-repo.ts';
import * as git from '../git/git.ts';
import { acquire, holderIsGone, LEASE_HOLDER } from './leases.ts';
import { INTENT_MAX_AGE_MS, syncRefs } from './refs.ts';

/** How often every repository is compared with git, on one node of several. */
const RECONCILE_EVERY_MS = 5 * 60_000;
const LEASE_SLACK_MS = 5_000;
const PAGE = 200;

export interface ReconcileResult {
  /** Tags of releases that never committed, removed from git. */
  tagsRemoved: number;
  /** Such tags kept because a published release uses them now. */
  tagsAdopted: number;
  repositories: number;
  /** Ref changes recorded that had been missed. */
  changes: number;
}

/** Undoes the tags of release transactions whose process is gone. */
export async function recoverReleaseTags(ctx: AppContext, now = Date.now()): Promise<Pick<ReconcileResult, 'tagsRemoved' | 'tagsAdopted'>> {
  const result = { tagsRemoved: 0, tagsAdopted: 0 };
  for (const intent of await refIntentsFor(ctx.db, 'release')) {
    if (!holderIsGone(intent.holder, intent.created_ms, INTENT_MAX_AGE_MS, now)) continue;
    // The claim is taken first (compare-and-set on its holder): a release adopting the tag at the
    // same time (refs.ts, `claimExistingTag`) takes it or finds it held, never both of them.
    if (!(await takeOverRefIntent(ctx.db, intent.id, intent.holder, { holder: LEASE_HOLDER }))) continue;
    const repo = await findRepositoryById(ctx.db, intent.repository_id);
    if (repo && intent.sha) {
      const tag = intent.ref.slice('refs/tags/'.length);
      if (await findPublishedByTag(ctx.db, repo.id, tag)) result.tagsAdopted++;
      else if (await git.deleteRef(gitDirFor(ctx, repo), intent.ref, intent.sha)) result.tagsRemoved++;
    }
    await deleteRefIntents(ctx.db, [intent.id]);
  }
  // A change intent whose ref never became as intended (git refused the push after its check)
  // has nothing left to attribute.
  await deleteRefIntentsBefore(ctx.db, 'change', now - INTENT_MAX_AGE_MS);
  return result;
}

/** Records the missed ref changes of every repository (or only of those never recorded). */
export async function syncAllRepositories(ctx: AppContext, onlyUnknown = false): Promise<Pick<ReconcileResult, 'repositories' | 'changes'>> {
  const result = { repositories: 0, changes: 0 };
  for (let after = 0; ;) {
    const ids = await repositoryIdsAfter(ctx.db, after, PAGE, onlyUnknown);
    if (ids.length === 0) return result;
    for (const id of ids) {
      const repo = await findRepositoryById(ctx.db, id);
      if (!repo) continue;
      try {
        result.changes += (await syncRefs(ctx, repo, { user: null, via: 'reconcile' })).length;
        result.repositories++;
      } catch (err) {
        // One unreadable repository must not stop the others.
        ctx.log.warn({ err, repositoryId: id }, 'could not compare repository refs with git');
      }
    }
    after = ids.at(-1)!;
  }
}

/** One full round: abandoned release tags first (so their refs are not recorded), then every repository. */
export async function reconcileRefs(ctx: AppContext, now = Date.now()): Promise<ReconcileResult> {
  const tags = await recoverReleaseTags(ctx, now);
  return { ...tags, ...(await syncAllRepositories(ctx)) };
}

export class RefReconciler {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;

  constructor(private readonly ctx: AppContext) {}

  /**
   * At start-up, before requests: tags of this host's dead release transactions are undone (a
   * retried release must not find them) and repositories older than the snapshot are recorded.
   * Then a full round in the background, and one every few minutes on one node.
   */
  async start(): Promise<void> {
    const tags = await recoverReleaseTags(this.ctx);
    const adopted = await syncAllRepositories(this.ctx, true);
    if (tags.tagsRemoved || tags.tagsAdopted || adopted.repositories) this.ctx.log.info({ ...tags, recorded: adopted.repositories }, 'refs reconciled at start-up');
    // The first full round runs on every node that starts, whoever holds the lease: the holder
    // may be this node's previous process, killed with changes only this round would record.
    this.#tick(() => reconcileRefs(this.ctx));
    this.#timer = setInterval(() => this.#tick(() => this.#roundOnOneNode()), RECONCILE_EVERY_MS);
    this.#timer.unref();
  }

  #tick(round: () => Promise<ReconcileResult | null>): void {
    if (this.#running) return;
    this.#running = round()
      .then((r) => {
        if (r && (r.tagsRemoved || r.tagsAdopted || r.changes)) this.ctx.log.info(r, 'refs reconciled: git and the database had diverged');
      })
      .catch((err: unknown) => this.ctx.log.warn({ err }, 'ref reconciliation failed'))
      .finally(() => {
        this.#running = null;
      });
  }

  async #roundOnOneNode(): Promise<ReconcileResult | null> {
    if (!(await acquire(this.ctx, 'ref-reconciler', RECONCILE_EVERY_MS - LEASE_SLACK_MS))) return null;
    return reconcileRefs(this.ctx);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
