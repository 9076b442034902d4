/**
 * @module services/db-errors
 * Recognises constraint violations from either driver, so services can turn a lost race on a
 * unique key into GitHub's `already_exists`, and a lost race against a delete into a 404; and
 * turns the driver failures that are not faults of Wharf's (a full disk included) into domain
 * errors for the error catalogue (`asDomainError`).
 */
import { InsufficientStorageError, NotFoundError, ValidationError } from '../domain/errors.ts';

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  return false;
}

/**
 * A row refers to one that no longer exists: on every route a concurrent delete of the parent
 * (an upload into a release being deleted, a release into a repository being deleted) that won
 * the race. The parent is gone, so the answer is the parent's 404.
 */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string } | null;
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * A value the database cannot hold in a text column (PostgreSQL refuses U+0000, which SQLite
 * stores): bad input that slipped past validation, answered as such rather than as a 500.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '22021' || code === '22P05'; // character_not_in_repertoire, untranslatable_character
}

/** The database cannot grow: SQLite's file system or PostgreSQL's disk is full. */
export function isStorageFull(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_FULL' || code === '53100'; // disk_full
}

/**
 * The domain error a database failure stands for, or the failure itself when it stands for none
 * (a real fault, answered as a 500). Every layer's error formatting passes failures through this
 * before it looks them up in the catalogue.
 */
export function asDomainError(err: unknown): unknown {
  if (isForeignKeyViolation(err)) return new NotFoundError();
  if (isUnstorableText(err)) return new ValidationError([{ code: 'invalid', message: 'text cannot contain NUL characters' }]);
  if (isStorageFull(err)) return new InsufficientStorageError('Insufficient storage: the server has no space left');
  return err;
}
