/**
 * @module db/migrate
 * Runs the schema migrations in order; a fresh data directory and an old one both end up current.
 * Migrations are listed here statically (not discovered on disk) so a bundled build needs no globbing.
 */
import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { DatabaseHandle } from './dialect.ts';
import * as initial from './migrations/001-initial.ts';
import * as blobDeletions from './migrations/002-blob-deletions.ts';
import * as webPages from './migrations/003-web-pages.ts';
import * as readIndexes from './migrations/004-read-indexes.ts';
import * as leases from './migrations/005-leases.ts';
import * as releaseReactions from './migrations/006-release-reactions.ts';
import * as eventsAndWebhooks from './migrations/007-events-and-webhooks.ts';
import * as webhookWebBase from './migrations/008-webhook-web-base.ts';
import * as webhookCreatedMs from './migrations/009-webhook-created-ms.ts';
import * as refSnapshots from './migrations/010-ref-snapshots.ts';
import * as auditLog from './migrations/011-audit-log.ts';
import * as releaseChannels from './migrations/012-release-channels.ts';
import * as immutableReleases from './migrations/013-immutable-releases.ts';
import * as attestations from './migrations/014-attestations.ts';
import * as resumableUploads from './migrations/015-resumable-uploads.ts';
import * as readGenerations from './migrations/016-read-generations.ts';
import * as mirrors from './migrations/017-mirrors.ts';
import * as idempotencyKeys from './migrations/018-idempotency-keys.ts';
import * as mirrorAssetFilter from './migrations/021-mirror-asset-filter.ts';
import * as blobHolds from './migrations/022-blob-holds.ts';
import * as passwords from './migrations/024-passwords.ts';
import * as bundles from './migrations/025-bundles.ts';
import * as mirrorChannels from './migrations/028-mirror-channels.ts';
import * as assetUpstreamIdentity from './migrations/030-asset-upstream-identity.ts';
import * as foreignAttestations from './migrations/029-foreign-attestations.ts';
import * as releaseTagClaims from './migrations/031-release-tag-claims.ts';
import * as leanWriteIndexes from './migrations/032-lean-write-indexes.ts';

function migrations(handle: DatabaseHandle): Record<string, Migration> {
  return {
    '001-initial': { up: (db) => initial.up(db, handle.kind), down: (db) => initial.down(db) },
    '002-blob-deletions': { up: (db) => blobDeletions.up(db), down: (db) => blobDeletions.down(db) },
    '003-web-pages': { up: (db) => webPages.up(db), down: (db) => webPages.down(db) },
    '004-read-indexes': { up: (db) => readIndexes.up(db), down: (db) => readIndexes.down(db) },
    '005-leases': { up: (db) => leases.up(db), down: (db) => leases.down(db) },
    '006-release-reactions': { up: (db) => releaseReactions.up(db, handle.kind), down: (db) => releaseReactions.down(db) },
    '007-events-and-webhooks': { up: (db) => eventsAndWebhooks.up(db, handle.kind), down: (db) => eventsAndWebhooks.down(db) },
    '008-webhook-web-base': { up: (db) => webhookWebBase.up(db), down: (db) => webhookWebBase.down(db) },
    '009-webhook-created-ms': { up: (db) => webhookCreatedMs.up(db), down: (db) => webhookCreatedMs.down(db) },
    '010-ref-snapshots': { up: (db) => refSnapshots.up(db, handle.kind), down: (db) => refSnapshots.down(db) },
    '011-audit-log': { up: (db) => auditLog.up(db, handle.kind), down: (db) => auditLog.down(db) },
    '012-release-channels': { up: (db) => releaseChannels.up(db, handle.kind), down: (db) => releaseChannels.down(db) },
    '013-immutable-releases': { up: (db) => immutableReleases.up(db), down: (db) => immutableReleases.down(db) },
    '014-attestations': { up: (db) => attestations.up(db, handle.kind), down: (db) => attestations.down(db) },
    '015-resumable-uploads': { up: (db) => resumableUploads.up(db), down: (db) => resumableUploads.down(db) },
    '016-read-generations': { up: (db) => readGenerations.up(db, handle.kind), down: (db) => readGenerations.down(db, handle.kind) },
    '017-mirrors': { up: (db) => mirrors.up(db, handle.kind), down: (db) => mirrors.down(db) },
    '018-idempotency-keys': { up: (db) => idempotencyKeys.up(db), down: (db) => idempotencyKeys.down(db) },
    '021-mirror-asset-filter': { up: (db) => mirrorAssetFilter.up(db), down: (db) => mirrorAssetFilter.down(db) },
    '022-blob-holds': { up: (db) => blobHolds.up(db), down: (db) => blobHolds.down(db) },
    '024-passwords': { up: (db) => passwords.up(db), down: (db) => passwords.down(db) },
    '025-bundles': { up: (db) => bundles.up(db), down: (db) => bundles.down(db) },
    '028-mirror-channels': { up: (db) => mirrorChannels.up(db), down: (db) => mirrorChannels.down(db) },
    '030-asset-upstream-identity': { up: (db) => assetUpstreamIdentity.up(db), down: (db) => assetUpstreamIdentity.down(db) },
    '029-foreign-attestations': { up: (db) => foreignAttestations.up(db), down: (db) => foreignAttestations.down(db) },
    '031-release-tag-claims': { up: (db) => releaseTagClaims.up(db), down: (db) => releaseTagClaims.down(db) },
    '032-lean-write-indexes': { up: (db) => leanWriteIndexes.up(db, handle.kind), down: (db) => leanWriteIndexes.down(db, handle.kind) },
  };
}

export async function migrateToLatest(handle: DatabaseHandle): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(handle) };
  // Numbers are reserved ahead of landing, so a database may have run a later number before an
  // earlier one lands: each still runs once, in name order among those not yet run.
  const migrator = new Migrator({ db: handle.db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    // No migration ran: the database could not be reached or locked; that error says it best.
    if (!failed) throw error instanceof Error ? error : new Error('database migration failed', { cause: error });
    throw new Error(`database migration ${failed.migrationName} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
}
