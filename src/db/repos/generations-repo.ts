/**
 * @module db/repos/generations-repo
 * A repository's read-cache generation (migration 016: triggers bump it in the transaction of
 * every change an API answer could show), found by the names in a request path; and the
 * credentials' generation, bumped whenever a token or an account's standing changes.
 */
import type { Kysely } from 'kysely';
import { compiledOnce } from '../compiled-once.ts';
import { SharedReads } from '../shared-reads.ts';
import type { Database } from '../schema.ts';

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
