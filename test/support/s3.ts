/**
 * An S3-compatible server for tests. `WHARF_TEST_S3_ENDPOINT` names one that is already running
 * (MinIO, a shared s3rver); otherwise an s3rver process is started on a loopback port for this
 * test file.
 * Each caller gets a bucket of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** s3rver's fixed account. */
export const S3_TEST_CREDENTIALS = {
  accessKeyId: process.env.WHARF_TEST_S3_ACCESS_KEY_ID ?? 'S3RVER',
  secretAccessKey: process.env.WHARF_TEST_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
};

export interface TestBucket {
  endpoint: string;
  bucket: string;
  region: string;
  /** The WHARF_* variables that select this bucket. */
  env: Record<string, string>;
  close(): Promise<void>;
}

let shared: { endpoint: string; stop(): Promise<void> } | null = null;
let users = 0;

async function startS3rver(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'wharf-s3-'));
  const child = spawn(process.execPath, [fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url)), directory], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      child.stdin.end();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function createTestBucket(): Promise<TestBucket> {
  let endpoint = process.env.WHARF_TEST_S3_ENDPOINT;
  if (!endpoint) {
    shared ??= await startS3rver();
    endpoint = shared.endpoint;
  }
  users += 1;
  const bucket = `wharf-t-${randomBytes(6).toString('hex')}`;
  const region = 'us-east-1';
  const client = new S3Client({ region, endpoint, forcePathStyle: true, credentials: S3_TEST_CREDENTIALS });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return {
    endpoint,
    bucket,
    region,
    env: {
      WHARF_BLOB_STORE: 's3',
      WHARF_S3_BUCKET: bucket,
      WHARF_S3_REGION: region,
      WHARF_S3_ENDPOINT: endpoint,
      WHARF_S3_FORCE_PATH_STYLE: 'true',
    },
    async close() {
      users -= 1;
      if (users === 0 && shared) {
        const stopping = shared;
        shared = null;
        await stopping.stop();
      }
    },
  };
}
