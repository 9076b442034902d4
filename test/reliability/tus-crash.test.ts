/**
 * A resumable upload survives the server being killed (SIGKILL) mid-upload: another Wharf
 * process on the same data — on PostgreSQL + S3, another node — reports the last durable offset
 * and continues the upload to the right digest. tus-js-client is the client.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import * as tus from 'tus-js-client';
import { call } from '../support/http.ts';
import { ADMIN_TOKEN, releaseStores, storeEnv } from '../support/server.ts';
import { freePort, startServerProcess, type ServerProcess } from './support/server-process.ts';

const SIZE = 64 * 1024 * 1024;
const CHUNK = 8 * 1024 * 1024;

it('continues an upload on another process after the first was killed mid-upload', { timeout: 180_000 }, async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-tus-crash-'));
  const env = await storeEnv(dataDir);
  const processes: ServerProcess[] = [];
  try {
    const first = await startServerProcess(dataDir, await freePort(), env);
    processes.push(first);
    expect((await call('POST', `${first.api}/user/repos`, { token: ADMIN_TOKEN, body: { name: 'tus', auto_init: true } })).status).toBe(201);
    const release = await call('POST', `${first.api}/repos/admin/tus/releases`, { token: ADMIN_TOKEN, body: { tag_name: 'v1', draft: true } });
    expect(release.status).toBe(201);
    const data = randomBytes(SIZE);

    // Upload in 8 MiB requests until a few are recorded, then kill the server mid-request.
    const started: { upload?: tus.Upload } = {};
    let recorded = 0;
    const killed = new Promise<void>((resolve, reject) => {
      started.upload = new tus.Upload(data, {
        endpoint: `${first.uploads}/repos/admin/tus/releases/${release.body.id}/assets/resumable`,
        chunkSize: CHUNK,
        retryDelays: null,
        storeFingerprintForResuming: false,
        headers: { authorization: `token ${ADMIN_TOKEN}` },
        metadata: { name: 'big.bin' },
        onChunkComplete: (_chunk, accepted) => {
          recorded = accepted;
        },
        onProgress: (sent) => {
          if (sent >= recorded + CHUNK / 2 && recorded >= 3 * CHUNK && first.child.exitCode === null) void first.kill9().then(resolve);
        },
        onError: () => undefined,
        onSuccess: () => reject(new Error('finished before the kill')),
      });
      started.upload.start();
    });
    await killed;
    const u = started.upload!;
    await u.abort();
    const location = u.url!;
    expect(location).toMatch(/\/assets\/resumable\/[0-9a-f]{32}$/);

    const second = await startServerProcess(dataDir, await freePort(), env);
    processes.push(second);
    const elsewhere = location.replace(first.base, second.base);
    const state = await fetch(elsewhere, { method: 'HEAD', headers: { authorization: `token ${ADMIN_TOKEN}`, 'tus-resumable': '1.0.0' } });
    expect(state.status).toBe(200);
    const durable = Number(state.headers.get('upload-offset'));
    // Every acknowledged request survived; the one cut by the kill is not acknowledged.
    expect(durable).toBeGreaterThanOrEqual(recorded);
    expect(durable).toBeLessThan(SIZE);

    const result = await new Promise<Error | null>((resolve) => {
      const resumed = new tus.Upload(data, {
        endpoint: `${second.uploads}/repos/admin/tus/releases/${release.body.id}/assets/resumable`,
        uploadUrl: elsewhere,
        chunkSize: CHUNK,
        // The killed process held the upload's lock: 423 until it runs out (10 s).
        retryDelays: [200, 500, 1000, 2000, 3000, 3000, 3000, 3000],
        storeFingerprintForResuming: false,
        headers: { authorization: `token ${ADMIN_TOKEN}` },
        metadata: { name: 'big.bin' },
        onError: (err) => resolve(err),
        onSuccess: () => resolve(null),
      });
      resumed.start();
    });
    expect(result).toBeNull();
    const assets = await call('GET', `${second.api}/repos/admin/tus/releases/${release.body.id}/assets`, { token: ADMIN_TOKEN });
    expect(assets.body).toEqual([expect.objectContaining({ name: 'big.bin', state: 'uploaded', size: SIZE, digest: `sha256:${createHash('sha256').update(data).digest('hex')}` })]);
  } finally {
    for (const p of processes) await p.kill9();
    await releaseStores(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
});
