/**
 * What a release creation writes to SQLite's WAL: the pages (WAL frames) per create and the
 * B-trees (tables and indexes) they belong to, through a real server on loopback, 8 creates at a
 * time. Each commit writes every page it dirtied, so a table or index a create touches costs at
 * least a page per commit; these are the pages the committing call writes on the event loop.
 *
 *     node --import tsx bench/wal-pages.ts [creates]
 *
 * A read transaction held open on another connection while the creates run keeps every frame in
 * the WAL (no checkpoint can copy past its snapshot, so the WAL never starts over); the frames are
 * then read from the WAL file and their page numbers looked up in `dbstat`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { createRepo, createUser } from '../test/support/fixtures.ts';
import { call } from '../test/support/http.ts';
import { startServer } from '../test/support/server.ts';

const CREATES = Number(process.argv[2] ?? 64);
const AT_ONCE = 8;

const server = await startServer();
const file = path.join(server.dataDir, 'wharf.db');
const owner = await createUser(server);
const repo = await createRepo(server, owner, { auto_init: true });
let tags = 0;
async function creates(count: number): Promise<void> {
  for (let done = 0; done < count; done += AT_ONCE) {
    await Promise.all(
      Array.from({ length: Math.min(AT_ONCE, count - done) }, async () => {
        const res = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: `w${tags++}`, name: 'a release' } });
        if (res.status !== 201) throw new Error(`create: ${res.status} ${res.text}`);
      }),
    );
  }
}
// Tables with some rows in them, then the event consumer's work done, then an empty WAL.
await creates(200);
await new Promise((resolve) => setTimeout(resolve, 2000));
const side = new BetterSqlite3(file);
side.pragma('busy_timeout = 5000');
side.pragma('wal_checkpoint(TRUNCATE)');
const snapshot = new BetterSqlite3(file);
snapshot.prepare('begin').run();
snapshot.prepare('select count(*) from sqlite_schema').get();

await creates(CREATES);
// The event consumer's commits (its queue rows deleted) belong to the creates too.
await new Promise((resolve) => setTimeout(resolve, 2000));

const wal = readFileSync(`${file}-wal`);
const pageSize = wal.readUInt32BE(8);
const salt = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
const pages: number[] = [];
let commits = 0;
for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
  if (wal.readUInt32BE(at + 8) !== salt[0] || wal.readUInt32BE(at + 12) !== salt[1]) break;
  pages.push(wal.readUInt32BE(at));
  if (wal.readUInt32BE(at + 4) !== 0) commits++;
}
const owners = new Map<number, string>();
for (const row of side.prepare('select name, pageno from dbstat').all() as Array<{ name: string; pageno: number }>) owners.set(row.pageno, row.name);
const byTree = new Map<string, number>();
for (const page of pages) {
  const name = owners.get(page) ?? 'free pages';
  byTree.set(name, (byTree.get(name) ?? 0) + 1);
}
console.log(`${CREATES} creates, ${AT_ONCE} at a time: ${(pages.length / CREATES).toFixed(1)} WAL pages and ${(commits / CREATES).toFixed(2)} commits per create`);
for (const [name, count] of [...byTree].sort((a, b) => b[1] - a[1])) console.log(`  ${(count / CREATES).toFixed(2)}  ${name}`);
snapshot.prepare('commit').run();
snapshot.close();
side.close();
await server.close();
