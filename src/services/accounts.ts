/**
 * @module services/accounts
 * Users and organizations: creation (site administration), the bootstrap administrator, lookups.
 */
import type { AppContext } from '../context.ts';
import type { Account } from '../db/schema.ts';
import { addOrgMember, findAccountById, findAccountByLogin, findAccountsByIds, findOrgRole, insertAccount, setSiteAdmin } from '../db/repos/accounts-repo.ts';
import { NotFoundError, ValidationError, type FieldError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { isValidLogin } from './names.ts';
import { recordAudit, SYSTEM_ACTOR, type AuditActor } from './audit.ts';
import { actsAsSiteAdmin } from './oauth-scopes.ts';
import { authenticateToken, issueToken, type Principal } from './tokens.ts';
import { isUniqueViolation } from './db-errors.ts';

export interface CreateUserInput {
  login: string;
  email?: string | null;
  name?: string | null;
  siteAdmin?: boolean;
  suspended?: boolean;
}

/** Creates a user (`user.create`; `user.promote` too when created as a site administrator). */
export async function createUser(ctx: AppContext, input: CreateUserInput, actor: AuditActor): Promise<Account> {
  if (!isValidLogin(input.login)) throw new ValidationError([{ resource: 'User', field: 'login', code: 'invalid' }]);
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const user = await insertAccount(trx, { ...input, type: 'User', now: isoSeconds() });
      await recordAudit(trx, { action: 'user.create', actor, user, data: { suspended: Boolean(input.suspended) } });
      if (input.siteAdmin) await recordAudit(trx, { action: 'user.promote', actor, user });
      return user;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ValidationError([{ resource: 'User', field: 'login', code: 'already_exists' }]);
    throw err;
  }
}

/** Makes a user a site administrator (`user.promote`). */
export async function promoteUser(ctx: AppContext, user: Account, actor: AuditActor): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await setSiteAdmin(trx, user.id, true, isoSeconds());
    await recordAudit(trx, { action: 'user.promote', actor, user });
  });
}

/** Creates an organization administered by `adminLogin` (`org.create`, `org.add_member`). */
export async function createOrganization(ctx: AppContext, login: string, adminLogin: string, name: string | null | undefined, actor: AuditActor): Promise<Account> {
  if (!isValidLogin(login)) throw new ValidationError([{ resource: 'Organization', field: 'login', code: 'invalid' }]);
  const admin = await findAccountByLogin(ctx.db, adminLogin);
  if (!admin || admin.type !== 'User') throw new ValidationError([{ resource: 'Organization', field: 'admin', code: 'invalid', message: `admin ${adminLogin} is not a user` }]);
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const org = await insertAccount(trx, { login, type: 'Organization', name: name ?? null, now: isoSeconds() });
      await addOrgMember(trx, org.id, admin.id, 'admin');
      await recordAudit(trx, { action: 'org.create', actor, org }, { action: 'org.add_member', actor, org, user: admin, data: { role: 'admin' } });
      return org;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ValidationError([{ resource: 'Organization', field: 'login', code: 'already_exists' }]);
    throw err;
  }
}

export async function getAccount(ctx: AppContext, login: string): Promise<Account> {
  const account = await findAccountByLogin(ctx.db, login);
  if (!account) throw new NotFoundError();
  return account;
}

/** The account named `login` (user or organization), or undefined: for callers where a missing one is not an error (GraphQL's `null`). */
export async function accountNamed(ctx: AppContext, login: string): Promise<Account | undefined> {
  return findAccountByLogin(ctx.db, login);
}

/** The account with this id, or undefined (avatars, GraphQL node ids). */
export async function accountWithId(ctx: AppContext, id: number): Promise<Account | undefined> {
  return findAccountById(ctx.db, id);
}

/** The accounts with these ids, in one query: the authors, uploaders or reactors of a page, for serializers. */
export async function accountsWithIds(ctx: AppContext, ids: readonly number[]): Promise<Map<number, Account>> {
  return findAccountsByIds(ctx.db, [...ids]);
}

