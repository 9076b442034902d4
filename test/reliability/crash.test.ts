/**
 * Crash safety: a real Wharf process serving concurrent release creations, uploads (small and
 * large), renames and deletes is killed with SIGKILL at random moments and restarted on the same
 * data directory, again and again. After every restart:
 * - every upload that got a 201 is there, its bytes matching the digest it was acknowledged with
 *   (unless a delete of it, or of its release, was acknowledged or was in flight);
 * - nothing is visible as `uploaded` that no request finished sending: an asset seen as uploaded
 *   without an acknowledgement must be an upload that was in flight at the kill, complete;
 * - the database passes `PRAGMA integrity_check` (SQLite; PostgreSQL keeps its own WAL and is
 *   only read back); the server serves normally.
 * On PostgreSQL + S3 (`npm run test:pg`) every process runs on the same database and bucket.
 * Every few rounds, and at the end, the sweeper runs and no orphan bytes or temporary files remain.
 *
 * `WHARF_SOAK=1` runs 100 rounds instead of 20.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { sweepAssets } from '../../src/services/asset-sweeper.ts';
import { testDatabaseServer } from '../support/database.ts';
import { ADMIN_TOKEN, releaseStores, startServer, storeEnv, testBlobStore } from '../support/server.ts';
import { recordFigure } from './support/figures.ts';
import { freePort, startServerProcess, type ServerProcess } from './support/server-process.ts';
import { rowsAround, sqliteIntegrity } from './support/rows-around.ts';

const ROUNDS = process.env.WHARF_SOAK ? 100 : 20;
const auth = { authorization: `token ${ADMIN_TOKEN}` };

interface Sent {
  name: string;
  digest: string;
  size: number;
}
interface Known {
  id: number;
  releaseId: number;
  digest: string;
  names: Set<string>;
}

/** What clients were told, and what was still in flight when the process died. */
class Ledger {
  acked = new Map<number, Known>();
  deletedAssets = new Set<number>();
  deletedReleases = new Set<number>();
  releases: number[] = [];
  maybeDeletedAssets = new Set<number>();
  maybeDeletedReleases = new Set<number>();
  inflightUploads = new Map<number, Sent[]>();
  uploadsAcked = 0;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

async function json(res: Response): Promise<any> {
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

async function workload(srv: ServerProcess, repo: string, ledger: Ledger, stop: { now: boolean }): Promise<void> {
  const api = `${srv.api}/repos/admin/${repo}`;
  const step = async () => {
    const roll = Math.random();
    const live = [...ledger.acked.values()].filter((a) => !ledger.deletedAssets.has(a.id) && !ledger.deletedReleases.has(a.releaseId));
    const releases = ledger.releases.filter((r) => !ledger.deletedReleases.has(r));
    if (roll < 0.12 || releases.length === 0) {
      const res = await fetch(`${api}/releases`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ tag_name: `c${Date.now()}-${randomBytes(3).toString('hex')}`, draft: Math.random() < 0.5 }),
      });
      if (res.status === 201) ledger.releases.push((await json(res)).id);
    } else if (roll < 0.7) {
      const releaseId = pick(releases)!;
      const large = Math.random() < 0.1;
      const bytes = randomBytes(large ? 1_000_000 + Math.floor(Math.random() * 3_000_000) : 1 + Math.floor(Math.random() * 64_000));
      const sent: Sent = { name: `f-${randomBytes(5).toString('hex')}.bin`, digest: sha256(bytes), size: bytes.length };
      const inflight = ledger.inflightUploads.get(releaseId) ?? [];
      inflight.push(sent);
      ledger.inflightUploads.set(releaseId, inflight);
      const res = await fetch(`${srv.uploads}/repos/admin/${repo}/releases/${releaseId}/assets?name=${sent.name}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
        body: bytes,
      });
      const body = await json(res);
      inflight.splice(inflight.indexOf(sent), 1);
      if (res.status === 201) {
        expect(body.digest).toBe(`sha256:${sent.digest}`);
        expect(body.state).toBe('uploaded');
        ledger.acked.set(body.id, { id: body.id, releaseId, digest: sent.digest, names: new Set([sent.name]) });
        ledger.uploadsAcked++;
      }
    } else if (roll < 0.82 && live.length) {
      const asset = pick(live)!;
      const name = `r-${randomBytes(5).toString('hex')}.bin`;
      // Until the next verification any name asked for may be the one that survives: two
      // workers may rename one asset at once, and their answers need not arrive in the order the
      // database applied them (a kill can also swallow an answer whose rename was applied).
      asset.names.add(name);
      const res = await fetch(`${api}/releases/assets/${asset.id}`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      await res.arrayBuffer();
    } else if (roll < 0.95 && live.length) {
      const asset = pick(live)!;
      ledger.maybeDeletedAssets.add(asset.id);
      const res = await fetch(`${api}/releases/assets/${asset.id}`, { method: 'DELETE', headers: auth });
      // 404: another worker's delete (of it or its release) got there first, perhaps one whose
      // answer the kill swallowed. Either way it is gone, and ids are never reused.
      if (res.status === 204 || res.status === 404) ledger.deletedAssets.add(asset.id);
      ledger.maybeDeletedAssets.delete(asset.id);
      await res.arrayBuffer();
    } else if (releases.length > 1) {
      const releaseId = pick(releases)!;
      ledger.maybeDeletedReleases.add(releaseId);
      const res = await fetch(`${api}/releases/${releaseId}`, { method: 'DELETE', headers: auth });
      if (res.status === 204 || res.status === 404) ledger.deletedReleases.add(releaseId);
      ledger.maybeDeletedReleases.delete(releaseId);
      await res.arrayBuffer();
    }
  };
  const worker = async () => {
    while (!stop.now) {
      try {
        await step();
      } catch (err) {
        // Requests cut off by the kill fail; anything else is a real failure.
        if (!stop.now) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

type UploadedRow = { id: number; release_id: number; name: string; digest: string; size: number };
const UPLOADED_ROWS = "select id, release_id, name, digest, size from assets where state = 'uploaded'";

/** The rows the database holds as uploaded, read around Wharf; on SQLite after an integrity check. */
async function readUploadedRows(dataDir: string): Promise<UploadedRow[]> {
  if (!testDatabaseServer) expect(sqliteIntegrity(dataDir)).toBe('ok');
  // PostgreSQL answers its bigint columns as strings.
  return (await rowsAround<UploadedRow>(dataDir, UPLOADED_ROWS)).map((r) => ({ ...r, id: Number(r.id), release_id: Number(r.release_id), size: Number(r.size) }));
}

async function verify(srv: ServerProcess, repo: string, ledger: Ledger, dataDir: string): Promise<void> {
  const api = `${srv.api}/repos/admin/${repo}`;
  const uploadedRows = await readUploadedRows(dataDir);
  // Every acknowledged upload is there, byte for byte, unless its deletion was (maybe) acknowledged.
  for (const known of ledger.acked.values()) {
    const gone = ledger.deletedAssets.has(known.id) || ledger.deletedReleases.has(known.releaseId);
    const maybeGone = ledger.maybeDeletedAssets.has(known.id) || ledger.maybeDeletedReleases.has(known.releaseId);
    const meta = await fetch(`${api}/releases/assets/${known.id}`, { headers: auth });
    const body = await json(meta);
    if (gone) {
      expect(meta.status).toBe(404);
      continue;
    }
    if (maybeGone && meta.status === 404) {
      ledger.deletedAssets.add(known.id);
      continue;
    }
    expect(meta.status, `acknowledged asset ${known.id} lost`).toBe(200);
    expect(body.state).toBe('uploaded');
    expect(known.names.has(body.name), `name ${body.name} of asset ${known.id}`).toBe(true);
    known.names = new Set([body.name]);
    const bytes = Buffer.from(await (await fetch(`${api}/releases/assets/${known.id}`, { headers: { ...auth, accept: 'application/octet-stream' } })).arrayBuffer());
    expect(sha256(bytes), `bytes of asset ${known.id}`).toBe(known.digest);
  }
  // Whatever is uploaded but unacknowledged was in flight at the kill, and is complete.
  for (const row of uploadedRows) {
    if (ledger.acked.has(row.id)) continue;
    const candidates = ledger.inflightUploads.get(row.release_id) ?? [];
    const match = candidates.find((c) => c.name === row.name);
    expect(match, `asset ${row.id} (${row.name}) uploaded without any request sending it`).toBeDefined();
    expect(row.digest).toBe(match!.digest);
    expect(row.size).toBe(match!.size);
    ledger.acked.set(row.id, { id: row.id, releaseId: row.release_id, digest: row.digest, names: new Set([row.name]) });
  }
  ledger.inflightUploads.clear();
  for (const id of ledger.maybeDeletedReleases) {
    const res = await fetch(`${api}/releases/${id}`, { headers: auth });
    await res.arrayBuffer();
    if (res.status === 404) ledger.deletedReleases.add(id);
  }
  ledger.maybeDeletedReleases.clear();
  ledger.maybeDeletedAssets.clear();
  // And it serves normally: a fresh upload round-trips.
  const releaseId = ledger.releases.find((r) => !ledger.deletedReleases.has(r));
  if (releaseId) {
    const bytes = randomBytes(1000);
    const up = await fetch(`${srv.uploads}/repos/admin/${repo}/releases/${releaseId}/assets?name=check-${randomBytes(4).toString('hex')}.bin`, {
      method: 'POST',
      headers: { ...auth, 'content-length': '1000', 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(up.status).toBe(201);
    const body = await json(up);
    ledger.acked.set(body.id, { id: body.id, releaseId, digest: sha256(bytes), names: new Set([body.name]) });
  }
}

/** Runs the sweeper as if its leases had all run out; then every stored blob is referenced. */
async function sweepAndCheckOrphans(dataDir: string): Promise<void> {
  const server = await startServer({ dataDir });
  try {
    const ctx = server.wharf.ctx;
    await sweepAssets(ctx, { now: Date.now() + 10 * 60_000, orphans: true });
    expect(await ctx.db.selectFrom('assets').select('id').where('state', '!=', 'uploaded').execute()).toEqual([]);
    const referenced = new Set((await ctx.db.selectFrom('assets').select('blob_key').execute()).map((r) => r.blob_key));
    const orphans: string[] = [];
    for await (const blob of ctx.blobs.list()) if (!referenced.has(blob.key)) orphans.push(blob.key);
    expect(orphans).toEqual([]);
    // Files: no temporary file survives the sweep. (S3 keeps a dead node's unfinished multipart
    // uploads for an hour, as a live slow upload may still be sending; see s3-blob-store.ts.)
    const tmp = path.join(dataDir, 'blobs', 'tmp');
    if (testBlobStore === 'fs' && existsSync(tmp)) expect(await readdir(tmp)).toEqual([]);
  } finally {
    await server.close();
  }
}

it(
  `survives ${ROUNDS} kill -9s under concurrent load with nothing lost and nothing half-done`,
  async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-crash-'));
    const port = await freePort();
    const ledger = new Ledger();
    const repo = 'crashy';
    // The database and bucket (PostgreSQL + S3 runs) that every process on this data directory uses.
    const stores = await storeEnv(dataDir);
    let srv = await startServerProcess(dataDir, port, stores);
    try {
      const created = await fetch(`${srv.api}/user/repos`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: repo, auto_init: true }),
      });
      expect(created.status).toBe(201);
      let kills = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const stop = { now: false };
        const load = workload(srv, repo, ledger, stop);
        // Each round kills mid-traffic, but only once traffic is flowing: at least one upload of
        // this round acknowledged (a slow machine or store may need seconds for the first one),
        // then a random moment later.
        const ackedBefore = ledger.uploadsAcked;
        const deadline = Date.now() + 15_000;
        while (ledger.uploadsAcked === ackedBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, Math.random() * 900));
        stop.now = true;
        await srv.kill9();
        kills++;
        await load;
        if (round % 10 === 9) await sweepAndCheckOrphans(dataDir);
        srv = await startServerProcess(dataDir, port, stores);
        await verify(srv, repo, ledger, dataDir);
      }
      await srv.kill9();
      await sweepAndCheckOrphans(dataDir);
      expect(ledger.uploadsAcked).toBeGreaterThanOrEqual(ROUNDS);
      recordFigure('crash rounds (kill -9 + restart) survived', kills);
      recordFigure('crash acknowledged uploads verified', ledger.uploadsAcked);
    } finally {
      await srv.kill9();
      await releaseStores(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  },
  ROUNDS * 30_000,
);
