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

describe('layer check of webhooks', () => {
  it('holds webhooks to services, events and http shared pieces: no db/repos, no git, and nothing below imports them', () => {
    const edges = [
      { file: 'src/webhooks/fan-out.ts', imports: 'src/db/repos/webhooks-repo.ts' },
      { file: 'src/webhooks/payloads.ts', imports: 'src/git/git.ts' },
      { file: 'src/webhooks/hooks.ts', imports: 'src/web/layout.ts' },
      { file: 'src/services/releases.ts', imports: 'src/webhooks/fan-out.ts' },
      { file: 'src/db/repos/webhooks-repo.ts', imports: 'src/webhooks/signature.ts' },
      { file: 'src/webhooks/fan-out.ts', imports: 'src/db/schema.ts' },
      { file: 'src/webhooks/payloads.ts', imports: 'src/http/serializers/releases.ts' },
      { file: 'src/webhooks/delivery.ts', imports: 'src/services/leases.ts' },
      { file: 'src/webhooks/fan-out.ts', imports: 'src/events/outbox.ts' },
      { file: 'src/http/routes/webhooks.ts', imports: 'src/webhooks/hooks.ts' },
    ];
    expect(findViolations(edges).map((v) => `${v.file} -> ${v.imports}`)).toEqual([
      'src/webhooks/fan-out.ts -> src/db/repos/webhooks-repo.ts',
      'src/webhooks/payloads.ts -> src/git/git.ts',
      'src/webhooks/hooks.ts -> src/web/layout.ts',
      'src/services/releases.ts -> src/webhooks/fan-out.ts',
      'src/db/repos/webhooks-repo.ts -> src/webhooks/signature.ts',
    ]);
  });
});
