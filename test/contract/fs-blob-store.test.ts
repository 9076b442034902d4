import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FsBlobStore } from '../../src/blobs/fs-blob-store.ts';
import { blobStoreContract } from './blob-store.contract.ts';

blobStoreContract('fs', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'wharf-blobs-'));
  return {
    store: new FsBlobStore(root),
    async leaveTemporary() {
      await mkdir(path.join(root, 'tmp'), { recursive: true });
      const file = path.join(root, 'tmp', 'interrupted.part');
      await writeFile(file, 'half a blob');
      const past = new Date(Date.now() - 10_000);
      await utimes(file, past, past);
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});
