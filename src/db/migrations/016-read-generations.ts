/**
 * Read-cache generations (docs/performance.md#the-read-cache): one counter per repository, bumped
 * by the database itself in the transaction of every change a cached API answer could show.
 *
 * Triggers rather than calls in the services, so that no writer can forget the bump: API, web,
 * GraphQL, uploads, pushes and the reconciler, the CLI, and writers yet to come all pass through
 * these tables. What bumps which repository:
 * - `releases`, `repository_refs`, `collaborators`: any change, its repository;
 * - `assets`: any change but `download_count` alone (downloads may lag, by the cache's lifetime);
 * - `repositories`: any update (name, visibility, settings, the refs door's lock), itself;
 * - `org_members`: any change, every repository of the organization;
 * - `accounts`: login, name, e-mail, type, site administrator or suspension, every repository
 *   (the account may be an author or uploader anywhere).
 *
 *
 * `credential_generations` (one row) is the same for callers: bumped when a token is revoked,
 * expires early, changes or goes, and when an account's suspension or site administration
 * changes, so a principal remembered by any node is never used after that commit.
 *
 * On PostgreSQL the triggers are deferred to commit (constraint triggers), so the counter's row
 * lock is the last lock a transaction takes: a bump can never be part of a lock cycle with the
 * rows a transaction writes before it. SQLite has one writer at a time; its triggers run inline.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DialectKind } from '../dialect.ts';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The tables whose rows bump one repository, and which row column names it. */
const ROW_TABLES: ReadonlyArray<{ table: string; repo: string; columns?: string }> = [
  { table: 'releases', repo: 'repository_id' },
  // Every column but download_count.
  { table: 'assets', repo: 'repository_id', columns: 'release_id, repository_id, name, label, content_type, size, digest, blob_key, state, uploader_id, created_at, updated_at' },
  { table: 'repository_refs', repo: 'repository_id' },
  { table: 'collaborators', repo: 'repository_id' },
];

const ACCOUNT_COLUMNS = 'login, login_lower, name, email, type, site_admin, suspended_at';
/** What a remembered principal holds of its token (not `last_used_*`, written as tokens are used). */
const TOKEN_COLUMNS = 'user_id, token_hash, scopes, revoked_at, expires_at';

export async function up(db: AnyDb, kind: DialectKind): Promise<void> {
  await sql`create table repository_generations (
    repository_id bigint primary key references repositories(id) on delete cascade,
    generation bigint not null default 0
  )`.execute(db);
  await sql`insert into repository_generations (repository_id, generation) select id, 0 from repositories`.execute(db);
  await sql`create table credential_generations (
    id integer primary key,
    generation bigint not null default 0
  )`.execute(db);
  await sql`insert into credential_generations (id, generation) values (1, 0)`.execute(db);
  if (kind === 'postgres') await postgresTriggers(db);
  else await sqliteTriggers(db);
}

const bumpOne = (ref: RawBuilder<unknown>) => sql`update repository_generations set generation = generation + 1 where repository_id = ${ref}`;
const bumpOrg = (ref: RawBuilder<unknown>) =>
  sql`update repository_generations set generation = generation + 1 where repository_id in (select id from repositories where owner_id = ${ref})`;
const bumpAll = sql`update repository_generations set generation = generation + 1`;
const bumpCredentials = sql`update credential_generations set generation = generation + 1 where id = 1`;

async function sqliteTriggers(db: AnyDb): Promise<void> {
  await sql`create trigger repository_generations_new after insert on repositories begin
    insert into repository_generations (repository_id, generation) values (new.id, 0); end`.execute(db);
  // `when` keeps the trigger from firing on its own table's update of nothing else.
  await sql`create trigger repository_generations_repo after update on repositories begin ${bumpOne(sql`new.id`)}; end`.execute(db);
  for (const { table, repo, columns } of ROW_TABLES) {
    const of = columns ? sql.raw(` of ${columns}`) : sql``;
    await sql`create trigger ${sql.raw(`repository_generations_${table}_i`)} after insert on ${sql.table(table)} begin ${bumpOne(sql.raw(`new.${repo}`))}; end`.execute(db);
    await sql`create trigger ${sql.raw(`repository_generations_${table}_u`)} after update${of} on ${sql.table(table)} begin ${bumpOne(sql.raw(`new.${repo}`))}; ${bumpOne(sql.raw(`old.${repo}`))}; end`.execute(
      db,
    );
    await sql`create trigger ${sql.raw(`repository_generations_${table}_d`)} after delete on ${sql.table(table)} begin ${bumpOne(sql.raw(`old.${repo}`))}; end`.execute(db);
  }
  for (const [suffix, event, row] of [
    ['i', 'insert', 'new'],
    ['u', 'update', 'new'],
    ['d', 'delete', 'old'],
  ] as const) {
    await sql`create trigger ${sql.raw(`repository_generations_org_members_${suffix}`)} after ${sql.raw(event)} on org_members begin ${bumpOrg(sql.raw(`${row}.org_id`))}; end`.execute(
      db,
    );
  }
  await sql`create trigger repository_generations_accounts after update of ${sql.raw(ACCOUNT_COLUMNS)} on accounts begin ${bumpAll}; ${bumpCredentials}; end`.execute(db);
  await sql`create trigger repository_generations_accounts_d after delete on accounts begin ${bumpCredentials}; end`.execute(db);
  await sql`create trigger repository_generations_tokens_u after update of ${sql.raw(TOKEN_COLUMNS)} on tokens begin ${bumpCredentials}; end`.execute(db);
  await sql`create trigger repository_generations_tokens_d after delete on tokens begin ${bumpCredentials}; end`.execute(db);
}

