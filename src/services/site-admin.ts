/**
 * @module services/site-admin
 * What the site administration pages list and change beyond users (`services/user-admin.ts`):
 * organizations with their members, and every repository of the instance. Callers check that
 * the caller acts as a site administrator; these functions only read and write.
 */
import type { AppContext } from '../context.ts';
import { addOrgMember } from '../db/repos/accounts-repo.ts';
import type { Account } from '../db/schema.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { getAccount, getUser } from './accounts.ts';
import { recordAudit, type AuditActor } from './audit.ts';

/** The most rows a site-administration list shows; the pages say when there are more. */
export const SITE_LIST_LIMIT = 500;

export interface ListedOrganization {
  org: Account;
  members: number;
}

export async function listOrganizations(ctx: AppContext): Promise<ListedOrganization[]> {
  const orgs = await ctx.db.selectFrom('accounts').selectAll().where('type', '=', 'Organization').orderBy('login_lower').limit(SITE_LIST_LIMIT).execute();
  if (orgs.length === 0) return [];
  const counts = await ctx.db
    .selectFrom('org_members')
    .select(['org_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where(
      'org_id',
      'in',
      orgs.map((o) => o.id),
    )
    .groupBy('org_id')
    .execute();
  const byOrg = new Map(counts.map((c) => [c.org_id, Number(c.n)]));
  return orgs.map((org) => ({ org, members: byOrg.get(org.id) ?? 0 }));
}

export async function getOrganization(ctx: AppContext, login: string): Promise<Account> {
  const account = await getAccount(ctx, login);
  if (account.type !== 'Organization') throw new NotFoundError();
  return account;
}

export interface OrganizationMember {
  user: Account;
  role: 'admin' | 'member';
}

export async function listOrganizationMembers(ctx: AppContext, org: Account): Promise<OrganizationMember[]> {
  const rows = await ctx.db
    .selectFrom('org_members')
    .innerJoin('accounts', 'accounts.id', 'org_members.user_id')
    .selectAll('accounts')
    .select('org_members.role')
    .where('org_members.org_id', '=', org.id)
    .orderBy('accounts.login_lower')
    .execute();
  return rows.map(({ role, ...user }) => ({ user, role }));
}

/** Adds a user to an organization, or changes their role there (`org.add_member`, or `org.update_member` for a change). */
export async function addOrganizationMember(ctx: AppContext, org: Account, userLogin: string, role: 'admin' | 'member', actor: AuditActor): Promise<void> {
  const user = await getUser(ctx, userLogin).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new ValidationError([{ resource: 'Organization', field: 'login', code: 'invalid', message: `There is no user ${userLogin}.` }]);
    throw err;
  });
  await ctx.db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('org_members').select('role').where('org_id', '=', org.id).where('user_id', '=', user.id).executeTakeFirst();
    if (before?.role === role) return;
    await addOrgMember(trx, org.id, user.id, role);
    await recordAudit(trx, { action: before ? 'org.update_member' : 'org.add_member', actor, org, user, data: { role } });
  });
}

export interface ListedRepositoryRow {
  owner: string;
  name: string;
  private: boolean;
  createdAt: string;
  releases: number;
}

/** Every repository of the instance, by owner and name, with its release count. */
export async function listAllRepositories(ctx: AppContext): Promise<ListedRepositoryRow[]> {
  const rows = await ctx.db
    .selectFrom('repositories')
    .innerJoin('accounts', 'accounts.id', 'repositories.owner_id')
    .select([
      'accounts.login as owner',
      'repositories.name',
      'repositories.private',
      'repositories.created_at',
      (eb) =>
        eb
          .selectFrom('releases')
          .select((r) => r.fn.countAll<number>().as('n'))
          .whereRef('releases.repository_id', '=', 'repositories.id')
          .as('releases'),
    ])
    .orderBy('accounts.login_lower')
    .orderBy('repositories.name_lower')
    .limit(SITE_LIST_LIMIT)
    .execute();
  return rows.map((r) => ({ owner: r.owner, name: r.name, private: r.private === 1, createdAt: r.created_at, releases: Number(r.releases ?? 0) }));
}
