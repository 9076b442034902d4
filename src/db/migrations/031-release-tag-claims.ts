/**
 * A release's intent on its tag is a claim: at most one per repository and tag
 * (services/refs.ts). Two writers publishing releases on the same new tag learn at intent time,
 * before either touches git, that the other is making it, and a writer that finds the tag already
 * in git learns that someone who may still delete it (a release whose transaction fails) holds it.
 * Intents of other purposes (pushes, the refs API) stay many per ref.
 *
 * Release intents live for the length of one write; two on one tag can only be left by two
 * crashed writers. The older of each such pair is kept (the reconciler removes its tag if no
 * release took it), the others dropped, so that the index can be made.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`delete from ref_intents
    where purpose = 'release'
      and exists (select 1 from ref_intents older
                  where older.purpose = 'release' and older.repository_id = ref_intents.repository_id
                    and older.ref = ref_intents.ref and older.id < ref_intents.id)`.execute(db);
  await sql`create unique index ref_intents_release_claims on ref_intents (repository_id, ref) where purpose = 'release'`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`drop index ref_intents_release_claims`.execute(db);
}
