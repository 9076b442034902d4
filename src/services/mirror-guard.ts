/**
 * @module services/mirror-guard
 * A pull mirror's releases, assets and refs follow its upstream, so nobody else writes them:
 * every release and asset write, and every ref change through the door (pushes, the refs API),
 * is refused with a 403 that says why, except the mirror's own sync.
 */
import type { AppContext } from '../context.ts';
import type { Repository } from '../db/schema.ts';
import { findMirrorOfRepository } from '../db/repos/mirrors-repo.ts';
import { ForbiddenError } from '../domain/errors.ts';
import type { RefActor, RefChange, RefRefusal } from './refs.ts';
import type { RepoAccess } from './repositories.ts';

function reason(upstream: string): string {
  return `This repository is a pull mirror of ${upstream}: its releases, assets and refs follow the upstream and are read-only here.`;
}

/**
 * Throws a 403 when `access.repo` is a mirror and the writer is not its sync. `db`: the caller's
 * transaction when it has one (on SQLite a query beside it would wait for it forever).
 */
export async function refuseMirroredWrite(ctx: AppContext, access: RepoAccess, db: AppContext['db'] = ctx.db): Promise<void> {
  if (access.viaMirror) return;
  const mirror = await findMirrorOfRepository(db, access.repo.id);
  if (mirror) throw new ForbiddenError(reason(mirror.upstream_url));
}

/** The refs door's rule: only the mirror's sync changes a mirror's refs. */
export async function refuseMirroredRefChanges(ctx: AppContext, repo: Repository, changes: readonly RefChange[], actor: RefActor): Promise<RefRefusal[]> {
  if (actor.via === 'mirror' || actor.via === 'reconcile' || changes.length === 0) return [];
  const mirror = await findMirrorOfRepository(ctx.db, repo.id);
  if (!mirror) return [];
  return changes.map((c) => ({ ref: c.ref, reason: reason(mirror.upstream_url) }));
}
