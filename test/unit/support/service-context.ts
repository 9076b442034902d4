/**
 * The fast tier's fixture: an AppContext on a temporary data directory (SQLite file, blob
 * directory, bare repositories), with no HTTP server. Services are called directly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createBlobStore } from '../../../src/blobs/create-blob-store.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { newCaches, type AppContext } from '../../../src/context.ts';
import type { Account } from '../../../src/db/schema.ts';
import { openDatabase } from '../../../src/db/dialect.ts';
import { migrateToLatest } from '../../../src/db/migrate.ts';
import { upsertCollaborator } from '../../../src/db/repos/repositories-repo.ts';
import type { Permission } from '../../../src/db/schema.ts';
import { SYSTEM_ACTOR } from '../../../src/services/audit.ts';
import { createUser } from '../../../src/services/accounts.ts';
import { PushListeners } from '../../../src/services/push-events.ts';
import { createRepository, getRepoAccess, type RepoAccess } from '../../../src/services/repositories.ts';
import { authenticateToken, issueToken, type Principal } from '../../../src/services/tokens.ts';
import { isoSeconds } from '../../../src/util/time.ts';

export interface ServiceFixture {
  ctx: AppContext;
  close(): Promise<void>;
}

export async function createServiceContext(): Promise<ServiceFixture> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-unit-'));
  const config = loadConfig({ WHARF_DATA_DIR: dataDir });
  const handle = await openDatabase(config.databaseUrl);
  await migrateToLatest(handle);
  const ctx: AppContext = { config, db: handle.db, blobs: await createBlobStore(config), log: pino({ level: 'silent' }), pushListeners: new PushListeners(), ...newCaches(config) };
  return {
    ctx,
    async close() {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Gives the tests of one file a service context: made before the first test, closed after the
 * last. `use` receives it (files keep it in a module variable their tests read).
 */
export function serviceContextForFile(use: (ctx: AppContext) => void): void {
  let fixture: ServiceFixture | undefined;
  beforeAll(async () => {
    fixture = await createServiceContext();
    use(fixture.ctx);
  });
  afterAll(() => fixture?.close());
}

let counter = 0;
export function uniqueLogin(prefix: string): string {
  return `${prefix}${process.pid}x${++counter}`;
}

/** A user and the principal its token resolves to. */
export async function userWithToken(ctx: AppContext, scopes = ['repo']): Promise<{ user: Account; principal: Principal }> {
  const user = await createUser(ctx, { login: uniqueLogin('u') }, SYSTEM_ACTOR);
  const { token } = await issueToken(ctx.db, user, scopes, { actor: SYSTEM_ACTOR });
  const principal = await authenticateToken(ctx.db, token);
  if (!principal) throw new Error('token did not authenticate');
  return { user, principal };
}

/** A repository (with an initial commit) owned by `owner`, and the owner's access to it. */
export async function repositoryOf(ctx: AppContext, owner: { user: Account; principal: Principal }, options: { private?: boolean } = {}): Promise<RepoAccess> {
  const repo = await createRepository(ctx, owner.user, owner.principal, { name: uniqueLogin('r'), auto_init: true, private: options.private ?? false });
  return getRepoAccess(ctx, owner.principal, owner.user.login, repo.name);
}

export async function grant(ctx: AppContext, access: RepoAccess, user: Account, permission: Permission): Promise<void> {
  await upsertCollaborator(ctx.db, access.repo.id, user.id, permission, isoSeconds());
}
