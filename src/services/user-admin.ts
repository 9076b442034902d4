/**
 * @module services/user-admin
 * Site administration of users: listing, suspending and deleting. A suspended user's tokens and
 * sessions stop working at once (authentication checks `suspended_at`); a deleted user's own
 * repositories go with them (rows, releases, assets; bare repositories removed; asset bytes left
 * to the sweeper, as for a repository deleted through the API).
 */
import { rm } from 'node:fs/promises';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Repository } from '../db/schema.ts';
import { deleteRepository } from '../db/repos/repositories-repo.ts';
import { ValidationError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { getUser } from './accounts.ts';
import { recordAudit, type AuditActor } from './audit.ts';

export async function listUsers(ctx: AppContext): Promise<Account[]> {
  return ctx.db.selectFrom('accounts').selectAll().where('type', '=', 'User').orderBy('login_lower').execute();
}

/** Suspends or unsuspends a user (`user.suspend` / `user.unsuspend`; nothing when already so). */
export async function setSuspended(ctx: AppContext, login: string, suspended: boolean, actor: AuditActor): Promise<Account> {
  const user = await getUser(ctx, login);
  const now = isoSeconds();
  return ctx.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('accounts')
      .set({ suspended_at: suspended ? (user.suspended_at ?? now) : null, updated_at: now })
      .where('id', '=', user.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (Boolean(user.suspended_at) !== suspended) await recordAudit(trx, { action: suspended ? 'user.suspend' : 'user.unsuspend', actor, user });
    return updated;
  });
}

export interface UserDeletionPlan {
  user: Account;
  /** The user's own repositories, deleted with them. */
  repositories: Repository[];
  /** Releases the user published in repositories of other accounts; they block the deletion. */
  releasesElsewhere: number;
}

export async function planUserDeletion(ctx: AppContext, login: string): Promise<UserDeletionPlan> {
  const user = await getUser(ctx, login);
  const repositories = await ctx.db.selectFrom('repositories').selectAll().where('owner_id', '=', user.id).orderBy('name_lower').execute();
  const elsewhere = await ctx.db
    .selectFrom('releases')
    .innerJoin('repositories', 'repositories.id', 'releases.repository_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('releases.author_id', '=', user.id)
    .where('repositories.owner_id', '!=', user.id)
    .executeTakeFirstOrThrow();
  return { user, repositories, releasesElsewhere: Number(elsewhere.n) };
}

/**
 * Deletes the user, their repositories, tokens, sessions, memberships and collaborations. Refused
 * while they are the author of releases in other accounts' repositories (those releases would
 * lose their author; suspend the user instead).
 */
export async function deleteUser(ctx: AppContext, plan: UserDeletionPlan, actor: AuditActor): Promise<void> {
  if (plan.releasesElsewhere > 0) {
    throw new ValidationError([
      { resource: 'User', field: 'login', code: 'custom', message: `${plan.user.login} published ${plan.releasesElsewhere} release(s) in other accounts' repositories` },
    ]);
  }
  await ctx.db.transaction().execute(async (trx) => {
    for (const repo of plan.repositories) await deleteRepository(trx, repo.id);
    await trx.deleteFrom('accounts').where('id', '=', plan.user.id).execute();
    await recordAudit(trx, { action: 'user.destroy', actor, user: plan.user, data: { repositories: plan.repositories.map((r) => r.name) } });
  });
  for (const repo of plan.repositories) await rm(gitDirFor(ctx, repo), { recursive: true, force: true });
}
