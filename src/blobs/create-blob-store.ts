/**
 * @module blobs/create-blob-store
 * The only reader of the blob-store setting.
 */
import type { WharfConfig } from '../config/config.ts';
import type { BlobStore } from './blob-store.ts';
import { FsBlobStore } from './fs-blob-store.ts';
import { S3BlobStore } from './s3-blob-store.ts';

export function createBlobStore(config: WharfConfig): BlobStore {
  switch (config.blobStore) {
    case 'fs':
      return new FsBlobStore(config.blobDir);
    case 's3': {
      if (!config.s3) throw new Error('WHARF_BLOB_STORE=s3 without S3 settings');
      return new S3BlobStore(config.s3);
    }
  }
}
