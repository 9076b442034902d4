/**
 * @module services/ambiguous-refs
 * A rule of the ref door (`services/refs.ts`): no new tag or branch whose short name git would
 * resolve to something else. A tag named `HEAD`, or a tag `main` beside the branch `main`, wins
 * or loses git's name resolution depending on the command (`git rev-parse main` warns "refname is
 * ambiguous" and takes the tag), so a writer could make a short name mean another commit than
 * readers expect. Such names are refused when created; existing refs are left alone.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import type { Repository } from '../db/schema.ts';
import * as git from '../git/git.ts';
import type { RefChange } from './push-events.ts';
import type { RefActor, RefRefusal } from './refs.ts';

const KINDS = [
  { prefix: 'refs/tags/', other: 'refs/heads/', what: 'tag', otherWhat: 'branch' },
  { prefix: 'refs/heads/', other: 'refs/tags/', what: 'branch', otherWhat: 'tag' },
] as const;

export async function refuseAmbiguousNames(ctx: AppContext, repo: Repository, changes: readonly RefChange[], _actor: RefActor): Promise<RefRefusal[]> {
  const refusals: RefRefusal[] = [];
  const created = new Set(changes.filter((c) => c.after && !c.before).map((c) => c.ref));
  for (const ref of created) {
    const kind = KINDS.find((k) => ref.startsWith(k.prefix));
    if (!kind) continue;
    const name = ref.slice(kind.prefix.length);
    if (name === 'HEAD' || name === 'FETCH_HEAD' || name === 'ORIG_HEAD') {
      refusals.push({ ref, reason: `${kind.what} name ${name} is reserved by git` });
      continue;
    }
    const twin = `${kind.other}${name}`;
    if (created.has(twin) || (await git.readRef(gitDirFor(ctx, repo), twin)) !== null) {
      refusals.push({ ref, reason: `${kind.what} name ${name} is ambiguous: a ${kind.otherWhat} has that name` });
    }
  }
  return refusals;
}
