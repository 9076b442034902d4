/**
 * @module services/releases
 * Releases on real git tags, with GitHub's rules:
 * - a published release owns its tag (unique per repository); drafts may share tags freely;
 * - publishing a release whose tag does not exist creates a lightweight tag at its target, in
 *   the same unit of work as the row (the row rolls back if the tag cannot be made, and a tag
 *   made for a row that then fails is removed again);
 * - `created_at` is the date of the release's commit (creation time while a draft);
 * - drafts are invisible without push access; the by-tag lookup never returns drafts;
 * - a pushed deletion of a tag turns its published release back into a draft (Gitea's rule);
 * - a release published while immutable releases are on (services/immutable-releases.ts) is
 *   `immutable`: its tag and target stay, it stays published, and its tag name is reserved;
 *   publishing it signs its release attestation in the same transaction (services/attestations.ts).
 */
import { randomBytes } from 'node:crypto';
import { gitDirFor, type AppContext } from '../context.ts';
import type { Asset, Release, Repository } from '../db/schema.ts';
import {
  deleteReleaseRow,
  findNewestByTag,
  findPublishedByTag,
  findPublishedWithTags,
  findRelease,
  lockRelease,
  insertRelease,
  listReleasesPage,
  updateReleaseRow,
  type ReleaseListFilter,
} from '../db/repos/releases-repo.ts';
import { insertUploadedAssets, listAssetsForReleases, releaseBlobKeys, type NewUploadedAsset } from '../db/repos/assets-repo.ts';
import { sanitizeAssetLabel } from './asset-names.ts';
import { MAX_ASSETS_PER_RELEASE, validAssetName } from './assets.ts';
import { findRepositoryById, lockRepositoryRow } from '../db/repos/repositories-repo.ts';
import { NotFoundError, UnauthorizedError, ValidationError, type FieldError } from '../domain/errors.ts';
import { bodyMembers } from '../domain/request-body.ts';
import * as git from '../git/git.ts';
import type { Page } from '../domain/page.ts';
import { isoSeconds, toIsoSeconds } from '../util/time.ts';
import { isUniqueViolation } from './db-errors.ts';
import { currentLatest, designateLatest, isEligibleForLatest, latestByDefault, recomputeLatest } from './latest-release.ts';
import { deleteUnreferencedBlobs } from './blob-gc.ts';
import { parseIdempotencyKey, requestFingerprint, takeIdempotencyKey } from './idempotency.ts';
import { atLeast } from './permissions.ts';
import { mergeGeneratedNotes, roomForGeneratedNotes } from '../notes/merge.ts';
import { parseReleaseFields, type MakeLatest } from './release-input.ts';
import { generateReleaseNotes } from './release-notes.ts';
import { requirePermission, type RepoAccess } from './repositories.ts';
import type { RefChange } from './push-events.ts';
import { releaseChanges, releaseUpdateActions, type DomainEvent, type ReleaseAction, type ReleaseChanges } from '../events/domain-events.ts';
import { recordEvents } from '../events/outbox.ts';
import { claimExistingTag, claimNewTag, TagClaimedError, type RefActor, type TagClaim } from './refs.ts';
import { versionColumns } from './release-channels.ts';
import { immutableStatus, refuseReservedTag } from './immutable-releases.ts';
import { reserveTag } from '../db/repos/immutable-releases-repo.ts';
import { attestRelease } from './attestations.ts';
import { refuseMirroredWrite } from './mirror-guard.ts';
import { WriteReads } from './write-reads.ts';

/** GitHub's limit on release notes. */
export const MAX_BODY_LENGTH = 125_000;

export function canSeeDrafts(access: RepoAccess): boolean {
  return atLeast(access.permission, 'push');
}

function visible(access: RepoAccess, release: Release | undefined): Release {
  if (!release || (release.draft === 1 && !canSeeDrafts(access))) throw new NotFoundError();
  return release;
}

// ---- reads -------------------------------------------------------------------------------

