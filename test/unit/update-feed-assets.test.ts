/**
 * Update feeds read small assets (signatures, Squirrel's RELEASES) whole. What they keep in memory
 * is bounded by the bytes the store gives back, not only by the size recorded for the asset: a
 * blob larger than its row says is not read past the limit.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.ts';
import type { Asset } from '../../src/db/schema.ts';
import { MAX_SIGNATURE_BYTES, readAssetText } from '../../src/services/update-feeds.ts';
import { serviceContextForFile } from './support/service-context.ts';

let ctx: AppContext;
serviceContextForFile((made) => (ctx = made));

/** An uploaded asset row over `bytes` as stored, claiming `size`. */
async function assetOver(bytes: Buffer, size = bytes.length): Promise<Asset> {
  const stored = await ctx.blobs.put(Readable.from([bytes]));
  return { state: 'uploaded', blob_key: stored.key, size } as Asset;
}

describe('small assets read by the update feeds', () => {
  it('are read whole and trimmed up to the limit', async () => {
    expect(await readAssetText(ctx, await assetOver(Buffer.from('c2lnbmF0dXJl\n')))).toBe('c2lnbmF0dXJl');
    const atLimit = Buffer.alloc(MAX_SIGNATURE_BYTES, 'a');
    expect(await readAssetText(ctx, await assetOver(atLimit))).toBe(atLimit.toString());
  });

  it('are not read when their recorded size is over the limit', async () => {
    expect(await readAssetText(ctx, await assetOver(Buffer.alloc(MAX_SIGNATURE_BYTES + 1, 'a')))).toBeNull();
    expect(await readAssetText(ctx, await assetOver(Buffer.alloc(100, 'a')), 99)).toBeNull();
  });

  it('stop at the limit when the store holds more than the recorded size', async () => {
    const big = await assetOver(Buffer.alloc(4 * 1024 * 1024, 'a'), 10);
    expect(await readAssetText(ctx, big)).toBeNull();
  });

  it('stop reading a stream that goes on past the limit', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024, 'a'));
      },
    });
    const blobs = { get: async () => endless } as unknown as AppContext['blobs'];
    expect(await readAssetText({ blobs }, { state: 'uploaded', blob_key: 'k', size: 10 } as Asset)).toBeNull();
    expect(pulled).toBeLessThan(64);
    expect(endless.destroyed).toBe(true);
  });
});
