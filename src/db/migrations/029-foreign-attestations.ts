/**
 * Attestations kept beside a release that another server made (docs/mirrors.md): a pull mirror's
 * upstream's release attestations, and the origin's carried in an offline bundle.
 * `origin_repository` is the `OWNER/REPO` the attestation names there; null for the attestations
 * this instance signs or a client stores here. Rows an import stored before this column are the
 * release attestations of non-immutable releases in repositories with a bundle origin (this
 * instance signs only immutable releases), and get that origin.
 */
import { sql, type Kysely } from 'kysely';

type AnyDb = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function up(db: AnyDb): Promise<void> {
  await sql`alter table attestations add column origin_repository text`.execute(db);
  await sql`update attestations set origin_repository = (
      select b.origin_repository from bundle_origins b where b.repository_id = attestations.repository_id
    )
    where initiator = 'release'
      and repository_id in (select repository_id from bundle_origins)
      and release_id in (select id from releases where immutable = 0)`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await sql`alter table attestations drop column origin_repository`.execute(db);
}
