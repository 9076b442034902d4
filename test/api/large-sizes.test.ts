/**
 * Assets beyond 2 GiB (and beyond 4 GiB) without writing gigabytes in CI: every place a size or
 * an offset lives is 64-bit. The columns are `bigint` on both engines and come back exact; the
 * limit check compares in 64 bits (a declared 5 GiB + 1 is refused before a byte is read); tus
 * answers offsets and lengths beyond 2^32 exactly; the JSON carries exact sizes; and (on the
 * file store) a sparse 5 GiB blob is served by Range from beyond 4 GiB, byte-exact. A real
 * multi-gigabyte upload and download is measured in bench/resumable-uploads.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/blobs/fs-blob-store.ts';
import { parseRange } from '../../src/http/routes/asset-downloads.ts';
import { createRepo, createUser, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

const FIVE_GIB = 5 * 1024 * 1024 * 1024;

let server: TestServer;
let alice: TestUser;
let full: string;
let releaseId: number;

beforeAll(async () => {
  // 5 GiB is the most the S3 store takes in one object, and well beyond 2^31 and 2^32.
  server = await startServer({ env: { WHARF_MAX_ASSET_SIZE: String(FIVE_GIB) } });
  alice = await createUser(server);
  full = (await createRepo(server, alice, { auto_init: true })).full;
  releaseId = (await call('POST', `${server.api}/repos/${full}/releases`, { token: alice.token, body: { tag_name: 'v1.0.0' } })).body.id;
});

afterAll(async () => {
  await server?.close();
});

it('declares every size and offset column 64-bit on this engine', async () => {
  const db = server.wharf.ctx.db;
  const columns = [
    ['assets', 'size'],
    ['resumable_uploads', 'upload_length'],
    ['resumable_uploads', 'upload_offset'],
  ] as const;
  for (const [table, column] of columns) {
    const pg = await sql<{ data_type: string }>`select data_type from information_schema.columns where table_name = ${table} and column_name = ${column}`
      .execute(db)
      .catch(() => null);
    if (pg && pg.rows.length > 0) expect(pg.rows[0]!.data_type, `${table}.${column}`).toBe('bigint');
    else {
      // SQLite: an INTEGER-affinity column holds up to 8 bytes; `bigint` is declared for clarity.
      const info = await sql<{ name: string; type: string }>`select name, type from pragma_table_info(${table})`.execute(db);
      expect(info.rows.find((r) => r.name === column)?.type.toLowerCase(), `${table}.${column}`).toBe('bigint');
    }
  }
});

it('parses Range beyond 4 GiB exactly', () => {
  expect(parseRange('bytes=4294967296-', FIVE_GIB)).toEqual({ start: 4294967296, end: FIVE_GIB - 1 });
  expect(parseRange('bytes=-10', FIVE_GIB)).toEqual({ start: FIVE_GIB - 10, end: FIVE_GIB - 1 });
  expect(parseRange(`bytes=${FIVE_GIB}-`, FIVE_GIB)).toBe('unsatisfiable');
});

it('refuses a declared 5 GiB + 1 upload before reading it, in 64-bit arithmetic', async () => {
  const { port } = new URL(server.base);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(
    [
      `POST /api/uploads/repos/${full}/releases/${releaseId}/assets?name=huge.bin HTTP/1.1`,
      `host: 127.0.0.1:${port}`,
      `authorization: token ${alice.token}`,
      'content-type: application/octet-stream',
      `content-length: ${FIVE_GIB + 1}`,
      '',
      '',
    ].join('\r\n'),
  );
  socket.write(Buffer.alloc(1024));
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('close', () => resolve(text));
    socket.once('error', () => resolve(text));
  });
  expect(answer).toMatch(/^HTTP\/1\.1 422 /);
  expect(answer).toContain(`size must be less than or equal to ${FIVE_GIB}`);
});

it('creates a 5 GiB tus upload and reports offsets beyond 2^32 exactly', async () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const created = await fetch(`${server.uploads}/repos/${full}/releases/${releaseId}/assets/resumable`, {
    method: 'POST',
    headers: { authorization: `token ${alice.token}`, 'tus-resumable': '1.0.0', 'upload-length': String(FIVE_GIB), 'upload-metadata': `name ${b64('big.iso')}` },
  });
  expect(created.status).toBe(201);
  const location = created.headers.get('location')!;
  const id = location.slice(location.lastIndexOf('/') + 1);
  // Stand in for 4 GiB + 7 bytes already staged: the offset round-trips through the database exactly.
  await server.wharf.ctx.db.updateTable('resumable_uploads').set({ upload_offset: 4294967303 }).where('id', '=', id).execute();
  const head = await fetch(location, { method: 'HEAD', headers: { authorization: `token ${alice.token}`, 'tus-resumable': '1.0.0' } });
  expect(head.status).toBe(200);
  expect(head.headers.get('upload-offset')).toBe('4294967303');
  expect(head.headers.get('upload-length')).toBe(String(FIVE_GIB));
  const open = await call('GET', `${server.api}/repos/${full}/releases/${releaseId}/assets`, { token: alice.token });
  expect(open.body).toEqual([expect.objectContaining({ name: 'big.iso', state: 'open', size: FIVE_GIB })]);
  expect((await fetch(location, { method: 'DELETE', headers: { authorization: `token ${alice.token}`, 'tus-resumable': '1.0.0' } })).status).toBe(204);
});

it('serves a 5 GiB asset with its exact size, and its bytes from beyond 4 GiB by Range', async (t) => {
  const store = server.wharf.ctx.blobs;
  if (!(store instanceof FsBlobStore)) return t.skip(); // a sparse file is a file-store trick; S3 is measured in bench/
  // A sparse 5 GiB file (no disk used) with a marker in its last bytes, stored as a blob.
  const marker = Buffer.from('the end of a five gibibyte file\n');
  const key = createHash('sha256').update('sparse five gibibytes').digest('hex');
  const file = store.pathOf(key);
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'w', 0o600);
  await handle.write(marker, 0, marker.length, FIVE_GIB - marker.length);
  await handle.close();
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const row = await server.wharf.ctx.db
    .insertInto('assets')
    .values({
      release_id: releaseId,
      repository_id: (await server.wharf.ctx.db.selectFrom('releases').select('repository_id').where('id', '=', releaseId).executeTakeFirstOrThrow()).repository_id,
      name: 'sparse.img',
      label: null,
      content_type: 'application/octet-stream',
      size: FIVE_GIB,
      digest: key,
      blob_key: key,
      state: 'uploaded',
      download_count: 0,
      uploader_id: alice.id,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();

  const json = await call('GET', `${server.api}/repos/${full}/releases/assets/${row.id}`, { token: alice.token });
  expect(json.body.size).toBe(FIVE_GIB);
  const release = await call('GET', `${server.api}/repos/${full}/releases/${releaseId}`, { token: alice.token });
  expect(release.body.assets.find((a: { name: string }) => a.name === 'sparse.img').size).toBe(FIVE_GIB);

  const tail = await fetch(`${server.base}/${full}/releases/download/v1.0.0/sparse.img`, { headers: { range: `bytes=${FIVE_GIB - 64}-` } });
  expect(tail.status).toBe(206);
  expect(tail.headers.get('content-range')).toBe(`bytes ${FIVE_GIB - 64}-${FIVE_GIB - 1}/${FIVE_GIB}`);
  const bytes = Buffer.from(await tail.arrayBuffer());
  expect(bytes.length).toBe(64);
  expect(bytes.subarray(64 - marker.length)).toEqual(marker);
  expect(bytes.subarray(0, 64 - marker.length).every((b) => b === 0)).toBe(true);
  const head = await fetch(`${server.base}/${full}/releases/download/v1.0.0/sparse.img`, { method: 'HEAD' });
  expect(head.headers.get('content-length')).toBe(String(FIVE_GIB));
});
