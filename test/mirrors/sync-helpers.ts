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

/** Asks for a sync and waits for it to finish; returns the mirror as the API shows it then. */
export async function syncAndWait(server: TestServer, full: string, token: string, deadlineMs = 240_000): Promise<any> {
  const before = await call('GET', `${server.api}/repos/${full}/mirror`, { token, skipSchema: true });
  const previous = before.body.last_sync?.finished_at ?? null;
  const previousStarted = before.body.last_sync?.started_at ?? null;
  // Sync times are in whole seconds: a sync of an unchanged upstream can start and finish within
  // the second the previous one did, and would look like it. Ask once that second has passed.
  const nowSeconds = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  while ((previousStarted !== null && nowSeconds() <= previousStarted) || (previous !== null && nowSeconds() <= previous)) {
    await new Promise((r) => setTimeout(r, 50));
  }
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
