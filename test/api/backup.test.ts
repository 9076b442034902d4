/**
 * `wharf backup` while Wharf serves writes, `wharf restore` into an empty data directory,
 * `wharf check` on the result, and the restored instance answering as the original did for every
 * release and asset the backup holds. `check --repair` on damage.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseServer } from '../support/database.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, storeEnv, testBlobStore, type TestServer } from '../support/server.ts';
import { runWharf } from '../support/wharf-command.ts';

const external = testDatabaseServer !== null || testBlobStore !== 'fs';

function wharf(env: Record<string, string>, ...args: string[]) {
  return runWharf(args, { env });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What must be the same on both instances: everything but URLs (their host and port differ). */
function essentials(release: any) {
  return {
    id: release.id,
    tag_name: release.tag_name,
    name: release.name,
    body: release.body,
    draft: release.draft,
    prerelease: release.prerelease,
    target_commitish: release.target_commitish,
    published_at: release.published_at,
    assets: release.assets.map((a: any) => ({ id: a.id, name: a.name, size: a.size, digest: a.digest, content_type: a.content_type, state: a.state })),
  };
}

describe.skipIf(external)('backup and restore', { timeout: 300_000 }, () => {
  let server: TestServer;
  let owner: TestUser;
  let repo: { full: string };
  let work: string;

  beforeAll(async () => {
    // The server's own sweeper removes unreferenced blobs older than an upload's lease, on a round
    // every minute: with the default lease it could take the two-hour-old orphan planted below
    // between `check` and `check --repair`. A lease longer than that age leaves it to the CLI.
    server = await startServer({ env: { WHARF_UPLOAD_LEASE_MS: String(3 * 3600_000) } });
    owner = await createUser(server);
    repo = await createRepo(server, owner, { auto_init: true });
    work = await mkdtemp(path.join(tmpdir(), 'wharf-backup-'));
  });
  afterAll(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  async function release(tag: string, assets: number, draft = false): Promise<number> {
    const created = await call('POST', `${server.api}/repos/${repo.full}/releases`, {
      token: owner.token,
      body: { tag_name: tag, name: `Release ${tag}`, body: `notes for ${tag}`, draft },
    });
    expect(created.status).toBe(201);
    for (let i = 0; i < assets; i++) {
      const bytes = new TextEncoder().encode(`${tag} asset ${i} ${'x'.repeat(i * 1000)}`);
      const up = await call('POST', `${server.uploads}/repos/${repo.full}/releases/${created.body.id}/assets?name=a${i}.bin`, {
        token: owner.token,
        raw: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      });
      expect(up.status).toBe(201);
    }
    return created.body.id as number;
  }

  it('copies a consistent instance while writes go on, restores it, and the copy answers the same', async () => {
    for (let i = 0; i < 6; i++) await release(`v1.${i}.0`, 2, i === 5);
    const before = (await call('GET', `${server.api}/repos/${repo.full}/releases?per_page=100`, { token: owner.token })).body.map((r: any) => r.id);

    // Writes during the backup: new releases with assets, and deletions of releases made meanwhile.
    let writing = true;
    let n = 0;
    const deleted = new Set<number>();
    const writer = (async () => {
      while (writing) {
        const id = await release(`v2.${n++}.0`, 1);
        if (n % 2 === 0) {
          expect((await call('DELETE', `${server.api}/repos/${repo.full}/releases/${id}`, { token: owner.token })).status).toBe(204);
          deleted.add(id);
        }
      }
    })();
    const dir = path.join(work, 'backup');
    const env = await storeEnv(server.dataDir);
    const backup = await wharf(env, 'backup', dir);
    writing = false;
    await writer;
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/^backed up 1 repositories, \d+ releases, \d+ assets \(\d+ blobs\) into .* in \d round\(s\)\n$/);
    expect(n).toBeGreaterThan(0);

    // A second backup into a directory that is not empty is refused.
    const again = await wharf(env, 'backup', dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not empty');

    const restoredDir = path.join(work, 'restored');
    const restore = await wharf({ WHARF_DATA_DIR: restoredDir }, 'restore', dir);
    expect(restore.code, restore.stderr + restore.stdout).toBe(0);
    expect(restore.stdout).toContain('no problems');
    const check = await wharf({ WHARF_DATA_DIR: restoredDir }, 'check');
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/^checked 1 repositories, \d+ published releases, \d+ assets/);

    // Restoring over an instance is refused.
    expect((await wharf({ WHARF_DATA_DIR: restoredDir }, 'restore', dir)).code).toBe(1);

    // The instance key is kept apart from backups (it opens the signing keys and webhook
    // secrets the database holds sealed); the operator puts their copy back, as `backup` says.
    expect(backup.stderr).toContain('the instance key');
    await copyFile(path.join(server.dataDir, 'instance.key'), path.join(restoredDir, 'instance.key'));
    const copy = await startServer({ dataDir: restoredDir });
    try {
      // The signing keys came along: the copy publishes the same trusted root.
      const roots = await Promise.all([server.base, copy.base].map(async (base) => (await fetch(`${base}/.well-known/wharf/trusted-root.json`)).json()));
      expect(roots[1]).toEqual(roots[0]);
      const restored = (await call('GET', `${copy.api}/repos/${repo.full}/releases?per_page=100`, { token: owner.token })).body as any[];
      // Everything that existed before the backup began is there.
      expect(restored.map((r) => r.id)).toEqual(expect.arrayContaining(before));
      for (const r of restored) {
        const original = await call('GET', `${server.api}/repos/${repo.full}/releases/${r.id}`, { token: owner.token });
        if (deleted.has(r.id)) {
          expect(original.status).toBe(404);
          continue;
        }
        if (before.includes(r.id)) {
          expect(essentials(r)).toEqual(essentials(original.body));
        } else {
          // Made while the backup ran: the copy holds it as it was at the snapshot, which may fall
          // between the release's creation and its asset's upload — never a half-stored asset.
          const { assets, ...rest } = essentials(r);
          const { assets: originalAssets, ...originalRest } = essentials(original.body);
          expect(rest).toEqual(originalRest);
          expect(originalAssets).toEqual(expect.arrayContaining(assets));
        }
        const tag = await call('GET', `${copy.api}/repos/${repo.full}/git/ref/tags/${r.tag_name}`, { token: owner.token, skipSchema: true });
        if (!r.draft) expect(tag.status).toBe(200);
        for (const asset of r.assets) {
          const download = async (base: string) => {
            const res = await fetch(`${base}/repos/${repo.full}/releases/assets/${asset.id}`, {
              headers: { authorization: `token ${owner.token}`, accept: 'application/octet-stream' },
            });
            expect(res.status).toBe(200);
            return new Uint8Array(await res.arrayBuffer());
          };
          const [a, b] = [await download(copy.api), await download(server.api)];
          expect(sha256(a)).toBe(sha256(b));
          expect(`sha256:${sha256(a)}`).toBe(asset.digest);
        }
      }
      // The instance gets the same answers on the same token: tokens and users came along.
      expect((await call('GET', `${copy.api}/user`, { token: owner.token })).body.login).toBe(owner.login);
    } finally {
      await copy.close();
    }
  });

  it('check reports damage and repairs only what is safe', async () => {
    const id = await release('v3.0.0', 1);
    const asset = (await call('GET', `${server.api}/repos/${repo.full}/releases/${id}`, { token: owner.token })).body.assets[0];
    const key = asset.digest.replace('sha256:', '');
    const blobFile = path.join(server.config.blobDir, key.slice(0, 2), key.slice(2, 4), key);
    await writeFile(blobFile, 'tampered bytes, same file');
    const orphanKey = 'f'.repeat(64);
    const orphan = path.join(server.config.blobDir, 'ff', 'ff', orphanKey);
    await mkdir(path.dirname(orphan), { recursive: true });
    await writeFile(orphan, 'nobody');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(orphan, twoHoursAgo, twoHoursAgo);
    const env = await storeEnv(server.dataDir);

    const found = await wharf(env, 'check');
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(new RegExp(`wrong-size: asset ${asset.id} \\(a0.bin of ${repo.full} v3.0.0\\)`));
    expect(found.stdout).toContain(`orphan-blob: blob ${orphanKey} (6 bytes) (--repair removes it)`);

    const repaired = await wharf(env, 'check', '--repair');
    expect(repaired.stdout).toContain('repaired 1');
    const after = await wharf(env, 'check');
    expect(after.stdout).not.toContain('orphan-blob');
    expect(after.stdout).toContain('wrong-size');
  });
});

describe.skipIf(!external)('backup on PostgreSQL or S3', () => {
  it('explains what the operator copies, and checks the instance', { timeout: 120_000 }, async () => {
    const server = await startServer();
    try {
      const result = await wharf(await storeEnv(server.dataDir), 'backup', path.join(tmpdir(), 'unused-backup-dir'));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/keeps its data outside the data directory; back up/);
      expect(result.stdout).toContain('no problems');
    } finally {
      await server.close();
    }
  });
});
