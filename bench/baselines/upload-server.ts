/**
 * The upload baseline: a bare Node `http` server that does what any durable upload must do and
 * nothing else. It streams the body into a file while hashing it with sha256, fsyncs the file,
 * renames it to its hash and fsyncs the directory (the same durability Wharf's blob store
 * promises), then answers 201. Prints `{"port": N}` once listening.
 *
 *   node --import tsx bench/baselines/upload-server.ts <directory>
 */
import { createHash, randomUUID } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2];
if (!dir) throw new Error('usage: upload-server.ts <directory>');

async function fsync(file: string): Promise<void> {
  const handle = await open(file, 'r');
  await handle.sync();
  await handle.close();
}

const server = createServer((req, res) => {
  const tmp = path.join(dir, `${randomUUID()}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      hash.update(chunk);
      done(null, chunk);
    },
  });
  (async () => {
    const handle = await open(tmp, 'wx');
    await pipeline(req, meter, handle.createWriteStream());
    await fsync(tmp);
    const key = hash.digest('hex');
    await rename(tmp, path.join(dir, key));
    await fsync(dir);
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ size, sha256: key }));
  })().catch((err: Error) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(err.message);
  });
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
