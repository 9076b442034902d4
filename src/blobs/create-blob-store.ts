/**
 * @module blobs/create-blob-store
 * The only reader of the blob-store setting. The S3 store (and with it the AWS SDK, about 24 MiB
 * of memory) is loaded only when it is chosen.
 */
import type { WharfConfig } from '../config/config.ts';
import type { BlobStore } from './blob-store.ts';
import { FsBlobStore } from './fs-blob-store.ts';

export async function createBlobStore(config: WharfConfig): Promise<BlobStore> {
  switch (config.blobStore) {
    case 'fs':
      return new FsBlobStore(config.blobDir, { fileMode: config.sendfileHeader ? 0o640 : 0o600 });
    case 's3': {
      if (!config.s3) throw new Error('WHARF_BLOB_STORE=s3 without S3 settings');
      const { S3BlobStore } = await import('./s3-blob-store.ts');
      return new S3BlobStore(config.s3);
    }
  }
}
