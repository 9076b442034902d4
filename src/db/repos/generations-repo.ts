/**
 * @module db/repos/generations-repo
 * A repository's read-cache generation (migration 016: triggers bump it in the transaction of
 * every change an API answer could show), found by the names in a request path; and the
 * credentials' generation, bumped whenever a token or an account's standing changes.
 */
import type { Kysely } from 'kysely';
import { compiledOnce } from '../compiled-once.ts';
import { SharedReads } from '../shared-reads.ts';
import type { Account, Database, Repository } from '../schema.ts';
import type { ReadOnlySources } from './mirrors-repo.ts';

// Both are read on every API request: compiled once (`db/compiled-once.ts`).
const generationByName = compiledOnce('wharf_generation_by_name', (db, ownerLower: string, nameLower: string) =>
  db
    .selectFrom('repositories as r')
    .innerJoin('accounts as a', 'a.id', 'r.owner_id')
    .innerJoin('repository_generations as g', 'g.repository_id', 'r.id')
    .select(['r.id as repositoryId', 'g.generation'])
    .where('a.login_lower', '=', ownerLower)
    .where('r.name_lower', '=', nameLower),
);
const bothGenerations = compiledOnce('wharf_generations_by_name', (db, ownerLower: string, nameLower: string) =>
  db
    .selectFrom('repositories as r')
    .innerJoin('accounts as a', 'a.id', 'r.owner_id')
    .innerJoin('repository_generations as g', 'g.repository_id', 'r.id')
    .select(['r.id as repositoryId', 'g.generation'])
    .select((eb) => eb.selectFrom('credential_generations').select('generation').where('id', '=', 1).as('credentials'))
    .where('a.login_lower', '=', ownerLower)
    .where('r.name_lower', '=', nameLower),
);
/**
 * `bothGenerations` with what every write to the repository reads next, in the same statement:
 * the repository's row, its owner's, and whether it follows an upstream or an origin (a mirror
 * or an import, which only their sync writes). The owner's columns are aliased `owner_*`.
 */
const writeTarget = compiledOnce('wharf_write_target_by_name', (db, ownerLower: string, nameLower: string) =>
  db
    .selectFrom('repositories as r')
    .innerJoin('accounts as a', 'a.id', 'r.owner_id')
    .innerJoin('repository_generations as g', 'g.repository_id', 'r.id')
    .leftJoin('mirrors as m', 'm.repository_id', 'r.id')
    .leftJoin('bundle_origins as b', 'b.repository_id', 'r.id')
    .selectAll('r')
    .select([
      'g.generation',
      'a.login as owner_login',
      'a.login_lower as owner_login_lower',
      'a.type as owner_type',
      'a.name as owner_name',
      'a.email as owner_email',
      'a.site_admin as owner_site_admin',
      'a.suspended_at as owner_suspended_at',
      'a.created_at as owner_created_at',
      'a.updated_at as owner_updated_at',
      'm.upstream_url',
      'b.origin_repository',
      'b.origin_instance',
    ])
    .select((eb) => eb.selectFrom('credential_generations').select('generation').where('id', '=', 1).as('credentials'))
    .where('a.login_lower', '=', ownerLower)
    .where('r.name_lower', '=', nameLower),
);
const credentialGeneration = compiledOnce('wharf_credential_generation', (db) => db.selectFrom('credential_generations').select('generation').where('id', '=', 1));

/** The repository `owner/name` names and its generation: one indexed query (three primary/unique keys). */
export async function findGenerationByName(db: Kysely<Database>, ownerLogin: string, name: string): Promise<{ repositoryId: number; generation: number } | undefined> {
  const [row] = (await generationByName(db, ownerLogin.toLowerCase(), name.toLowerCase())).rows;
  return row;
}

/** The credentials' generation: one row by primary key. */
export async function readCredentialGeneration(db: Kysely<Database>): Promise<number> {
  const [row] = (await credentialGeneration(db)).rows;
  return row?.generation ?? 0;
}

export interface FoundGenerations {
  repositoryId: number;
  generation: number;
  credentials: number;
}

/** Per handle whose reads answer with a promise (PostgreSQL): concurrent reads of one repository's generations, shared (`db/shared-reads.ts`). */
const sharedReads = new WeakMap<Kysely<Database>, SharedReads<FoundGenerations | undefined>>();

/**
 * `findGenerationByName` and `readCredentialGeneration` in one query (one round trip, both read
 * at one moment); undefined when the repository does not exist. At once on SQLite (no promise:
 * every API request of a remembered read makes it), a promise on PostgreSQL, where requests
 * asking for the same repository's at about the same time share one read begun after each of
 * them asked.
 */
export function findGenerationsByName(db: Kysely<Database>, ownerLogin: string, name: string): FoundGenerations | undefined | Promise<FoundGenerations | undefined> {
  const owner = ownerLogin.toLowerCase();
  const repo = name.toLowerCase();
  const shared = sharedReads.get(db);
  if (shared) return shared.read(`${owner}\0${repo}`, () => Promise.resolve(bothGenerations(db, owner, repo)).then(firstGenerations));
  const result = bothGenerations(db, owner, repo);
  if (!(result instanceof Promise)) return firstGenerations(result);
  // This handle's reads are round trips: from now on, concurrent ones of one repository are shared.
  sharedReads.set(db, new SharedReads());
  return result.then(firstGenerations);
}

function firstGenerations({ rows }: { rows: Array<{ repositoryId: number; generation: number; credentials: number | null }> }): FoundGenerations | undefined {
  const row = rows[0];
  return row ? { repositoryId: row.repositoryId, generation: row.generation, credentials: Number(row.credentials ?? 0) } : undefined;
}

/** A repository about to be written, found by the names in a request path: see `findWriteTargetByName`. */
export interface FoundWriteTarget {
  generations: FoundGenerations;
  owner: Account;
  repo: Repository;
  readOnly: ReadOnlySources;
}

/**
 * `findGenerationsByName` for a write: the generations with the repository's row, its owner's and
 * its read-only sources, all read at one moment in one indexed query (a write reads each of them
 * next, which was three more statements). Undefined when the repository does not exist.
 */
export async function findWriteTargetByName(db: Kysely<Database>, ownerLogin: string, name: string): Promise<FoundWriteTarget | undefined> {
  const row = (await writeTarget(db, ownerLogin.toLowerCase(), name.toLowerCase())).rows[0];
  if (!row) return undefined;
  const { generation, credentials, upstream_url, origin_repository, origin_instance, ...rest } = row;
  const { owner_login, owner_login_lower, owner_type, owner_name, owner_email, owner_site_admin, owner_suspended_at, owner_created_at, owner_updated_at, ...repo } = rest;
  // Every column of the owner's row, by name: a column added to `accounts` fails to compile here until it is read.
  const owner: Account = {
    id: repo.owner_id,
    login: owner_login,
    login_lower: owner_login_lower,
    type: owner_type,
    name: owner_name,
    email: owner_email,
    site_admin: owner_site_admin,
    suspended_at: owner_suspended_at,
    created_at: owner_created_at,
    updated_at: owner_updated_at,
  };
  return {
    generations: { repositoryId: repo.id, generation, credentials: Number(credentials ?? 0) },
    owner,
    repo,
    readOnly: { upstream_url, origin_repository, origin_instance },
  };
}
