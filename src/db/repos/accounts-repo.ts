/**
 * @module db/repos/accounts-repo
 * SQL for users and organizations (one namespace, as on GitHub). First argument: db or trx.
 */
import type { Kysely } from 'kysely';
import type { Account, AccountType, Database } from '../schema.ts';
import { compiledOnce } from '../compiled-once.ts';

// Made by most requests (authentication, authors of what is answered): compiled once (`db/compiled-once.ts`).
const accountByLogin = compiledOnce('wharf_account_by_login', (db, loginLower: string) => db.selectFrom('accounts').selectAll().where('login_lower', '=', loginLower));
const accountById = compiledOnce('wharf_account_by_id', (db, id: number) => db.selectFrom('accounts').selectAll().where('id', '=', id));
const accountsByIds = compiledOnce('wharf_accounts_by_ids', (db, ids: number[]) => db.selectFrom('accounts').selectAll().where('id', 'in', ids));

export async function findAccountByLogin(db: Kysely<Database>, login: string): Promise<Account | undefined> {
  return (await accountByLogin(db, login.toLowerCase())).rows[0];
}

export async function findAccountById(db: Kysely<Database>, id: number): Promise<Account | undefined> {
  return (await accountById(db, id)).rows[0];
}

export async function findAccountsByIds(db: Kysely<Database>, ids: number[]): Promise<Map<number, Account>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const { rows } = await accountsByIds(db, unique);
  return new Map(rows.map((r) => [r.id, r]));
}

export async function findUsersByEmails(db: Kysely<Database>, emails: string[]): Promise<Account[]> {
  if (emails.length === 0) return [];
  return db.selectFrom('accounts').selectAll().where('type', '=', 'User').where('email', 'in', emails).execute();
}

export interface NewAccountInput {
  login: string;
  type: AccountType;
  email?: string | null;
  name?: string | null;
  siteAdmin?: boolean;
  suspended?: boolean;
  now: string;
}

/** Inserts an account; the unique index on `login_lower` rejects a taken login. */
export async function insertAccount(db: Kysely<Database>, input: NewAccountInput): Promise<Account> {
  return db
    .insertInto('accounts')
    .values({
      login: input.login,
      login_lower: input.login.toLowerCase(),
      type: input.type,
      email: input.email ?? null,
      name: input.name ?? null,
      site_admin: input.siteAdmin ? 1 : 0,
      suspended_at: input.suspended ? input.now : null,
      created_at: input.now,
      updated_at: input.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setSiteAdmin(db: Kysely<Database>, id: number, siteAdmin: boolean, now: string): Promise<void> {
  await db
    .updateTable('accounts')
    .set({ site_admin: siteAdmin ? 1 : 0, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function addOrgMember(db: Kysely<Database>, orgId: number, userId: number, role: 'admin' | 'member'): Promise<void> {
  await db
    .insertInto('org_members')
    .values({ org_id: orgId, user_id: userId, role })
    .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ role }))
    .execute();
}

export async function findOrgRole(db: Kysely<Database>, orgId: number, userId: number): Promise<'admin' | 'member' | null> {
  const row = await db.selectFrom('org_members').select('role').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
  return row?.role ?? null;
}

/** The organizations a user administers (where they may create repositories), by login. */
export async function listAdministeredOrganizations(db: Kysely<Database>, userId: number): Promise<Account[]> {
  return db
    .selectFrom('accounts')
    .innerJoin('org_members', 'org_members.org_id', 'accounts.id')
    .selectAll('accounts')
    .where('org_members.user_id', '=', userId)
    .where('org_members.role', '=', 'admin')
    .orderBy('accounts.login_lower')
    .execute();
}
