/**
 * Asset rules on the services directly (no HTTP): GitHub's name rewriting, the one-name-per-
 * release rule, the size limit, and who may upload.
 */
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { sanitizeAssetName } from '../../src/services/asset-names.ts';
import { deleteAsset, getDownloadableAssetByTag, listAssets, uploadAsset, type UploadRequest } from '../../src/services/assets.ts';
import { createRelease } from '../../src/services/releases.ts';
import { getRepoAccess, type RepoAccess } from '../../src/services/repositories.ts';
import { serviceContextForFile, repositoryOf, userWithToken } from './support/service-context.ts';

let ctx: AppContext;
serviceContextForFile((made) => (ctx = made));

function upload(releaseId: number, name: string, bytes = Buffer.from('payload')): UploadRequest {
  return {
    releaseId,
    name,
    label: null,
    contentType: 'application/octet-stream',
    size: bytes.length,
    body: Readable.from([bytes]),
    signal: new AbortController().signal,
    received: () => bytes.length,
  };
}

describe('asset names', () => {
  it.each([
    ['wharf-1.0.0-linux-amd64.tar.gz', 'wharf-1.0.0-linux-amd64.tar.gz'],
    ['my file (1).zip', 'my.file.1.zip'],
    ['.env', 'default.env'],
    ['Ünïcödé.txt', 'Unicode.txt'],
    ['straße.bin', 'strasse.bin'],
    ['..a..b..', 'default.a.b'],
    ['???', 'default'],
    ['a b', 'a.b'],
    ['über', 'default.uber'],
    ['c++@v1', 'c++@v1'],
  ])('%j is stored as %j', (given, stored) => {
    expect(sanitizeAssetName(given)).toBe(stored);
  });
});

describe('uploads', () => {
  let access: RepoAccess;
  let releaseId: number;
  beforeAll(async () => {
    const owner = await userWithToken(ctx);
    access = await repositoryOf(ctx, owner);
    releaseId = (await createRelease(ctx, access, { tag_name: 'v1.0.0' })).id;
  });

  it('stores the bytes under the rewritten name, and refuses a second asset of that name', async () => {
    const { asset } = await uploadAsset(ctx, access, upload(releaseId, 'my tool.tar.gz'));
    expect(asset.name).toBe('my.tool.tar.gz');
    expect(asset.state).toBe('uploaded');
    expect((await getDownloadableAssetByTag(ctx, access, 'v1.0.0', 'my.tool.tar.gz')).asset.id).toBe(asset.id);

    const err = await uploadAsset(ctx, access, upload(releaseId, 'my.tool.tar.gz')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([expect.objectContaining({ field: 'name', code: 'already_exists' })]);
    expect((await listAssets(ctx, access, releaseId, 0, 100)).total).toBe(1);

    // Deleting frees the name.
    await deleteAsset(ctx, access, asset.id);
    expect((await uploadAsset(ctx, access, upload(releaseId, 'my tool.tar.gz'))).asset.name).toBe('my.tool.tar.gz');
  });

  it('refuses a declared size over the limit before reading the body', async () => {
    const request = { ...upload(releaseId, 'huge.bin'), size: ctx.config.maxAssetSize + 1 };
    const err = await uploadAsset(ctx, access, request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).errors).toEqual([expect.objectContaining({ field: 'size', code: 'custom' })]);
    expect((await listAssets(ctx, access, releaseId, 0, 100)).assets.map((a) => a.name)).not.toContain('huge.bin');
  });

  it('lets readers download but not upload, and hides a draft and its assets from them', async () => {
    const reader = await userWithToken(ctx);
    const asReader = await getRepoAccess(ctx, reader.principal, access.owner.login, access.repo.name);
    await expect(uploadAsset(ctx, asReader, upload(releaseId, 'x.bin'))).rejects.toBeInstanceOf(ForbiddenError);
    const draft = await createRelease(ctx, access, { tag_name: 'v2.0.0', draft: true });
    await uploadAsset(ctx, access, upload(draft.id, 'draft.bin'));
    await expect(listAssets(ctx, asReader, draft.id, 0, 100)).rejects.toBeInstanceOf(NotFoundError);
    await expect(uploadAsset(ctx, asReader, upload(draft.id, 'y.bin'))).rejects.toBeInstanceOf(NotFoundError);
  });
});
