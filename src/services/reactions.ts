/**
 * @module services/reactions
 * Reactions on releases (reference §3.14):
 * - whoever can see the release (drafts need push access, as for the release itself) may list
 *   its reactions and, when signed in with a token that may write to the repository, react;
 * - a user leaves each content at most once: a repeat answers the existing reaction (200);
 * - a reaction is deleted by its author or by an admin of the repository;
 * - immutable releases still take reactions (immutability covers the tag and the assets).
 */
import { bodyMembers } from '../domain/request-body.ts';
import type { AppContext } from '../context.ts';
import type { ReleaseReaction, ReleaseReactionContent } from '../db/schema.ts';
import { deleteReaction, findReaction, findUserReaction, insertReactionIfAbsent, listReactionsPage, touchReactions } from '../db/repos/reactions-repo.ts';
import { NotFoundError, UnauthorizedError, ValidationError } from '../domain/errors.ts';
import type { Page } from '../domain/page.ts';
import { isoSeconds } from '../util/time.ts';
import { isForeignKeyViolation } from './db-errors.ts';
import { requireScope } from './oauth-scopes.ts';
import { atLeast } from './permissions.ts';
import { getReleaseById } from './releases.ts';
import type { RepoAccess } from './repositories.ts';
import type { Principal } from './tokens.ts';

/** The contents the release reaction endpoints accept (`-1` and `confused` are not among them). */
export const RELEASE_REACTION_CONTENTS: readonly ReleaseReactionContent[] = ['+1', 'laugh', 'heart', 'hooray', 'rocket', 'eyes'];

/** Every key of a `reaction-rollup`, in GitHub's order. */
export const ROLLUP_CONTENTS = ['+1', '-1', 'laugh', 'hooray', 'confused', 'heart', 'rocket', 'eyes'] as const;

function isReleaseContent(value: unknown): value is ReleaseReactionContent {
  return typeof value === 'string' && (RELEASE_REACTION_CONTENTS as readonly string[]).includes(value);
}

function contentError(value: unknown): ValidationError {
  if (value === undefined || value === null) return new ValidationError([{ resource: 'Reaction', code: 'missing_field', field: 'content' }]);
  return new ValidationError([{ resource: 'Reaction', code: 'invalid', field: 'content', value }]);
}

/**
 * Reacting is a write: the token must reach the repository with a writing scope (`repo`, or
 * `public_repo` on a public repository), as GitHub requires. Read access alone is enough
 * otherwise; callers without it never got this far (the repository or release was a 404).
 */
function requireReactor(access: RepoAccess): Principal {
  const principal = access.principal;
  if (!principal) throw new UnauthorizedError();
  requireScope(principal, ...(access.repo.private === 0 ? ['public_repo', 'repo'] : ['repo']));
  return principal;
}

export async function listReactions(
  ctx: AppContext,
  access: RepoAccess,
  releaseId: number,
  contentFilter: unknown,
  page: Page,
): Promise<{ rows: ReleaseReaction[]; total: number }> {
  const release = await getReleaseById(ctx, access, releaseId);
  if (contentFilter !== undefined && !isReleaseContent(contentFilter)) throw contentError(contentFilter);
  return listReactionsPage(ctx.db, release.id, contentFilter ?? null, page.perPage, page.offset);
}

/** Thrown to roll back a reaction's transaction when the user's reaction was there already. */
class ReactionThereAlready extends Error {}

/** Returns the reaction and whether this call created it (201) or found it already there (200). */
export async function createReaction(ctx: AppContext, access: RepoAccess, releaseId: number, body: unknown): Promise<{ reaction: ReleaseReaction; created: boolean }> {
  const release = await getReleaseById(ctx, access, releaseId);
  const principal = requireReactor(access);
  const content = bodyMembers(body).content;
  if (!isReleaseContent(content)) throw contentError(content);
  // Further rounds cover a concurrent delete of the existing row between our insert and our read.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    let inserted: ReleaseReaction | undefined;
    try {
      // One transaction: a release with reactions always has `reactions_changed_at`, which is
      // what lets release serialization skip counting for releases nobody reacted to. The release
      // row is updated first: the reaction's foreign key takes a share lock on that row, and
      // taking it before the update deadlocked on PostgreSQL against a writer locking the release
      // row meanwhile (a delete, an edit), each waiting for the other's lock.
      inserted = await ctx.db.transaction().execute(async (trx) => {
        const now = isoSeconds();
        await touchReactions(trx, release.id, now);
        const row = await insertReactionIfAbsent(trx, release.id, principal.user.id, content, now);
        // Left already: the touch is rolled back, so the release's Last-Modified moves only with a change.
        if (!row) throw new ReactionThereAlready();
        return row;
      });
    } catch (err) {
      if (!(err instanceof ReactionThereAlready)) {
        // The release was deleted since we read it: its 404.
        if (isForeignKeyViolation(err)) throw new NotFoundError();
        throw err;
      }
    }
    if (inserted) return { reaction: inserted, created: true };
    const existing = await findUserReaction(ctx.db, release.id, principal.user.id, content);
    if (existing) return { reaction: existing, created: false };
  }
  throw new NotFoundError();
}

export async function removeReaction(ctx: AppContext, access: RepoAccess, releaseId: number, reactionId: number): Promise<void> {
  const release = await getReleaseById(ctx, access, releaseId);
  // Anonymous callers (and tokens that may not write) are refused whether or not the reaction exists.
  const principal = requireReactor(access);
  const reaction = Number.isSafeInteger(reactionId) ? await findReaction(ctx.db, release.id, reactionId) : undefined;
  if (!reaction) throw new NotFoundError();
  const mayDelete = Number(reaction.user_id) === principal.user.id || atLeast(access.permission, 'admin');
  // Someone else's reaction: 404, as GitHub answers for things the caller may not act on here.
  if (!mayDelete) throw new NotFoundError();
  // One transaction, the release row first as in `createReaction`: deleting the reaction locks its
  // row, and a release's deletion locks the release and then, cascading, its reactions. A reaction
  // gone meanwhile (another delete won) rolls the touch back: Last-Modified moves only with a change.
  await ctx.db.transaction().execute(async (trx) => {
    await touchReactions(trx, release.id, isoSeconds());
    if (!(await deleteReaction(trx, reaction.id))) throw new NotFoundError();
  });
}
