/**
 * A release's tag is made in git before the release's transaction (services/refs.ts,
 * `claimNewTag`), under a claim on the tag (a `release` intent, unique per repository and tag):
 * - two creates of one new tag at once end with exactly one release, on a tag git has, and the
 *   other answered 422 already_exists, never a release whose tag the loser removed;
 * - a release published on a tag that exists while another writer holds its claim (that writer
 *   made the tag and may still delete it) is refused the same way;
 * - a transaction that fails after git made the tag deletes the tag again and leaves no release;
 * - an abandoned claim taken over by a release whose transaction then fails is handed back for
 *   the reconciler.
 * On PostgreSQL + S3 (`npm run test:pg`) the creates run on separate pooled connections.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitDirFor } from '../../src/context.ts';
import { insertRefIntents } from '../../src/db/repos/refs-repo.ts';
import { LEASE_HOLDER } from '../../src/services/leases.ts';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { assertMatchesOpenApi } from '../support/openapi.ts';
import { startServer, type TestServer } from '../support/server.ts';

const run = promisify(execFile);
let server: TestServer;
let owner: TestUser;
let repo: { full: string; json: { id: number } };

beforeAll(async () => {
  server = await startServer({ env: { WHARF_EVENT_CONSUMERS: 'false' } });
  owner = await createUser(server, uniqueName('claimer'));
  repo = await createRepo(server, owner, { auto_init: true });
});
afterAll(() => server?.close());

const url = (path: string) => `${server.api}/repos/${repo.full}${path}`;
const as = (method: string, path: string, body?: unknown) => call(method, url(path), { token: owner.token, body });

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['--git-dir', gitDirFor(server.wharf.ctx, { id: repo.json.id }), ...args]);
  return stdout.trim();
}

async function tagSha(tag: string): Promise<string | null> {
  const out = await git('for-each-ref', '--format=%(objectname)', `refs/tags/${tag}`);
  return out || null;
}

async function releasesTagged(tag: string): Promise<Array<{ id: number; draft: number }>> {
  return server.wharf.ctx.db.selectFrom('releases').select(['id', 'draft']).where('repository_id', '=', repo.json.id).where('tag_name', '=', tag).execute();
}

async function intents(): Promise<Array<{ ref: string; holder: string }>> {
  return server.wharf.ctx.db.selectFrom('ref_intents').select(['ref', 'holder']).where('repository_id', '=', repo.json.id).execute();
}

async function tagEvents(tag: string): Promise<string[]> {
  const rows = await server.wharf.ctx.db.selectFrom('events').select(['type', 'data']).where('repository_id', '=', repo.json.id).orderBy('id').execute();
  return rows.filter((r) => r.type.startsWith('ref.') && (JSON.parse(r.data) as { ref?: string }).ref === tag).map((r) => r.type);
}

function expectAlreadyExists(res: { status: number; body: unknown }): void {
  expect(res.status).toBe(422);
  expect(res.body).toMatchObject({ errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }] });
  assertMatchesOpenApi('POST', url('/releases'), 422, res.body);
}

describe("a release's tag claim", () => {
  it('two creates of one new tag at once, many rounds: one release on a tag git has, the other 422 already_exists', async () => {
    const main = await git('rev-parse', 'refs/heads/main');
    for (let round = 0; round < 30; round++) {
      const tag = `claim-race-${round}`;
      const results = await Promise.all([as('POST', '/releases', { tag_name: tag, name: 'a' }), as('POST', '/releases', { tag_name: tag, name: 'b' })]);
      const won = results.filter((r) => r.status === 201);
      expect(won, `round ${round}: ${results.map((r) => `${r.status} ${r.text}`).join(' | ')}`).toHaveLength(1);
      assertMatchesOpenApi('POST', url('/releases'), 201, won[0]!.body);
      expectAlreadyExists(results.find((r) => r.status !== 201)!);
      expect(await tagSha(tag)).toBe(main);
      const rows = await releasesTagged(tag);
      expect(rows).toEqual([{ id: (won[0]!.body as { id: number }).id, draft: 0 }]);
      expect(await tagEvents(tag)).toEqual(['ref.created']);
    }
    expect(await intents()).toEqual([]);
  }, 120_000);

  it('a release on a tag that exists while another writer holds its claim is refused; the tag and claim stay', async () => {
    const main = await git('rev-parse', 'refs/heads/main');
    // A live writer (this process) has claimed the tag and made it, its transaction still to come.
    await git('update-ref', 'refs/tags/claimed-live', main);
    await insertRefIntents(server.wharf.ctx.db, [
      { repositoryId: repo.json.id, ref: 'refs/tags/claimed-live', sha: main, purpose: 'release', actorId: owner.id, holder: LEASE_HOLDER, now: Date.now() },
    ]);
    expectAlreadyExists(await as('POST', '/releases', { tag_name: 'claimed-live' }));
    expect(await releasesTagged('claimed-live')).toEqual([]);
    expect(await tagSha('claimed-live')).toBe(main);
    expect(await intents()).toEqual([{ ref: 'refs/tags/claimed-live', holder: LEASE_HOLDER }]);
    // A draft takes no tag and needs no claim.
    expect((await as('POST', '/releases', { tag_name: 'claimed-live', draft: true })).status).toBe(201);
    // Once the writer's transaction has ended (its claim with it), a release may use the tag.
    await server.wharf.ctx.db.deleteFrom('ref_intents').where('repository_id', '=', repo.json.id).execute();
    expect((await as('POST', '/releases', { tag_name: 'claimed-live' })).status).toBe(201);
  });

  it('a transaction that fails after git made the tag: the tag is deleted again, no release is added', async () => {
    const tag = uniqueName('fails');
    expect((await as('POST', '/releases', { tag_name: tag })).status).toBe(201);
    // The tag goes behind the database's back: the next create finds no tag, makes it in git, and
    // its transaction then fails on the published release that still holds the name.
    await git('update-ref', '-d', `refs/tags/${tag}`);
    const events = await tagEvents(tag);
    expectAlreadyExists(await as('POST', '/releases', { tag_name: tag, target_commitish: 'main' }));
    expect(await tagSha(tag)).toBeNull();
    expect(await releasesTagged(tag)).toHaveLength(1);
    expect(await tagEvents(tag)).toEqual(events);
    expect(await intents()).toEqual([]);
  });

  it('an abandoned claim taken over by a release whose transaction fails is handed back to the reconciler', async () => {
    const tag = uniqueName('handback');
    expect((await as('POST', '/releases', { tag_name: tag })).status).toBe(201);
    const sha = (await tagSha(tag))!;
    const dead = 'elsewhere:1:dead';
    await insertRefIntents(server.wharf.ctx.db, [
      { repositoryId: repo.json.id, ref: `refs/tags/${tag}`, sha, purpose: 'release', actorId: owner.id, holder: dead, now: Date.now() - 3_600_000 },
    ]);
    // The tag exists and its claim is abandoned: taken over, then the insert collides with the
    // published release on that tag, and the claim goes back to its dead holder.
    expectAlreadyExists(await as('POST', '/releases', { tag_name: tag }));
    expect(await intents()).toEqual([{ ref: `refs/tags/${tag}`, holder: dead }]);
    expect(await tagSha(tag)).toBe(sha);
    await server.wharf.ctx.db.deleteFrom('ref_intents').where('repository_id', '=', repo.json.id).execute();
  });
});
