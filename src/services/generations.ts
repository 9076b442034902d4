/**
 * @module services/generations
 * The generations remembered answers and principals are keyed by (docs/performance.md#the-read-cache):
 * a repository's, bumped by triggers with every change an answer could show, and the
 * credentials', bumped by revocation and suspension. Read from the database on every request
 * that uses a remembered answer or principal; these pass the reads of `db/repos/generations-repo.ts`
 * through unchanged (same statements, and at once, without a promise, where that read is).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import {
  findGenerationByName,
  findGenerationsByName,
  findWriteTargetByName,
  readCredentialGeneration,
  type FoundGenerations,
  type FoundWriteTarget,
} from '../db/repos/generations-repo.ts';

export type { FoundGenerations, FoundWriteTarget };

/** The repository `owner/name`'s id and generation with the credentials' generation, read at one moment; undefined when there is no such repository. */
export function repositoryAndCredentialGenerations(db: Kysely<Database>, owner: string, name: string): FoundGenerations | undefined | Promise<FoundGenerations | undefined> {
  return findGenerationsByName(db, owner, name);
}

/** `repositoryAndCredentialGenerations` for a write: also the repository's row, its owner's and its read-only sources, read at the same moment. */
export function writeTargetWithGenerations(db: Kysely<Database>, owner: string, name: string): Promise<FoundWriteTarget | undefined> {
  return findWriteTargetByName(db, owner, name);
}

/** The repository `owner/name`'s id and generation. */
export function repositoryGeneration(db: Kysely<Database>, owner: string, name: string): Promise<{ repositoryId: number; generation: number } | undefined> {
  return findGenerationByName(db, owner, name);
}

/** The credentials' generation. */
export function credentialGeneration(db: Kysely<Database>): Promise<number> {
  return readCredentialGeneration(db);
}