export async function listReleases(ctx: AppContext, access: RepoAccess, page: Page, filter: ReleaseListFilter = {}): Promise<{ releases: Release[]; total: number }> {
  const { rows, total } = await listReleasesPage(ctx.db, access.repo.id, canSeeDrafts(access), page.perPage, page.offset, filter);
  return { releases: rows, total };
}

export async function getReleaseById(ctx: AppContext, access: RepoAccess, id: number): Promise<Release> {
  return visible(access, await findRelease(ctx.db, access.repo.id, id));
}

/** Published releases only, whoever asks (GitHub's by-tag route never returns drafts). */
export async function getReleaseByTag(ctx: AppContext, access: RepoAccess, tag: string): Promise<Release> {
  const release = await findPublishedByTag(ctx.db, access.repo.id, tag);
  if (!release) throw new NotFoundError();
  return release;
}

/** The release for a tag including drafts the caller may see (GraphQL `release(tagName:)`). */
export async function findReleaseByTagIncludingDrafts(ctx: AppContext, access: RepoAccess, tag: string): Promise<Release | null> {
  return (await findNewestByTag(ctx.db, access.repo.id, tag, canSeeDrafts(access))) ?? null;
}

export async function getLatestRelease(ctx: AppContext, access: RepoAccess): Promise<Release> {
  const latest = await currentLatest(ctx.db, access.repo);
  if (!latest) throw new NotFoundError();
  return latest;
}

export async function latestReleaseId(ctx: AppContext, repo: Repository): Promise<number | null> {
  return (await currentLatest(ctx.db, repo))?.id ?? null;
}

// ---- validation helpers ----------------------------------------------------------------------

/** Writes need push access. A reader creating a release gets GitHub's 422 custom error. */
function requireWrite(access: RepoAccess, creating: boolean): void {
  if (atLeast(access.permission, 'push')) return;
  if (!access.principal) throw new UnauthorizedError();
  if (creating) {
    throw new ValidationError([
      { resource: 'Release', code: 'custom', field: 'author_id', message: `author_id does not have push access to ${access.owner.login}/${access.repo.name}` },
    ]);
  }
  requirePermission(access, 'push');
}

