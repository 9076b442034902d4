/**
 * Release rules, called on the services directly (no HTTP): tags, drafts, permissions and the
 * choice of the latest release. The HTTP suites check the wire format; these check the rules.
 */
import { describe, expect, it } from 'vitest';
import { gitDirFor, type AppContext } from '../../src/context.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../../src/domain/errors.ts';
import * as git from '../../src/git/git.ts';
import { compareVersions } from '../../src/services/latest-release.ts';
import { createRelease, deleteRelease, getLatestRelease, getReleaseById, getReleaseByTag, listReleases, updateRelease } from '../../src/services/releases.ts';
import { getRepoAccess, type RepoAccess } from '../../src/services/repositories.ts';
import { serviceContextForFile, grant, repositoryOf, userWithToken } from './support/service-context.ts';

let ctx: AppContext;
serviceContextForFile((made) => (ctx = made));

const page = { page: 1, perPage: 100, offset: 0 };

/** The latest release as a new request sees it (a RepoAccess holds one request's repository row). */
async function latest(access: RepoAccess) {
  return getLatestRelease(ctx, await getRepoAccess(ctx, access.principal, access.owner.login, access.repo.name));
}

async function validationCodes(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).errors.map((e) => `${e.field}:${e.code}`);
}

describe('tags', () => {
  it('publishing creates a lightweight tag at the target; a second published release for it is refused, a draft is not', async () => {
    const owner = await userWithToken(ctx);
    const access = await repositoryOf(ctx, owner);
    const head = await git.resolveCommit(gitDirFor(ctx, access.repo), access.repo.default_branch);
    const release = await createRelease(ctx, access, { tag_name: 'v1.0.0' });
    expect(release.draft).toBe(0);
    expect(await git.resolveCommit(gitDirFor(ctx, access.repo), 'refs/tags/v1.0.0')).toBe(head);

    expect(await validationCodes(createRelease(ctx, access, { tag_name: 'v1.0.0' }))).toEqual(['tag_name:already_exists']);
    const draft = await createRelease(ctx, access, { tag_name: 'v1.0.0', draft: true });
    expect(draft.draft).toBe(1);
    // The by-tag lookup returns the published release, never the draft.
    expect((await getReleaseByTag(ctx, access, 'v1.0.0')).id).toBe(release.id);
  });

  it('a draft for a tag that does not exist makes no tag until it is published', async () => {
    const owner = await userWithToken(ctx);
    const access = await repositoryOf(ctx, owner);
    const draft = await createRelease(ctx, access, { tag_name: 'v2.0.0', draft: true });
    const gitDir = gitDirFor(ctx, access.repo);
    expect(await git.resolveCommit(gitDir, 'refs/tags/v2.0.0')).toBeNull();
    await updateRelease(ctx, access, draft.id, { draft: false });
    expect(await git.resolveCommit(gitDir, 'refs/tags/v2.0.0')).not.toBeNull();
  });

  it('refuses tag names git cannot store, and a target that names no commit', async () => {
    const owner = await userWithToken(ctx);
    const access = await repositoryOf(ctx, owner);
    expect((await validationCodes(createRelease(ctx, access, { tag_name: 'bad..name' }))).some((code) => code.startsWith('tag_name:'))).toBe(true);
    await expect(createRelease(ctx, access, { tag_name: 'v9', target_commitish: 'no-such-branch' })).rejects.toBeInstanceOf(ValidationError);
    expect((await listReleases(ctx, access, page)).total).toBe(0);
  });
});

