// An s3rver in a process of its own, so its memory and CPU are not counted as the test's.
// Prints its port on stdout; exits when its parent closes stdin (or dies).
import { unlink } from 'node:fs/promises';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';

// s3rver removes a key's parent directories once they are empty after a delete, which races with
// a concurrent put under the same prefix (the put's directory vanishes between its mkdir and its
// open, and the unhandled ENOENT kills the process). Real S3 has no directories, so deleting
// only the object's files is both closer to S3 and free of that race.
FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map((kind) =>
      unlink(this.getResourcePath(bucket, key, kind)).catch((err) => {
        if (err.code !== 'ENOENT') throw err;
      }),
    ),
  );
};

const directory = process.argv[2];
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const address = await server.run();
process.stdout.write(`${address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
