/**
 * What must hold on every SQL engine Wharf runs on: this file runs on whichever store the test
 * environment selects (SQLite by default, PostgreSQL with WHARF_TEST_DATABASE_URL).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePostgresUrl } from '../../src/db/dialect.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: TestUser;

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server);
});
afterAll(() => server.close());

describe(`store portability (${process.env.WHARF_TEST_DATABASE_URL ? 'postgres' : 'sqlite'})`, () => {
  it('returns ids and counts as JS numbers', async () => {
    const db = server.wharf.ctx.db;
    const row = await db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(typeof row.n).toBe('number');
    const account = await db.selectFrom('accounts').select(['id', 'site_admin']).where('login_lower', '=', owner.login.toLowerCase()).executeTakeFirstOrThrow();
    expect(account.id).toBe(owner.id);
    expect(typeof account.site_admin).toBe('number');
    const big = await sql<{ v: number }>`select cast(${2 ** 40} as bigint) as v`.execute(db);
    expect(big.rows[0]!.v).toBe(2 ** 40);
  });

  it('sorts names by code point, as SQLite does', async () => {
    const names = ['b_x', 'b-x', 'B.x', 'bx', 'b9', 'a-z'];
    for (const name of names) await createRepo(server, owner, { name });
    const res = await call('GET', `${server.api}/users/${owner.login}/repos?per_page=100`, {});
    expect(res.status).toBe(200);
    const listed = res.body.map((r: { name: string }) => r.name);
    const byCodePoint = [...names].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1));
    expect(listed).toEqual(byCodePoint);
  });

  it('lets exactly one of many concurrent creations of one name win, by constraint', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => call('POST', `${server.api}/user/repos`, { token: owner.token, body: { name: 'contested' } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const lost of results.filter((r) => r.status !== 201)) expectGitHubError(lost, 422, 'Validation Failed');
  });

  it('refuses NUL characters the same way on every engine', async () => {
    const repo = await createRepo(server, owner);
    expectGitHubError(await call('PATCH', `${server.api}/repos/${repo.full}`, { token: owner.token, body: { description: 'a\u0000b' } }), 400, 'Problems parsing JSON');
    // An escaped backslash followed by "u0000" is not a NUL.
    const literal = await call('PATCH', `${server.api}/repos/${repo.full}`, { token: owner.token, raw: '{"description":"a\\\\u0000b"}' });
    expect(literal.status).toBe(200);
    expect(literal.body.description).toBe('a\\u0000b');
    expectGitHubError(await call('GET', `${server.api}/users/a%00b`, {}), 404, 'Not Found');
    expectGitHubError(await call('GET', `${server.api}/repos/${owner.login}/x%00y`, {}), 404, 'Not Found');
  });
});

describe('PostgreSQL URL settings', () => {
  it('reads pool size and libpq sslmode values, and keeps them out of the connection string', () => {
    const plain = parsePostgresUrl('postgres://u:p@db.example:5432/wharf?pool_max=4');
    expect(plain).toEqual({ connectionString: 'postgres://u:p@db.example:5432/wharf', max: 4, ssl: false });
    expect(parsePostgresUrl('postgres://u@h/d').max).toBe(10);
    expect(parsePostgresUrl('postgres://u@h/d?sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
    expect(parsePostgresUrl('postgres://u@h/d?sslmode=verify-full').ssl).toEqual({ rejectUnauthorized: true });
    const verifyCa = parsePostgresUrl('postgres://u@h/d?sslmode=verify-ca').ssl;
    expect(verifyCa && verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa && verifyCa.checkServerIdentity?.('h', {} as never)).toBeUndefined();
    expect(parsePostgresUrl('postgres://u@h/d?sslmode=require&application_name=x').connectionString).toBe('postgres://u@h/d?application_name=x');
    expect(() => parsePostgresUrl('postgres://u@h/d?sslmode=sometimes')).toThrow(/sslmode/);
    expect(() => parsePostgresUrl('postgres://u@h/d?pool_max=0')).toThrow(/pool_max/);
    expect(() => parsePostgresUrl('postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem')).toThrow(/ENOENT/);
  });
});
