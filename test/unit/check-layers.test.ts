/**
 * The layering check run by `npm run lint` (`scripts/check-layers.ts`): the rules it holds the
 * source to (lint runs it on the source itself).
 */
import { describe, expect, it } from 'vitest';
import { findViolations } from '../../scripts/check-layers.ts';

describe('layer check', () => {
  it('refuses lookups from routes, pages and GraphQL straight into db/repos, but not their row types', () => {
    const edges = [
      { file: 'src/http/routes/reactions.ts', imports: 'src/db/repos/accounts-repo.ts' },
      { file: 'src/web/avatars.ts', imports: 'src/db/repos/accounts-repo.ts' },
      { file: 'src/graphql/root.ts', imports: 'src/db/repos/repositories-repo.ts' },
      { file: 'src/http/routes/reactions.ts', imports: 'src/db/schema.ts' },
      { file: 'src/web/avatars.ts', imports: 'src/services/accounts.ts' },
      { file: 'src/services/accounts.ts', imports: 'src/db/repos/accounts-repo.ts' },
    ];
    expect(findViolations(edges).map((v) => `${v.file} -> ${v.imports}`)).toEqual([
      'src/http/routes/reactions.ts -> src/db/repos/accounts-repo.ts',
      'src/web/avatars.ts -> src/db/repos/accounts-repo.ts',
      'src/graphql/root.ts -> src/db/repos/repositories-repo.ts',
    ]);
  });
});
