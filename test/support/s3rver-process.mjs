// An s3rver in a process of its own, so its memory and CPU are not counted as the test's.
// Prints its port on stdout; exits when its parent closes stdin (or dies).
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import S3Object from 's3rver/lib/models/object.js';
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

// S3 replaces an object atomically: a reader sees the old object or the new one, never none.
// s3rver overwrites in place (a copy unlinks the destination first; a put truncates it), so a
// HEAD racing a second write of the same key answered 404, and a metadata read could find a
// half-written file. Every write here goes to a file of its own and is renamed over the old one
// (a name that is never listed: it does not end in s3rver's object suffix).
async function replaceFile(target, write) {
  const partial = `${target}.${randomUUID()}.partial`;
  try {
    await write(partial);
    await rename(partial, target);
  } catch (err) {
    await unlink(partial).catch(() => undefined);
    throw err;
  }
}

FilesystemStore.prototype.putMetadata = async function putMetadata(bucket, key, metadata, md5) {
  const json = {};
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) json[name] = value;
  }
  if (md5) await replaceFile(this.getResourcePath(bucket, key, 'object.md5'), (to) => writeFile(to, md5));
  await replaceFile(this.getResourcePath(bucket, key, 'metadata.json'), (to) => writeFile(to, JSON.stringify(json, null, 2)));
};

FilesystemStore.prototype.putObject = async function putObject(object) {
  const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
  await mkdir(path.dirname(objectPath), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  await replaceFile(objectPath, async (to) => {
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await writeFile(to, object.content);
      return;
    }
    const count = new Transform({
      transform(chunk, encoding, callback) {
        md5.update(chunk, encoding);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(object.content, count, createWriteStream(to));
  });
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

FilesystemStore.prototype.copyObject = async function copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata) {
  const from = (kind) => this.getResourcePath(srcBucket, srcKey, kind);
  const to = (kind) => this.getResourcePath(destBucket, destKey, kind);
  if (from('object') !== to('object')) {
    await mkdir(path.dirname(to('object')), { recursive: true });
    await replaceFile(to('object'), (partial) => copyFile(from('object'), partial));
  }
  if (replacementMetadata) {
    await this.putMetadata(destBucket, destKey, replacementMetadata);
  } else if (from('object') !== to('object')) {
    for (const kind of ['metadata.json', 'object.md5']) {
      await replaceFile(to(kind), (partial) => copyFile(from(kind), partial));
    }
  }
  return this.getMetadata(destBucket, destKey);
};

const directory = process.argv[2];
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const address = await server.run();
process.stdout.write(`${address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
