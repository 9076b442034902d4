/**
 * @module services/db-errors
 * Recognises constraint violations from either driver, so services can turn a lost race on a
 * unique key into GitHub's `already_exists`.
 */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  return false;
}

/**
 * A value the database cannot hold in a text column (PostgreSQL refuses U+0000, which SQLite
 * stores): bad input that slipped past validation, answered as such rather than as a 500.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '22021' || code === '22P05'; // character_not_in_repertoire, untranslatable_character
}
