import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../src/blobs/s3-blob-store.ts';
import { createTestBucket, S3_TEST_CREDENTIALS } from '../support/s3.ts';
import { blobStoreContract } from './blob-store.contract.ts';

blobStoreContract('s3', async () => {
  const bucket = await createTestBucket();
  const store = new S3BlobStore({
    bucket: bucket.bucket,
    region: bucket.region,
    endpoint: bucket.endpoint,
    forcePathStyle: true,
    credentials: S3_TEST_CREDENTIALS,
  });
  return {
    store,
    async leaveTemporary() {
      await store.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: 'tmp/interrupted', Body: 'half a blob' }));
      // Object times have one-second resolution: let the object age past "now".
      await new Promise((r) => setTimeout(r, 1_100));
    },
    async close() {
      store.destroy();
      await bucket.close();
    },
  };
});