describe('permissions and drafts', () => {
  it('anonymous callers and strangers do not see a private repository at all', async () => {
    const owner = await userWithToken(ctx);
    const access = await repositoryOf(ctx, owner, { private: true });
    const stranger = await userWithToken(ctx);
    await expect(getRepoAccess(ctx, null, owner.user.login, access.repo.name)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getRepoAccess(ctx, stranger.principal, owner.user.login, access.repo.name)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('readers see published releases but not drafts, and may not write; push collaborators may', async () => {
    const owner = await userWithToken(ctx);
    const access = await repositoryOf(ctx, owner);
    const published = await createRelease(ctx, access, { tag_name: 'v1' });
    const draft = await createRelease(ctx, access, { tag_name: 'v2', draft: true });

    const reader = await userWithToken(ctx);
    const asReader = await getRepoAccess(ctx, reader.principal, owner.user.login, access.repo.name);
    expect((await getReleaseById(ctx, asReader, published.id)).id).toBe(published.id);
    await expect(getReleaseById(ctx, asReader, draft.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await listReleases(ctx, asReader, page)).releases.map((r) => r.id)).toEqual([published.id]);
    // GitHub's answer to a create without push access is a 422 naming author_id.
    expect(await validationCodes(createRelease(ctx, asReader, { tag_name: 'v3' }))).toEqual(['author_id:custom']);
    await expect(deleteRelease(ctx, asReader, published.id)).rejects.toBeInstanceOf(ForbiddenError);

    const anonymous = await getRepoAccess(ctx, null, owner.user.login, access.repo.name);
    await expect(getReleaseById(ctx, anonymous, draft.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(createRelease(ctx, anonymous, { tag_name: 'v3' })).rejects.toBeInstanceOf(UnauthorizedError);

    await grant(ctx, access, reader.user, 'push');
    const asPusher = await getRepoAccess(ctx, reader.principal, owner.user.login, access.repo.name);
    expect((await getReleaseById(ctx, asPusher, draft.id)).id).toBe(draft.id);
    expect((await createRelease(ctx, asPusher, { tag_name: 'v3' })).tag_name).toBe('v3');
  });
});

describe('latest release', () => {
  it('orders version-like tags numerically', () => {
    expect(compareVersions('v1.10.0', 'v1.9.0')).toBeGreaterThan(0);
    expect(compareVersions('v2', 'v2.0.0')).toBe(0);
    expect(compareVersions('release-3', 'v10')).toBeLessThan(0);
  });

  it('among releases of one commit, the highest version wins; prereleases and drafts never do', async () => {
    const owner = await userWithToken(ctx);
    const access = await repositoryOf(ctx, owner);
    await expect(latest(access)).rejects.toBeInstanceOf(NotFoundError);
    await createRelease(ctx, access, { tag_name: 'v1.9.0', make_latest: 'legacy' });
    const v110 = await createRelease(ctx, access, { tag_name: 'v1.10.0', make_latest: 'legacy' });
    await createRelease(ctx, access, { tag_name: 'v1.2.0', make_latest: 'legacy' });
    await createRelease(ctx, access, { tag_name: 'v2.0.0-rc1', prerelease: true });
    await createRelease(ctx, access, { tag_name: 'v3.0.0', draft: true });
    expect((await latest(access)).id).toBe(v110.id);
  });

  it('make_latest designates a release, "false" leaves the choice alone, and deleting the designated one falls back', async () => {
    const owner = await userWithToken(ctx);
    const access: RepoAccess = await repositoryOf(ctx, owner);
    const v1 = await createRelease(ctx, access, { tag_name: 'v1.0.0' });
    expect((await latest(access)).id).toBe(v1.id);
    await createRelease(ctx, access, { tag_name: 'v5.0.0', make_latest: 'false' });
    expect((await latest(access)).id).toBe(v1.id);
    const old = await createRelease(ctx, access, { tag_name: 'v0.1.0', make_latest: 'true' });
    expect((await latest(access)).id).toBe(old.id);
    await deleteRelease(ctx, access, old.id);
    // Back to the legacy rule: same commit date, so the highest version.
    expect((await latest(access)).tag_name).toBe('v5.0.0');
    // A prerelease cannot be made latest.
    await expect(createRelease(ctx, access, { tag_name: 'v6.0.0', prerelease: true, make_latest: 'true' })).rejects.toBeInstanceOf(ValidationError);
  });
});
