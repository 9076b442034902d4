/**
 * A process writing rows into a SQLite file through Wharf's database handle, for tests of what
 * two processes on one file and a process killed mid-write leave behind. Usage:
 * `sqlite-writer.ts FILE WRITER COUNT CONCURRENCY [read-first]`. Prints `ok <n>` once row `n` is
 * acknowledged (its write returned), then `done`. With `read-first`, every row is written by a
 * transaction that reads before it writes (the shape that needs SQLite's write lock taken at
 * BEGIN when another process writes the same file).
 */
import { sql } from 'kysely';
import { openDatabase } from '../../../src/db/dialect.ts';

const [file, writer, count, concurrency, mode] = process.argv.slice(2);
const handle = await openDatabase(`sqlite:${file}`);
const db = handle.db;
let next = 0;
async function worker(): Promise<void> {
  while (next < Number(count)) {
    const n = next++;
    // Half as lone statements, half as transactions that write, then read (a deferred transaction
    // that reads first cannot take the write lock once another process has written since).
    if (mode === 'read-first') {
      await db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ taken: number }>`select count(*) as taken from durable_rows where writer = ${writer} and n = ${n}`.execute(trx);
        // A turn of the event loop between the read and the write, as a service's awaits give one.
        await new Promise((resolve) => setImmediate(resolve));
        if (Number(rows[0]!.taken) === 0) await sql`insert into durable_rows (writer, n) values (${writer}, ${n})`.execute(trx);
      });
    } else if (n % 2 === 0) await sql`insert into durable_rows (writer, n) values (${writer}, ${n})`.execute(db);
    else {
      await db.transaction().execute(async (trx) => {
        await sql`insert into durable_rows (writer, n) values (${writer}, ${n})`.execute(trx);
        await sql`select count(*) from durable_rows`.execute(trx);
      });
    }
    process.stdout.write(`ok ${n}\n`);
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
await handle.close();
process.stdout.write('done\n');
