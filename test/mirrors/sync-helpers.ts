/**
 * What the mirror tests ask of an instance: every release (all pages), and a sync asked for
 * and waited on through the API (polling, with a generous deadline).
 */
import { expect } from 'vitest';
import { call } from '../support/http.ts';
import type { TestServer } from '../support/server.ts';

export async function allReleases(server: TestServer, full: string, token: string): Promise<any[]> {
  const out: any[] = [];
  for (let page = 1; ; page++) {
    const res = await call('GET', `${server.api}/repos/${full}/releases?per_page=100&page=${page}`, { token });
    expect(res.status).toBe(200);
    out.push(...res.body);
    if (res.body.length < 100) return out;
  }
}

/**
 * Waits until the second in which `lastSync` (a mirror's `last_sync`) started and finished has
 * passed. Sync times are in whole seconds: a sync asked for (or started by a changed setting)
 * within that second can start and finish in it too, and `waitForSync` could not tell it from the
 * previous one. Call it before whatever starts the next sync.
 */
export async function pastSyncSecond(lastSync: { started_at?: string | null; finished_at?: string | null } | null | undefined): Promise<void> {
  const nowSeconds = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const started = lastSync?.started_at ?? null;
  const finished = lastSync?.finished_at ?? null;
  while ((started !== null && nowSeconds() <= started) || (finished !== null && nowSeconds() <= finished)) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asks for a sync and waits for it to finish; returns the mirror as the API shows it then. */
export async function syncAndWait(server: TestServer, full: string, token: string, deadlineMs = 240_000): Promise<any> {
  const before = await call('GET', `${server.api}/repos/${full}/mirror`, { token, skipSchema: true });
  const previous = before.body.last_sync?.finished_at ?? null;
  const previousStarted = before.body.last_sync?.started_at ?? null;
  await pastSyncSecond(before.body.last_sync);
  const asked = await call('POST', `${server.api}/repos/${full}/mirror/sync`, { token, skipSchema: true });
  expect(asked.status).toBe(202);
  return waitForSync(server, full, token, previous, previousStarted, deadlineMs);
}

export async function waitForSync(
  server: TestServer,
  full: string,
  token: string,
  previousFinished: string | null,
  previousStarted: string | null = null,
  deadlineMs = 240_000,
): Promise<any> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const res = await call('GET', `${server.api}/repos/${full}/mirror`, { token, skipSchema: true });
    expect(res.status).toBe(200);
    const last = res.body.last_sync;
    const done = last && last.status !== 'running' && (last.finished_at !== previousFinished || last.started_at !== previousStarted);
    if (done) return res.body;
    if (Date.now() > deadline) throw new Error(`no sync finished: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