async function postgresTriggers(db: AnyDb): Promise<void> {
  await sql`create function repository_generations_new() returns trigger language plpgsql as $$
    begin insert into repository_generations (repository_id, generation) values (new.id, 0); return null; end $$`.execute(db);
  await sql`create trigger repository_generations_new after insert on repositories for each row execute function repository_generations_new()`.execute(db);
  // One function for the row tables: the trigger's argument names the repository column.
  await sql`create function repository_generations_bump() returns trigger language plpgsql as $$
    declare repo bigint;
    begin
      if tg_op <> 'INSERT' then
        execute format('select ($1).%I', tg_argv[0]) into repo using old;
        update repository_generations set generation = generation + 1 where repository_id = repo;
      end if;
      if tg_op <> 'DELETE' then
        execute format('select ($1).%I', tg_argv[0]) into repo using new;
        update repository_generations set generation = generation + 1 where repository_id = repo;
      end if;
      return null;
    end $$`.execute(db);
  await constraintTrigger(db, 'repository_generations_repo', 'update', 'repositories', `repository_generations_bump('id')`);
  for (const { table, repo, columns } of ROW_TABLES) {
    const events = columns ? `insert or delete or update of ${columns}` : 'insert or delete or update';
    await constraintTrigger(db, `repository_generations_${table}`, events, table, `repository_generations_bump('${repo}')`);
  }
  await sql`create function repository_generations_org() returns trigger language plpgsql as $$
    declare org bigint;
    begin
      if tg_op = 'DELETE' then org := old.org_id; else org := new.org_id; end if;
      ${bumpOrg(sql`org`)};
      return null;
    end $$`.execute(db);
  await constraintTrigger(db, 'repository_generations_org_members', 'insert or delete or update', 'org_members', 'repository_generations_org()');
  await sql`create function repository_generations_all() returns trigger language plpgsql as $$
    begin ${bumpAll}; ${bumpCredentials}; return null; end $$`.execute(db);
  await constraintTrigger(db, 'repository_generations_accounts', `update of ${ACCOUNT_COLUMNS}`, 'accounts', 'repository_generations_all()');
  await sql`create function credential_generations_bump() returns trigger language plpgsql as $$
    begin ${bumpCredentials}; return null; end $$`.execute(db);
  await constraintTrigger(db, 'repository_generations_accounts_d', 'delete', 'accounts', 'credential_generations_bump()');
  await constraintTrigger(db, 'repository_generations_tokens', `delete or update of ${TOKEN_COLUMNS}`, 'tokens', 'credential_generations_bump()');
}

async function constraintTrigger(db: AnyDb, name: string, events: string, table: string, call: string): Promise<void> {
  await sql`create constraint trigger ${sql.raw(name)} after ${sql.raw(events)} on ${sql.table(table)}
    deferrable initially deferred for each row execute function ${sql.raw(call)}`.execute(db);
}

export async function down(db: AnyDb, kind: DialectKind): Promise<void> {
  if (kind === 'postgres') {
    for (const [name, table] of [
      ['repository_generations_new', 'repositories'],
      ['repository_generations_repo', 'repositories'],
      ...ROW_TABLES.map(({ table }) => [`repository_generations_${table}`, table]),
      ['repository_generations_org_members', 'org_members'],
      ['repository_generations_accounts', 'accounts'],
      ['repository_generations_accounts_d', 'accounts'],
      ['repository_generations_tokens', 'tokens'],
    ] as const) {
      await sql`drop trigger if exists ${sql.raw(name)} on ${sql.table(table)}`.execute(db);
    }
    for (const fn of ['repository_generations_new', 'repository_generations_bump', 'repository_generations_org', 'repository_generations_all', 'credential_generations_bump']) {
      await sql`drop function if exists ${sql.raw(fn)}()`.execute(db);
    }
  } else {
    const triggers = await sql<{ name: string }>`select name from sqlite_master where type = 'trigger' and name like 'repository_generations%'`.execute(db);
    for (const { name } of triggers.rows) await sql`drop trigger ${sql.raw(name)}`.execute(db);
  }
  await db.schema.dropTable('credential_generations').execute();
  await db.schema.dropTable('repository_generations').execute();
}