async function tagErrors(tag: string, publishing: boolean): Promise<FieldError[]> {
  // GitHub refuses names git refuses, and full SHAs (they would shadow commits).
  const ok = (await git.isValidTagName(tag)) && !/^[0-9a-f]{40}$/i.test(tag);
  if (ok) return [];
  const errors: FieldError[] = [
    { resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name is not a valid tag' },
    { resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name is not well-formed' },
  ];
  if (publishing) errors.push({ resource: 'Release', code: 'custom', message: 'Published releases must have a valid tag' });
  return errors;
}

function bodyErrors(body: string | null | undefined): FieldError[] {
  if (body && body.length > MAX_BODY_LENGTH) {
    return [{ resource: 'Release', code: 'custom', field: 'body', message: `body is too long (maximum is ${MAX_BODY_LENGTH} characters)` }];
  }
  return [];
}

function latestErrors(makeLatest: MakeLatest | undefined, draft: boolean, prerelease: boolean): FieldError[] {
  if (makeLatest === 'true' && (draft || prerelease)) {
    return [{ resource: 'Release', code: 'custom', message: 'Latest release cannot be draft or prerelease.' }];
  }
  return [];
}

/**
 * Resolves where a new tag would point: a branch, a tag or a full commit SHA. GitHub refuses
 * partial SHAs, `HEAD` and `refs/…` spellings, and so does Wharf.
 */
interface Placement {
  /** The commit the release points at, when known. */
  commitSha: string | null;
  /** That commit's committer date (ISO 8601), when it was read with it. */
  commitDate: string | null;
  /** Whether the tag already exists in the repository. */
  tagExists: boolean;
}

/**
 * Where a release with this tag/target would live; 422 when the target names nothing. The tag
 * and the target branch (or a tag of that name, as `git rev-parse` would not be asked: a full
 * SHA is a commit) are read from the repository's files, and the commit with its date from the
 * repository's resident `git cat-file` (`git/resident-git.ts`): no git process is started.
 */
async function place(ctx: AppContext, repo: Repository, tag: string, target: string, mustResolve: boolean): Promise<Placement> {
  const gitDir = gitDirFor(ctx, repo);
  const existing = await git.readRef(gitDir, `refs/tags/${tag}`);
  if (existing) {
    const commit = await git.peelCommit(gitDir, existing, { fromRef: true });
    return { commitSha: commit?.sha ?? existing, commitDate: commit?.date ?? null, tagExists: true };
  }
  let sha: string | null = null;
  const fromRef = !/^[0-9a-f]{40}$/.test(target);
  if (!fromRef) sha = target;
  else if (target !== 'HEAD' && !target.startsWith('-') && !target.includes('\0') && !target.startsWith('refs/tags/')) {
    const branchRef = target.startsWith('refs/heads/') ? target : `refs/heads/${target}`;
    sha = (await git.readRef(gitDir, branchRef)) ?? (target.startsWith('refs/') ? null : await git.readRef(gitDir, `refs/tags/${target}`));
  }
  // Peeling checks that the object is a commit (a tag's target may be a tree) and gives its date.
  const resolved = sha ? await git.peelCommit(gitDir, sha, { fromRef }) : null;
  if (!resolved && mustResolve) throw new ValidationError([{ resource: 'Release', code: 'invalid', field: 'target_commitish' }]);
  return { commitSha: resolved?.sha ?? null, commitDate: resolved?.date ?? null, tagExists: false };
}

async function commitDate(ctx: AppContext, repo: Repository, sha: string): Promise<string> {
  const commit = await git.getCommit(gitDirFor(ctx, repo), sha);
  return commit ? toIsoSeconds(commit.committerDate) : isoSeconds();
}

/**
 * Runs `write` (which inserts or updates the row) in a transaction together with the tag it
 * needs. A tag that does not exist is claimed and created (through the refs door) before the
 * transaction, which then records it with the row: the transaction never waits on git while it
 * holds the database. A tag created here for a transaction that then fails is deleted again. A
 * release published on a tag that exists checks that no other writer is making that tag (its
 * claim), since that writer could still delete it. Either way, another writer's claim on the tag
 * is answered like a published release already on it: `already_exists`.
 */
async function withTag<T>(
  ctx: AppContext,
  access: RepoAccess,
  tag: string,
  placement: Placement,
  publish: boolean,
  reads: WriteReads | undefined,
  write: (trx: AppContext['db'], events: DomainEvent[]) => Promise<T>,
): Promise<T> {
  const ref = `refs/tags/${tag}`;
  const actor: RefActor = { user: access.principal?.user ?? null, via: 'release', reads };
  let claim: TagClaim | null = null;
  let result: T;
  try {
    if (publish && placement.tagExists) claim = await claimExistingTag(ctx, access.repo, ref, actor);
    else if (publish && placement.commitSha) claim = await claimNewTag(ctx, access.repo, ref, placement.commitSha, actor);
    result = await ctx.db.transaction().execute(async (trx) => {
      const events: DomainEvent[] = [];
      const written = await write(trx, events);
      // The claim ends with the row. The events `write` left, then the tag's own (`create`, `push`),
      // are recorded together: one write of events for the transaction.
      if (claim) await claim.record(trx, events);
      else await recordEvents(trx, events);
      return written;
    });
  } catch (err) {
    await claim?.settle(false);
    if (isUniqueViolation(err) || err instanceof TagClaimedError) throw new ValidationError([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
    throw err;
  }
  await claim?.settle(true);
  return result;
}

/**
 * Records `actions` on `release` (with a snapshot of its uploaded assets) in `trx`. `assets`: the
 * release's uploaded assets when the caller already has them all (a release created in this
 * transaction has only those that arrived with it), instead of reading them again.
 */
async function recordReleaseEvents(
  trx: AppContext['db'],
  repo: Repository,
  actorId: number | null,
  release: Release,
  actions: ReleaseAction[],
  changes?: ReleaseChanges,
): Promise<void> {
  if (actions.length === 0) return;
  const assets = (await listAssetsForReleases(trx, [release.id])).get(release.id) ?? [];
  await recordEvents(trx, releaseEvents(repo, actorId, release, assets, actions, changes));
}

/** The events of `actions` on `release`, each with the snapshot `assets` (its uploaded assets, in id order). */
function releaseEvents(repo: Repository, actorId: number | null, release: Release, assets: Asset[], actions: ReleaseAction[], changes?: ReleaseChanges): DomainEvent[] {
  const base = { kind: 'release' as const, repositoryId: repo.id, ownerId: repo.owner_id, actorId, release, assets };
  return actions.map((action) => ({ ...base, action, ...(action === 'edited' && changes ? { changes } : {}) }));
}

/**
 * Applies `make_latest` (or the default for a release just published) in `trx`. The repository's
 * row is read again in the transaction only when the decision depends on it (its rules, its
 * designated latest): designating a release needs only the repository's id.
 */
async function applyLatest(trx: AppContext['db'], repo: Repository, release: Release, makeLatest: MakeLatest | undefined, justPublished: boolean): Promise<void> {
  let row: Repository | undefined;
  const fresh = async () => (row ??= (await findRepositoryById(trx, repo.id)) ?? repo);
  if (makeLatest === undefined && justPublished) {
    // Without a version, or under GitHub's rule, a full release is latest by default: the rules decide only for a versioned one.
    if (isEligibleForLatest(release) && (release.version_key === null || (await latestByDefault(trx, await fresh(), release)))) await designateLatest(trx, repo, release.id);
  } else if (makeLatest === 'true' && isEligibleForLatest(release)) await designateLatest(trx, repo, release.id);
  else if (makeLatest === 'legacy') await recomputeLatest(trx, repo, undefined, true);
  else if (makeLatest === 'false' && (await fresh()).latest_release_id === release.id) await recomputeLatest(trx, await fresh(), release.id);
  else if (!isEligibleForLatest(release) && (await fresh()).latest_release_id === release.id) await recomputeLatest(trx, await fresh(), release.id);
}

// ---- writes -----------------------------------------------------------------------------------

export interface CreateReleaseOptions {
  /** `{web}` of the request, for the links in generated notes. */
  webUrl?: string;
  /** Runs in the transaction that inserts the release (an `Idempotency-Key` is completed there). */
  alsoInTransaction?: (trx: AppContext['db'], release: Release, assets: Asset[]) => Promise<void>;
  /**
   * Assets whose bytes are already in the blob store, verified and held by the caller: recorded
   * `uploaded` in the release's own transaction (with their `release_asset` events), so a
   * release that arrives whole (mirror sync, bundle import) is published with them in one
   * transaction instead of draft, uploads, publish.
   */
  assets?: ArrivingAsset[];
  /** The origin's dates, for a release that comes from elsewhere: kept instead of this instance's. */
  origin?: { createdAt?: string | null; publishedAt?: string | null };
}

/** An asset of a release that arrives whole: its bytes stored under `blobKey`, their sha256 `digest`. */
export type ArrivingAsset = Omit<NewUploadedAsset, 'releaseId' | 'repositoryId' | 'uploaderId' | 'now'>;

/**
 * `createRelease` with the `Idempotency-Key` header as sent (services/idempotency.ts): a retry of
 * the same request with the same key answers the release the first one created (`replayed`).
 */
export async function createReleaseIdempotently(
  ctx: AppContext,
  access: RepoAccess,
  input: unknown,
  idempotencyKey: string | string[] | undefined,
  options: CreateReleaseOptions = {},
): Promise<{ release: Release; replayed: boolean }> {
  requireWrite(access, true);
  const key = parseIdempotencyKey(idempotencyKey);
  if (!key) return { release: await createRelease(ctx, access, input, options), replayed: false };
  const taken = await takeIdempotencyKey(ctx, access.principal!.user.id, key, requestFingerprint('create-release', { repository: access.repo.id, body: input ?? null }));
  if (taken.kind === 'replay') return { release: await getReleaseById(ctx, access, taken.made.release_id!), replayed: true };
  const { claim } = taken;
  try {
    const release = await createRelease(ctx, access, input, { ...options, alsoInTransaction: (trx, made) => claim.complete(trx, { release_id: made.id }) });
    return { release, replayed: false };
  } finally {
    await claim.finish();
  }
}

/** `input`: the request's body, read only once the caller is known to be allowed to create. */
export async function createRelease(ctx: AppContext, access: RepoAccess, input: unknown, options: CreateReleaseOptions = {}): Promise<Release> {
  requireWrite(access, true);
  // Read once for this request's checks and the refs door's, which asks the same before the tag is made.
  const reads = new WriteReads();
  await refuseMirroredWrite(ctx, access, ctx.db, reads);
  const fields = parseReleaseFields(bodyMembers(input), true);
  const tag = fields.tag_name!;
  const draft = fields.draft ?? false;
  const prerelease = fields.prerelease ?? false;
  const target = fields.target_commitish || access.repo.default_branch;
  let name = fields.name ?? null;
  let body = fields.body ?? null;
  // Tools that upload before publishing (release-it, softprops) create the draft with the
  // `make_latest` they mean for publication, and GitHub accepts it: only a prerelease is refused here.
  const errors = [...(await tagErrors(tag, !draft)), ...bodyErrors(body), ...latestErrors(fields.make_latest, false, prerelease)];
  if (errors.length) throw new ValidationError(errors);
  if (!draft) await refuseReservedTag(ctx, access.repo, tag, reads);
  // Published while the setting is on: immutable from the start (a draft decides when published).
  const immutable = !draft && (await immutableStatus(ctx, access.repo, access.owner)).enabled;

  const placement = await place(ctx, access.repo, tag, target, true);
  if (fields.generate_release_notes) {
    // Generated after validation so a rejected request costs no history walk; sized to fit after a given body.
    const generated = await generateReleaseNotes(
      ctx,
      access,
      { tag_name: tag, target_commitish: target, prerelease },
      { webUrl: options.webUrl, maxLength: roomForGeneratedNotes(body) },
    );
    ({ name, body } = mergeGeneratedNotes({ name, body }, generated));
  }
  const now = isoSeconds();
  const arriving = arrivingAssets(options.assets ?? []);
  const createdAt =
    options.origin?.createdAt ??
    (draft || !placement.commitSha ? now : placement.commitDate ? toIsoSeconds(placement.commitDate) : await commitDate(ctx, access.repo, placement.commitSha));
  return withTag(ctx, access, tag, placement, !draft, reads, async (trx, events) => {
    // A published release may become the repository's latest (an update of its row): the row is
    // locked before the release's, whose foreign key would otherwise share-lock it first.
    if (!draft) await lockRepositoryRow(trx, access.repo.id);
    const release = await insertRelease(trx, {
      repository_id: access.repo.id,
      tag_name: tag,
      published_tag: draft ? null : tag,
      target_commitish: target,
      name,
      body,
      draft: draft ? 1 : 0,
      prerelease: prerelease ? 1 : 0,
      immutable: immutable ? 1 : 0,
      ...versionColumns(access.repo, tag, prerelease, fields.channel ?? null),
      author_id: access.principal!.user.id,
      untagged_key: randomBytes(10).toString('hex'),
      created_at: createdAt,
      published_at: draft ? null : (options.origin?.publishedAt ?? now),
      updated_at: now,
    });
    const assets = arriving.length
      ? await insertUploadedAssets(
          trx,
          arriving.map((a) => ({ ...a, releaseId: release.id, repositoryId: access.repo.id, uploaderId: access.principal!.user.id, now })),
        )
      : [];
    if (!draft) await applyLatest(trx, access.repo, release, fields.make_latest, true);
    if (immutable) {
      await reserveTag(trx, access.repo, tag);
      await attestRelease(ctx, trx, access.owner, access.repo, release, placement.commitSha!);
    }
    // GitHub: `created`, and for a release published at once `published` then `released`/`prereleased`;
    // assets arriving with it are `uploaded` in between, as if added to a draft before publishing.
    // Recorded together, in that order, by `withTag` (with the tag's, when it makes one); the new
    // release's assets are exactly those that arrived with it (inserted above, in id order), so
    // they are not read again.
    const actorId = access.principal!.user.id;
    events.push(
      ...releaseEvents(access.repo, actorId, release, assets, ['created']),
      ...assets.map((asset) => ({
        kind: 'release_asset' as const,
        action: 'uploaded' as const,
        repositoryId: access.repo.id,
        ownerId: access.repo.owner_id,
        actorId,
        release,
        asset,
      })),
      ...(draft ? [] : releaseEvents(access.repo, actorId, release, assets, ['published', prerelease ? 'prereleased' : 'released'])),
    );
    await options.alsoInTransaction?.(trx, release, assets);
    return release;
  });
}

/** Arriving assets with their names and labels as an upload would store them; 422 for too many or a name taken twice. */
function arrivingAssets(assets: ArrivingAsset[]): ArrivingAsset[] {
  if (assets.length > MAX_ASSETS_PER_RELEASE) {
    throw new ValidationError([{ resource: 'ReleaseAsset', field: 'file_count', code: 'custom', message: `file_count limited to ${MAX_ASSETS_PER_RELEASE} assets` }]);
  }
  const out = assets.map((a) => ({ ...a, name: validAssetName(a.name), label: a.label === null ? null : sanitizeAssetLabel(a.label) }));
  if (new Set(out.map((a) => a.name)).size !== out.length) throw new ValidationError([{ resource: 'ReleaseAsset', field: 'name', code: 'already_exists' }]);
  return out;
}

export async function updateRelease(ctx: AppContext, access: RepoAccess, id: number, input: unknown): Promise<Release> {
  const release = await getReleaseById(ctx, access, id);
  requireWrite(access, false);
  const reads = new WriteReads();
  await refuseMirroredWrite(ctx, access, ctx.db, reads);
  const fields = parseReleaseFields(bodyMembers(input), false);
  const tag = fields.tag_name ?? release.tag_name;
  const draft = fields.draft ?? release.draft === 1;
  const prerelease = fields.prerelease ?? release.prerelease === 1;
  const target = fields.target_commitish !== undefined ? fields.target_commitish || access.repo.default_branch : release.target_commitish;
  const body = fields.body !== undefined ? fields.body : release.body;
  const publishing = release.draft === 1 && !draft;
  const tagChanged = tag !== release.tag_name;
  const errors = [
    ...(tagChanged || publishing ? await tagErrors(tag, !draft) : []),
    ...(fields.body !== undefined ? bodyErrors(body) : []),
    ...latestErrors(fields.make_latest, draft, prerelease),
  ];
  if (errors.length) throw new ValidationError(errors);
  if (release.immutable === 1 && release.draft === 0) refuseFrozenChanges(tagChanged, target !== release.target_commitish, draft);
  if (!draft && (publishing || tagChanged)) await refuseReservedTag(ctx, access.repo, tag, reads);
  const immutable = release.immutable === 1 || (publishing && (await immutableStatus(ctx, access.repo, access.owner)).enabled);

  const placement = await place(ctx, access.repo, tag, target, !draft && (publishing || tagChanged));
  const now = isoSeconds();
  let createdAt = release.created_at;
  if (!draft && (publishing || tagChanged) && placement.commitSha) createdAt = await commitDate(ctx, access.repo, placement.commitSha);
  return withTag(ctx, access, tag, placement, !draft, reads, async (trx) => {
    // Repository before release, the order every transaction touching both takes them in (a
    // change of release rules, a push deleting tags): the latest release may move below.
    await lockRepositoryRow(trx, access.repo.id);
    // A delete may have won the race since the release was read: then there is nothing to update.
    if (!(await findRelease(trx, access.repo.id, release.id))) throw new NotFoundError();
    const updated = await updateReleaseRow(trx, release.id, {
      tag_name: tag,
      published_tag: draft ? null : tag,
      target_commitish: target,
      name: fields.name !== undefined ? fields.name : release.name,
      body,
      draft: draft ? 1 : 0,
      prerelease: prerelease ? 1 : 0,
      ...versionColumns(access.repo, tag, prerelease, fields.channel !== undefined ? fields.channel : release.channel_override),
      created_at: createdAt,
      published_at: draft ? null : (release.published_at ?? now),
      immutable: immutable ? 1 : 0,
      updated_at: now,
    });
    // On PostgreSQL a delete can still commit between the check above and the update.
    if (!updated) throw new NotFoundError();
    if (immutable) await reserveTag(trx, access.repo, tag);
    // Signed here, in the publish's transaction: a published immutable release always has its attestation.
    if (immutable && publishing) await attestRelease(ctx, trx, access.owner, access.repo, updated, placement.commitSha!);
    await applyLatest(trx, access.repo, updated, fields.make_latest, publishing);
    const changes = releaseChanges(release, updated, fields.make_latest);
    await recordReleaseEvents(trx, access.repo, access.principal!.user.id, updated, releaseUpdateActions(release, updated, changes), changes);
    return updated;
  });
}

/**
 * A published immutable release keeps its tag and stays published; its title, notes, prerelease
 * and latest flags stay editable (GitHub's rule).
 */
function refuseFrozenChanges(tagChanged: boolean, targetChanged: boolean, unpublishing: boolean): void {
  const errors: FieldError[] = [];
  if (tagChanged) errors.push({ resource: 'Release', code: 'custom', field: 'tag_name', message: 'tag_name cannot be changed on an immutable release' });
  if (targetChanged) errors.push({ resource: 'Release', code: 'custom', field: 'target_commitish', message: 'target_commitish cannot be changed on an immutable release' });
  if (unpublishing) errors.push({ resource: 'Release', code: 'custom', field: 'draft', message: 'An immutable release cannot be turned back into a draft' });
  if (errors.length) throw new ValidationError(errors);
}

/** Deletes the release and its assets (their bytes too); the tag stays, as on GitHub. */
export async function deleteRelease(ctx: AppContext, access: RepoAccess, id: number): Promise<void> {
  const release = await getReleaseById(ctx, access, id);
  requireWrite(access, false);
  await refuseMirroredWrite(ctx, access);
  const blobKeys = await ctx.db.transaction().execute(async (trx) => {
    // Repository, release, then its assets: the order every transaction touching them takes
    // (an upload's last step locks release then asset; a change of release rules or a push
    // deleting tags, repository then releases). The latest release may move below.
    await lockRepositoryRow(trx, access.repo.id);
    const current = (await lockRelease(trx, release.id)) ?? release;
    const keys = await releaseBlobKeys(trx, release.id);
    await recordReleaseEvents(trx, access.repo, access.principal!.user.id, current, ['deleted']);
    await deleteReleaseRow(trx, release.id);
    const repo = (await findRepositoryById(trx, access.repo.id))!;
    if (repo.latest_release_id === release.id) await recomputeLatest(trx, repo, release.id);
    return keys;
  });
  await deleteUnreferencedBlobs(ctx, blobKeys);
}

/**
 * Keeps releases consistent with pushed tag deletions: their published releases become drafts
 * (`unpublished`). Runs in the transaction that records the ref changes (`trx`).
 */
export async function onRefsChanged(trx: AppContext['db'], repo: Repository, changes: RefChange[], actorId: number | null): Promise<void> {
  const deletedTags = changes.filter((c) => c.ref.startsWith('refs/tags/') && c.after === null).map((c) => c.ref.slice('refs/tags/'.length));
  if (deletedTags.length === 0) return;
  const affected = await findPublishedWithTags(trx, repo.id, deletedTags);
  const now = isoSeconds();
  for (const release of affected) {
    const updated = await updateReleaseRow(trx, release.id, { draft: 1, published_tag: null, published_at: null, updated_at: now });
    if (updated) await recordReleaseEvents(trx, repo, actorId, updated, ['unpublished']);
  }
  const fresh = (await findRepositoryById(trx, repo.id))!;
  if (affected.some((r) => r.id === fresh.latest_release_id)) await recomputeLatest(trx, fresh);
}