/** The organization `login`, when `principal` administers it (or is a site administrator); 404 otherwise (its hooks, its settings). */
export async function organizationForOwner(ctx: AppContext, principal: Principal | null, login: string): Promise<Account> {
  const org = await findAccountByLogin(ctx.db, login);
  if (!principal || !org || org.type !== 'Organization') throw new NotFoundError();
  if (!actsAsSiteAdmin(principal) && (await findOrgRole(ctx.db, org.id, principal.user.id)) !== 'admin') throw new NotFoundError();
  return org;
}

export async function getUser(ctx: AppContext, login: string): Promise<Account> {
  const account = await getAccount(ctx, login);
  if (account.type !== 'User') throw new NotFoundError();
  return account;
}

/** Scopes of the bootstrap administrator's token: everything. */
export const ADMIN_TOKEN_SCOPES = ['repo', 'admin:org', 'user', 'delete_repo', 'workflow', 'site_admin'];

/**
 * `WHARF_ADMIN_TOKEN`: make sure a site administrator called `WHARF_ADMIN_LOGIN` exists and holds
 * that token (for scripted and CI set-ups). Idempotent across restarts and safe on several nodes.
 */
export async function ensureBootstrapAdmin(ctx: AppContext): Promise<void> {
  const { adminLogin, adminToken } = ctx.config;
  if (!adminToken) return;
  let admin = await findAccountByLogin(ctx.db, adminLogin);
  if (!admin) {
    try {
      admin = await createUser(ctx, { login: adminLogin, siteAdmin: true, email: null }, SYSTEM_ACTOR);
    } catch (err) {
      admin = await findAccountByLogin(ctx.db, adminLogin);
      if (!admin) throw err;
    }
  }
  if (admin.site_admin !== 1) await promoteUser(ctx, admin, SYSTEM_ACTOR);
  const existing = await authenticateToken(ctx.db, adminToken);
  if (existing) {
    if (existing.user.id !== admin.id) throw new Error('WHARF_ADMIN_TOKEN already belongs to another user');
    return;
  }
  try {
    await issueToken(ctx.db, admin, ADMIN_TOKEN_SCOPES, { note: 'WHARF_ADMIN_TOKEN', value: adminToken, actor: SYSTEM_ACTOR });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err; // another node inserted it first
  }
  ctx.log.info({ login: adminLogin }, 'bootstrap administrator ready');
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * A user changes their own display name and e-mail address (`user.update_profile`, a Wharf
 * action). The e-mail address attributes commits in generated release notes, so it is checked
 * for shape; empty fields clear the value.
 */
export async function updateProfile(ctx: AppContext, user: Account, input: { name: string; email: string }, actor: AuditActor): Promise<Account> {
  const name = input.name.trim();
  const email = input.email.trim();
  const errors: FieldError[] = [];
  if (name.length > 255) errors.push({ resource: 'User', field: 'name', code: 'invalid', message: 'The name is longer than 255 characters.' });
  if (email !== '' && (email.length > 255 || !EMAIL.test(email)))
    errors.push({ resource: 'User', field: 'email', code: 'invalid', message: `"${email}" is not an e-mail address.` });
  if (errors.length) throw new ValidationError(errors);
  return ctx.db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('accounts')
      .set({ name: name || null, email: email || null, updated_at: isoSeconds() })
      .where('id', '=', user.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(trx, { action: 'user.update_profile', actor, user, data: { name: updated.name, email: updated.email } });
    return updated;
  });
}

/** Which of `logins` name an account (users and organizations), lower-cased: `@mentions` link only to those. */
export async function existingLogins(ctx: AppContext, logins: readonly string[]): Promise<Set<string>> {
  const wanted = [...new Set(logins.map((l) => l.toLowerCase()))].slice(0, 500);
  if (wanted.length === 0) return new Set();
  const rows = await ctx.db.selectFrom('accounts').select('login_lower').where('login_lower', 'in', wanted).execute();
  return new Set(rows.map((r) => r.login_lower));
}
