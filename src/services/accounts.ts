/**
 * @module services/accounts
 * Users and organizations: creation (site administration), the bootstrap administrator, lookups.
 */
import type { AppContext } from '../context.ts';
import type { Account } from '../db/schema.ts';
import { addOrgMember, findAccountByLogin, insertAccount, setSiteAdmin } from '../db/repos/accounts-repo.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { isoSeconds } from '../util/time.ts';
import { isValidLogin } from './names.ts';
import { authenticateToken, issueToken } from './tokens.ts';
import { isUniqueViolation } from './db-errors.ts';

export interface CreateUserInput {
  login: string;
  email?: string | null;
  name?: string | null;
  siteAdmin?: boolean;
  suspended?: boolean;
}

export async function createUser(ctx: AppContext, input: CreateUserInput): Promise<Account> {
  if (!isValidLogin(input.login)) throw new ValidationError([{ resource: 'User', field: 'login', code: 'invalid' }]);
  try {
    return await insertAccount(ctx.db, { ...input, type: 'User', now: isoSeconds() });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ValidationError([{ resource: 'User', field: 'login', code: 'already_exists' }]);
    throw err;
  }
}

export async function createOrganization(ctx: AppContext, login: string, adminLogin: string, name?: string | null): Promise<Account> {
  if (!isValidLogin(login)) throw new ValidationError([{ resource: 'Organization', field: 'login', code: 'invalid' }]);
  const admin = await findAccountByLogin(ctx.db, adminLogin);
  if (!admin || admin.type !== 'User') throw new ValidationError([{ resource: 'Organization', field: 'admin', code: 'invalid', message: `admin ${adminLogin} is not a user` }]);
  try {
    return await ctx.db.transaction().execute(async (trx) => {
      const org = await insertAccount(trx, { login, type: 'Organization', name: name ?? null, now: isoSeconds() });
      await addOrgMember(trx, org.id, admin.id, 'admin');
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
      admin = await createUser(ctx, { login: adminLogin, siteAdmin: true, email: null });
    } catch (err) {
      admin = await findAccountByLogin(ctx.db, adminLogin);
      if (!admin) throw err;
    }
  }
  if (admin.site_admin !== 1) await setSiteAdmin(ctx.db, admin.id, true, isoSeconds());
  const existing = await authenticateToken(ctx.db, adminToken);
  if (existing) {
    if (existing.user.id !== admin.id) throw new Error('WHARF_ADMIN_TOKEN already belongs to another user');
    return;
  }
  try {
    await issueToken(ctx.db, admin.id, ADMIN_TOKEN_SCOPES, { note: 'WHARF_ADMIN_TOKEN', value: adminToken });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err; // another node inserted it first
  }
  ctx.log.info({ login: adminLogin }, 'bootstrap administrator ready');
}
