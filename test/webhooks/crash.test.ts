/**
 * A Wharf process killed with SIGKILL right after acknowledging a change, before (or while) its
 * webhook goes out, then restarted on the same data: the event is delivered after the restart,
 * none is lost. Duplicates (a node killed mid-attempt) carry the same X-GitHub-Delivery and are
 * counted. Twenty kills; each restart starts a process, so the compiled build runs when it is
 * fresh (CI builds it first), which starts in about half the time. The figure printed says how
 * many kills came before the delivery had reached the receiver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, releaseStores, storeEnv } from '../support/server.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { freePort, startServerProcess, type ServerProcess } from '../reliability/support/server-process.ts';
import { compiledBuildIsFresh } from '../support/wharf-command.ts';

const KILLS = 20;
const auth = { authorization: `token ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
let srv: ServerProcess | null = null;
let receiver: WebhookReceiver | null = null;
let dataDir = '';

afterAll(async () => {
  await srv?.kill9();
  await receiver?.close();
  if (dataDir) {
    await releaseStores(dataDir);
    await rm(dataDir, { recursive: true, force: true });
  }
});

it(`delivers every acknowledged change's event across ${KILLS} SIGKILLs`, async () => {
  const started = Date.now();
  dataDir = await mkdtemp(path.join(tmpdir(), 'wharf-hook-crash-'));
  const port = await freePort();
  const env = {
    ...(await storeEnv(dataDir)),
    WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
    WHARF_EVENTS_POLL_MS: '250',
    WHARF_WEBHOOK_RETRY_BASE_MS: '200',
    WHARF_WEBHOOK_RETRY_MAX_DELAY_MS: '500',
    WHARF_WEBHOOK_TIMEOUT_MS: '4000',
  };
  receiver = await WebhookReceiver.start();
  srv = await startServerProcess(dataDir, port, env);
  const repo = await fetch(`${srv.api}/user/repos`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'crash', auto_init: true }) });
  expect(repo.status).toBe(201);
  const login = (await repo.json()).owner.login as string;
  const hook = await fetch(`${srv.api}/repos/${login}/crash/hooks`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ events: ['release'], config: { url: receiver.url(), content_type: 'json' } }),
  });
  expect(hook.status).toBe(201);

  const acked: string[] = [];
  let killedBeforeDelivery = 0;
  for (let round = 0; round < KILLS; round++) {
    const tag = `v${round}`;
    const res = await fetch(`${srv.api}/repos/${login}/crash/releases`, { method: 'POST', headers: auth, body: JSON.stringify({ tag_name: tag, draft: true }) });
    expect(res.status).toBe(201);
    acked.push(tag);
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 150)));
    if (!receiver.received.some((r) => r.json?.release?.tag_name === tag)) killedBeforeDelivery++;
    await srv.kill9();
    srv = await startServerProcess(dataDir, port, env);
  }
  const rx = receiver;
  await rx.waitFor((rs) => acked.every((tag) => rs.some((r) => r.json?.action === 'created' && r.json.release.tag_name === tag)), 60_000);
  const created = rx.received.filter((r) => r.json?.action === 'created');
  const guids = created.map((r) => String(r.headers['x-github-delivery']));
  const duplicates = guids.length - new Set(guids).size;
  // A duplicate is the same delivery again (same GUID), never a second event for one change.
  expect(new Set(created.map((r) => r.json.release.tag_name)).size).toBe(new Set(guids).size);
  console.log(
    `webhook crash: ${KILLS} SIGKILLs, ${killedBeforeDelivery} before the delivery reached the receiver, 0 events lost, ${duplicates} duplicate deliveries; ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s (${compiledBuildIsFresh() ? 'compiled build' : 'tsx'})`,
  );
}, 300_000);
