/**
 * Two Wharf nodes on one PostgreSQL database share webhook delivery: changes made through either
 * node reach the receiver, none is lost when a node is killed mid-stream, and duplicates (same
 * X-GitHub-Delivery) happen only where a node died during an attempt; they are counted and
 * printed. Runs when a PostgreSQL server is configured for tests, as in CI.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { createRepo, createUser, uniqueName, type TestUser } from '../support/fixtures.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { clusterAvailable, startCluster, type Cluster } from './cluster.ts';

let cluster: Cluster;
let receiver: WebhookReceiver;
let owner: TestUser;

beforeAll(async () => {
  if (!clusterAvailable) return;
  receiver = await WebhookReceiver.start();
  cluster = await startCluster({
    env: {
      WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
      WHARF_EVENTS_POLL_MS: '100',
      WHARF_WEBHOOK_RETRY_BASE_MS: '200',
      WHARF_WEBHOOK_RETRY_MAX_DELAY_MS: '500',
      WHARF_WEBHOOK_TIMEOUT_MS: '4000',
    },
  });
  owner = await createUser(cluster.lb, uniqueName('hooks'));
}, 180_000);
afterAll(async () => {
  await cluster?.close();
  await receiver?.close();
});

it.skipIf(!clusterAvailable)(
  'shares deliveries between nodes and loses none when one is killed',
  async () => {
    const [a, b] = cluster.nodes;
    const { full } = await createRepo(cluster.lb, owner, { auto_init: true });
    const hook = await call('POST', `${a!.api}/repos/${full}/hooks`, { token: owner.token, body: { events: ['release'], config: { url: receiver.url(), content_type: 'json' } } });
    expect(hook.status).toBe(201);
    const tags: string[] = [];
    for (let i = 0; i < 20; i++) {
      // Alternate nodes until a is killed (after the tenth change), then b alone.
      const node = i % 2 === 0 && i < 10 ? a! : b!;
      const tag = `v${i}`;
      const res = await call('POST', `${node.api}/repos/${full}/releases`, { token: owner.token, body: { tag_name: tag, draft: true } });
      expect(res.status).toBe(201);
      tags.push(tag);
      if (i === 9) await a!.kill();
    }
    await receiver.waitFor((rs) => tags.every((t) => rs.some((r) => r.json?.action === 'created' && r.json.release.tag_name === t)), 90_000);
    const created = receiver.received.filter((r) => r.json?.action === 'created');
    const guids = created.map((r) => String(r.headers['x-github-delivery']));
    const duplicates = guids.length - new Set(guids).size;
    // Every duplicate is a repeat of one delivery, never a second delivery for one change.
    expect(new Set(created.map((r) => r.json.release.tag_name)).size).toBe(new Set(guids).size);
    console.log(`webhooks on two nodes: ${tags.length} releases, node a killed after 10, 0 lost, ${duplicates} duplicate deliveries`);
    await a!.start();
  },
  300_000,
);
