/**
 * @module db/repos/release-notes-repo
 * The release lookups generated notes need: whether the release being prepared is a prerelease,
 * and the published releases that may serve as the previous one.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

export interface PreviousReleaseCandidate {
  tag_name: string;
  prerelease: number;
  created_at: string;
}

/**
 * The prerelease flag of the release with this tag: the published one, else the newest draft;
 * undefined when no release uses the tag yet.
 */
export async function findPrereleaseFlagByTag(db: Kysely<Database>, repositoryId: number, tagName: string): Promise<boolean | undefined> {
  const row = await db
    .selectFrom('releases')
    .select(['prerelease', 'draft'])
    .where('repository_id', '=', repositoryId)
    .where('tag_name', '=', tagName)
    .orderBy('draft', 'asc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? row.prerelease === 1 : undefined;
}

export interface CandidateQuery {
  /** The tag being released, never its own predecessor. */
  excludeTag: string;
  /** Only releases whose commit date is at or before this ISO timestamp. */
  notAfter: string;
  /** Leave prereleases out (the new release is stable). */
  stableOnly: boolean;
  limit: number;
}

/** Published (non-draft) releases, nearest first by the date of their commit (`created_at`), then newest id. */
export async function listPreviousReleaseCandidates(db: Kysely<Database>, repositoryId: number, query: CandidateQuery): Promise<PreviousReleaseCandidate[]> {
  let q = db
    .selectFrom('releases')
    .select(['tag_name', 'prerelease', 'created_at'])
    .where('repository_id', '=', repositoryId)
    .where('draft', '=', 0)
    .where('tag_name', '!=', query.excludeTag)
    .where('created_at', '<=', query.notAfter);
  if (query.stableOnly) q = q.where('prerelease', '=', 0);
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}

/** Logins of the users whose e-mail is one of these, keyed by lower-cased e-mail (git e-mails vary in case). */
export async function findLoginsByEmails(db: Kysely<Database>, emails: string[]): Promise<Map<string, string>> {
  const lowered = [...new Set(emails.map((e) => e.toLowerCase()))];
  const logins = new Map<string, string>();
  // Bounded batches: SQLite caps bound parameters, and a long range can have thousands of authors.
  for (let i = 0; i < lowered.length; i += 500) {
    const rows = await db
      .selectFrom('accounts')
      .select(['login', 'email'])
      .where('type', '=', 'User')
      .where(sql<string>`lower(email)`, 'in', lowered.slice(i, i + 500))
      .orderBy('id')
      .execute();
    for (const row of rows) if (row.email && !logins.has(row.email.toLowerCase())) logins.set(row.email.toLowerCase(), row.login);
  }
  return logins;
}
