/**
 * The generation reads every remembered read makes run on the driver directly
 * (`db/compiled-once.ts`): at once on SQLite, as a named prepared statement on PostgreSQL. They
 * must still never see a write that is not committed: on SQLite one connection serves every query,
 * so a read made while a transaction holds it (between its statements) must wait for it, and a
 * generation bumped by a transaction that rolls back must not be seen.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAccountByLogin } from '../../src/db/repos/accounts-repo.ts';
import { findGenerationsByName, findWriteTargetByName } from '../../src/db/repos/generations-repo.ts';
import { findReadOnlySources } from '../../src/db/repos/mirrors-repo.ts';
import { findRepository } from '../../src/db/repos/repositories-repo.ts';
import { createRepo, createUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: string;
let name: string;
beforeAll(async () => {
  server = await startServer();
  const user = await createUser(server);
  const repo = await createRepo(server, user);
  owner = user.login;
  name = repo.name;
}, 60_000);
afterAll(() => server.close());

describe('generation reads', () => {
  it('reads the committed generation, by the names in any case, and nothing for an unknown repository', async () => {
    const db = server.wharf.ctx.db;
    const found = await findGenerationsByName(db, owner.toUpperCase(), name.toUpperCase());
    expect(found).toMatchObject({ repositoryId: expect.any(Number), generation: expect.any(Number), credentials: expect.any(Number) });
    // The same statement again (prepared once), the same answer.
    expect(await findGenerationsByName(db, owner, name)).toEqual(found);
    expect(await findGenerationsByName(db, owner, `${name}-missing`)).toBeUndefined();
    if (server.wharf.ctx.config.databaseUrl.startsWith('sqlite:')) {
      // On SQLite it answers at once: no promise.
      expect(findGenerationsByName(db, owner, name)).not.toBeInstanceOf(Promise);
    }
  });

  it('never sees a bump of a transaction still open, nor one rolled back', async () => {
    const db = server.wharf.ctx.db;
    const before = (await findGenerationsByName(db, owner, name))!;
    let duringTransaction: ReturnType<typeof findGenerationsByName> | null = null;
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`update repository_generations set generation = generation + 1000 where repository_id = ${before.repositoryId}`.execute(trx);
        // Read by another request while the transaction is open (it may wait on other work here).
        duringTransaction = findGenerationsByName(db, owner, name);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await duringTransaction!)!.generation).toBe(before.generation);
    expect((await findGenerationsByName(db, owner, name))!.generation).toBe(before.generation);
  });

  it("reads a write's target with its generations: the same rows and read-only sources as reading each alone", async () => {
    const db = server.wharf.ctx.db;
    const found = (await findWriteTargetByName(db, owner.toUpperCase(), name.toUpperCase()))!;
    const ownerRow = (await findAccountByLogin(db, owner))!;
    const repoRow = (await findRepository(db, ownerRow.id, name))!;
    expect(found.generations).toEqual(await findGenerationsByName(db, owner, name));
    // Every column of both rows, with the same values and types (ids and flags as numbers on both engines).
    expect(found.owner).toStrictEqual({ ...ownerRow });
    expect(found.repo).toStrictEqual({ ...repoRow });
    expect(found.readOnly).toStrictEqual({ ...(await findReadOnlySources(db, repoRow.id))! });
    expect(found.readOnly).toEqual({ upstream_url: null, origin_repository: null, origin_instance: null });
    expect(await findWriteTargetByName(db, owner, `${name}-missing`)).toBeUndefined();
  });
});
