/**
 * @module services/immutable-tags
 * A rule of the ref door (`services/refs.ts`): the tags of immutable releases. By any path — the
 * refs API, a push, a force push —
 * - the tag of a published immutable release cannot be moved or deleted;
 * - a tag name an immutable release has used cannot be created again, nor moved (it is reserved
 *   in the repository forever); it may be deleted once its release is gone.
 */
import type { AppContext } from '../context.ts';
import type { Repository } from '../db/schema.ts';
import { immutableReleaseTags, reservedTags } from '../db/repos/immutable-releases-repo.ts';
import type { RefChange } from './push-events.ts';
import type { RefActor, RefRefusal } from './refs.ts';
import { readOnce, type WriteReads } from './write-reads.ts';

const TAGS = 'refs/tags/';

export async function refuseImmutableTagChanges(ctx: AppContext, repo: Repository, changes: readonly RefChange[], actor: RefActor): Promise<RefRefusal[]> {
  const tagChanges = changes.filter((c) => c.ref.startsWith(TAGS));
  if (tagChanges.length === 0) return [];
  const names = tagChanges.map((c) => c.ref.slice(TAGS.length));
  const reserved = await reservedTagsOnce(ctx.db, repo, names, actor.reads);
  if (reserved.size === 0) return [];
  const locked = await immutableReleaseTags(ctx.db, repo.id, [...reserved]);
  const refusals: RefRefusal[] = [];
  for (const change of tagChanges) {
    const name = change.ref.slice(TAGS.length);
    if (!reserved.has(name)) continue;
    if (locked.has(name)) {
      refusals.push({ ref: change.ref, reason: `tag ${name} belongs to an immutable release and cannot be ${change.after ? 'moved' : 'deleted'}` });
    } else if (change.after) {
      refusals.push({ ref: change.ref, reason: `tag name ${name} was used by an immutable release and cannot be reused` });
    }
  }
  return refusals;
}

/** Which of `names` are reserved in `repo`, read once per request when the caller shares its `reads`. */
export function reservedTagsOnce(db: AppContext['db'], repo: Repository, names: readonly string[], reads?: WriteReads): Promise<Set<string>> {
  return readOnce(reads, `reserved-tags:${repo.id}:${names.join('\0')}`, () => reservedTags(db, repo, names));
}
