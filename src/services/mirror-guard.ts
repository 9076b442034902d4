/**
 * @module services/mirror-guard
 * A pull mirror's releases, assets and refs follow its upstream, so nobody else writes them:
 * every release and asset write, and every ref change through the door (pushes, the refs API),
 * is refused with a 403 that says why, except the mirror's own sync. A repository whose releases
 * are imported from offline bundles follows their origin in the same way, and only an import
 * writes it (services/bundle-import.ts).
 */
import type { AppContext } from '../context.ts';
import type { Repository } from '../db/schema.ts';
import { findReadOnlySources, type ReadOnlySources } from '../db/repos/mirrors-repo.ts';
import { ForbiddenError } from '../domain/errors.ts';
import type { RefActor, RefChange, RefRefusal } from './refs.ts';
import type { RepoAccess } from './repositories.ts';
import { readOnce, type WriteReads } from './write-reads.ts';

function reason(upstream: string): string {
  return `This repository is a pull mirror of ${upstream}: its releases, assets and refs follow the upstream and are read-only here.`;
}

function importedReason(origin: string): string {
  return `This repository's releases are imported from offline bundles of ${origin}: its releases, assets and refs follow the origin and are read-only here.`;
}

/**
 * Why nobody but its sync or import writes the repository, or null when anyone with access may.
 * `known`: its sources as read with the caller's access, used instead of reading them again.
 */
function readOnlyReason(db: AppContext['db'], repositoryId: number, reads?: WriteReads, known?: ReadOnlySources): Promise<string | null> {
  return readOnce(reads, `read-only:${repositoryId}`, async () => reasonOf(known ?? (await findReadOnlySources(db, repositoryId))));
}

function reasonOf(sources: ReadOnlySources | undefined): string | null {
  if (typeof sources?.upstream_url === 'string') return reason(sources.upstream_url);
  if (typeof sources?.origin_repository === 'string') {
    return importedReason(sources.origin_instance ? `${sources.origin_repository} on ${sources.origin_instance}` : sources.origin_repository);
  }
  return null;
}

/**
 * Throws a 403 when `access.repo` is a mirror and the writer is not its sync. `db`: the caller's
 * transaction when it has one (on SQLite a query beside it would wait for it forever). `reads`:
 * the request's reads, shared with the refs door's rule below.
 */
export async function refuseMirroredWrite(ctx: AppContext, access: RepoAccess, db: AppContext['db'] = ctx.db, reads?: WriteReads): Promise<void> {
  if (access.viaMirror) return;
  // Read with the access before anything else of the request, as a read here would be; inside a
  // transaction the guard reads again, in it.
  const why = await readOnlyReason(db, access.repo.id, reads, db === ctx.db ? access.readOnly : undefined);
  if (why) throw new ForbiddenError(why);
}

/** The refs door's rule: only the mirror's sync changes a mirror's refs. */
export async function refuseMirroredRefChanges(ctx: AppContext, repo: Repository, changes: readonly RefChange[], actor: RefActor): Promise<RefRefusal[]> {
  if (actor.via === 'mirror' || actor.via === 'bundle' || actor.via === 'reconcile' || changes.length === 0) return [];
  const why = await readOnlyReason(ctx.db, repo.id, actor.reads);
  if (!why) return [];
  return changes.map((c) => ({ ref: c.ref, reason: why }));
}
