/**
 * Inserts release rows directly, for suites that need existing releases without going through
 * the releases API (for example "the previous release" of generated notes).
 */
import { versionColumns } from '../../src/services/release-channels.ts';
import type { TestServer } from './server.ts';

export interface ReleaseRowInput {
  owner: string;
  repo: string;
  tag: string;
  draft?: boolean;
  prerelease?: boolean;
  /** The tagged commit's date (GitHub's `created_at`), ISO-8601 with whole seconds. */
  createdAt: string;
}

export async function insertReleaseRow(server: TestServer, input: ReleaseRowInput): Promise<number> {
  const db = server.wharf.ctx.db;
  const repo = await db
    .selectFrom('repositories')
    .innerJoin('accounts', 'accounts.id', 'repositories.owner_id')
    .select(['repositories.id as id', 'accounts.id as ownerId'])
    .where('accounts.login_lower', '=', input.owner.toLowerCase())
    .where('repositories.name_lower', '=', input.repo.toLowerCase())
    .executeTakeFirstOrThrow();
  const row = await db
    .insertInto('releases')
    .values({
      repository_id: repo.id,
      tag_name: input.tag,
      published_tag: input.draft ? null : input.tag,
      target_commitish: 'main',
      name: input.tag,
      body: null,
      draft: input.draft ? 1 : 0,
      prerelease: input.prerelease ? 1 : 0,
      immutable: 0,
      ...versionColumns({ release_rules: null }, input.tag, Boolean(input.prerelease), null),
      author_id: repo.ownerId,
      untagged_key: Math.random().toString(16).slice(2, 12).padEnd(20, '0'),
      created_at: input.createdAt,
      published_at: input.draft ? null : input.createdAt,
      updated_at: input.createdAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
