/**
 * @module blobs/create-blob-store
 * The only reader of the blob-store setting.
 */
import type { WharfConfig } from '../config/config.ts';
import type { BlobStore } from './blob-store.ts';
import { FsBlobStore } from './fs-blob-store.ts';

export function createBlobStore(config: WharfConfig): BlobStore {
  switch (config.blobStore) {
    case 'fs':
      return new FsBlobStore(config.blobDir);
  }
}
