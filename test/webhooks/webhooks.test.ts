/**
 * Webhooks end to end on a real server with real receivers on loopback (allowed by
 * WHARF_OUTBOUND_ALLOWED_HOSTS): the REST API against the GHES description, every event and action
 * delivered once with GitHub's headers, payloads checked against GitHub's webhook schemas and
 * signatures verified by @octokit/webhooks; retries with the same delivery GUID; timeouts;
 * redelivery; auto-disable; and 404 for everyone but admins, with secrets never shown.
 * Retry delays are shortened by configuration (never by waiting 30 s).
 */
import { Webhooks } from '@octokit/webhooks';
import { Agent, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { ADMIN_TOKEN, startServer, type TestServer } from '../support/server.ts';
import { WebhookReceiver, type Received } from '../support/webhook-receiver.ts';
import { assertWebhookPayload } from '../support/webhook-schemas.ts';

const SECRET = 'It’s a Secret to Everybody';
let server: TestServer;
let owner: TestUser;
let pusher: TestUser;
let reader: TestUser;
let stranger: TestUser;
let receiver: WebhookReceiver;
const everyResponse: string[] = [];

beforeAll(async () => {
  // These tests idle while deliveries go out; a pooled connection the server closed meanwhile
  // (its keep-alive is 5 s) must not be reused.
  setGlobalDispatcher(new Agent({ keepAliveTimeout: 1000 }));
  server = await startServer({
    env: {
      WHARF_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
      WHARF_EVENTS_POLL_MS: '50',
      WHARF_WEBHOOK_RETRY_BASE_MS: '200',
      WHARF_WEBHOOK_RETRY_MAX_DELAY_MS: '400',
      // Generous for a loaded CI machine: a first delivery that times out is retried, and the
      // receiver would see it twice.
      WHARF_WEBHOOK_TIMEOUT_MS: '4000',
      // Long enough that the retry tests' short failure runs never disable their hooks.
      WHARF_WEBHOOK_DISABLE_AFTER_MS: '5000',
    },
  });
  owner = await createUser(server);
  pusher = await createUser(server);
  reader = await createUser(server);
  stranger = await createUser(server);
  receiver = await WebhookReceiver.start();
});
// The tests idle while deliveries go out; a pooled connection the server closed meanwhile (its
// keep-alive is 5 s) can fail the next request with ECONNRESET. One throw-away request first.
beforeEach(async () => {
  await fetch(`${server.api}/meta`)
    .then((r) => r.text())
    .catch(() => undefined);
});
afterAll(async () => {
  await receiver?.close();
  await server?.close();
});

/** `call` that keeps every response body, to check no secret ever appears in one. */
const req: typeof call = async (...args) => {
  const res = await call(...args);
  everyResponse.push(res.text);
  return res;
};

async function repoWithHook(target: WebhookReceiver, config: Record<string, unknown> = {}, events: string[] = ['*']) {
  const { name, full, json } = await createRepo(server, owner, { auto_init: true });
  const res = await req('POST', `${server.api}/repos/${full}/hooks`, {
    token: owner.token,
    body: { name: 'web', active: true, events, config: { url: target.url(), content_type: 'json', secret: SECRET, ...config } },
  });
  expect(res.status).toBe(201);
  return { name, full, repoId: json.id as number, hook: res.body, api: `${server.api}/repos/${full}` };
}

function forHook(hookId: number, list: Received[] = receiver.received): Received[] {
  return list.filter((r) => r.headers['x-github-hook-id'] === String(hookId));
}

const verifier = new Webhooks({ secret: SECRET });

async function checkDelivery(r: Received): Promise<void> {
  expect(r.headers['user-agent']).toMatch(/^GitHub-Hookshot\//);
  expect(r.headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
  expect(r.headers['x-github-enterprise-version']).toBe('3.19.0');
  expect(r.headers['x-github-enterprise-host']).toBe(new URL(server.base).host);
  expect(r.headers['x-github-hook-installation-target-type']).toBe('repository');
  expect(r.headers['x-hub-signature']).toMatch(/^sha1=[0-9a-f]{40}$/);
  expect(await verifier.verify(r.body, String(r.headers['x-hub-signature-256']))).toBe(true);
  expect(await verifier.verify(r.body + ' ', String(r.headers['x-hub-signature-256']))).toBe(false);
}

describe('hooks API', () => {
  it('creates, reads, updates, pings and deletes a repository hook as GHES does, never showing the secret', async () => {
    const { full, hook, api } = await repoWithHook(receiver);
    expect(hook).toMatchObject({
      type: 'Repository',
      name: 'web',
      active: true,
      events: ['*'],
      config: { url: receiver.url(), content_type: 'json', insecure_ssl: '0', secret: '********' },
    });
    expect(hook.url).toBe(`${api}/hooks/${hook.id}`);
    // GitHub pings a new hook at once.
    await receiver.waitFor((rs) => forHook(hook.id, rs).some((r) => r.headers['x-github-event'] === 'ping'));
    const ping = forHook(hook.id).find((r) => r.headers['x-github-event'] === 'ping')!;
    await checkDelivery(ping);
    assertWebhookPayload('ping', ping.json);
    expect(ping.json.hook_id).toBe(hook.id);

    const list = await req('GET', `${api}/hooks`, { token: owner.token });
    expect(list.body.map((h: { id: number }) => h.id)).toEqual([hook.id]);
    expect((await req('GET', `${api}/hooks/${hook.id}/config`, { token: owner.token })).body).toEqual({
      content_type: 'json',
      insecure_ssl: '0',
      url: receiver.url(),
      secret: '********',
    });
    const patched = await req('PATCH', `${api}/hooks/${hook.id}`, { token: owner.token, body: { add_events: ['push'], remove_events: ['*'], active: true } });
    expect(patched.status).toBe(200);
    expect(patched.body.events).toEqual(['push']);
    const config = await req('PATCH', `${api}/hooks/${hook.id}/config`, { token: owner.token, body: { content_type: 'form', secret: '********' } });
    expect(config.body).toMatchObject({ content_type: 'form', secret: '********' });
    expect((await req('POST', `${api}/hooks/${hook.id}/pings`, { token: owner.token })).status).toBe(204);
    await receiver.waitFor((rs) => forHook(hook.id, rs).filter((r) => r.headers['x-github-event'] === 'ping').length === 2);
    const formPing = forHook(hook.id).filter((r) => r.headers['x-github-event'] === 'ping')[1]!;
    expect(formPing.headers['content-type']).toBe('application/x-www-form-urlencoded');
    // The masked secret sent back kept the old one: the form body still verifies.
    await checkDelivery(formPing);

    // `tests` sends a push of the default branch when the hook takes pushes.
    expect((await req('POST', `${api}/hooks/${hook.id}/tests`, { token: owner.token })).status).toBe(204);
    await receiver.waitFor((rs) => forHook(hook.id, rs).some((r) => r.headers['x-github-event'] === 'push'));
    assertWebhookPayload('push', forHook(hook.id).find((r) => r.headers['x-github-event'] === 'push')!.json);

    // Deliveries: newest first, cursor pagination, one with its request and response, redelivery.
    await new Promise((r) => setTimeout(r, 300));
    const page1 = await req('GET', `${api}/hooks/${hook.id}/deliveries?per_page=2`, { token: owner.token });
    expect(page1.status).toBe(200);
    expect(page1.body).toHaveLength(2);
    expect(page1.headers.get('link')).toMatch(/cursor=v1_\d+.*rel="next"/);
    const next = /<([^>]+)>; rel="next"/.exec(page1.headers.get('link')!)![1]!;
    const page2 = await req('GET', next, { token: owner.token });
    expect(page2.body).toHaveLength(1);
    const oldest = page2.body[0];
    expect(oldest).toMatchObject({ event: 'ping', status: 'OK', status_code: 200, redelivery: false });
    const one = await req('GET', `${api}/hooks/${hook.id}/deliveries/${oldest.id}`, { token: owner.token });
    expect(one.body.request.headers['X-GitHub-Delivery']).toBe(oldest.guid);
    expect(one.body.request.payload.hook_id).toBe(hook.id);
    expect(one.body.response.payload).toBe('ok');
    const again = await req('POST', `${api}/hooks/${hook.id}/deliveries/${oldest.id}/attempts`, { token: owner.token });
    expect(again.status).toBe(202);
    await receiver.waitFor((rs) => forHook(hook.id, rs).filter((r) => r.headers['x-github-delivery'] === oldest.guid).length === 2);
    await new Promise((r) => setTimeout(r, 200));
    const newest = (await req('GET', `${api}/hooks/${hook.id}/deliveries?per_page=1`, { token: owner.token })).body[0];
    expect(newest).toMatchObject({ guid: oldest.guid, redelivery: true });

    expect((await req('DELETE', `${api}/hooks/${hook.id}`, { token: owner.token })).status).toBe(204);
    expect((await req('GET', `${api}/hooks/${hook.id}`, { token: owner.token })).status).toBe(404);
    expect(full).toBeTruthy();
  });

  it('answers 404 to everyone but repository admins on every hook route, and refuses internal URLs it can see', async () => {
    const { name, full, hook } = await repoWithHook(receiver);
    await addCollaborator(server, owner, name, pusher, 'push');
    await addCollaborator(server, owner, name, reader, 'pull');
    const h = `${server.api}/repos/${full}/hooks`;
    const routes: Array<[string, string]> = [
      ['GET', h],
      ['POST', h],
      ['GET', `${h}/${hook.id}`],
      ['PATCH', `${h}/${hook.id}`],
      ['DELETE', `${h}/${hook.id}`],
      ['GET', `${h}/${hook.id}/config`],
      ['PATCH', `${h}/${hook.id}/config`],
      ['POST', `${h}/${hook.id}/pings`],
      ['POST', `${h}/${hook.id}/tests`],
      ['GET', `${h}/${hook.id}/deliveries`],
      ['GET', `${h}/${hook.id}/deliveries/1`],
      ['POST', `${h}/${hook.id}/deliveries/1/attempts`],
      ['GET', `${server.api}/admin/hooks`],
      ['POST', `${server.api}/admin/hooks`],
      ['GET', `${server.api}/admin/hooks/1`],
    ];
    // Whatever the body, the permission check answers first: a caller who may not see the hooks
    // learns nothing from how their input would have been judged (no 400, 413 or 422).
    const bodies: Array<{ body?: unknown; raw?: string }> = [
      { body: { config: { url: receiver.url() } } },
      { body: { config: { url: 'http://10.1.2.3/hook' }, events: 'nope', active: 'yes' } },
      { body: [1, 2] },
      { raw: '{"config": ' },
      { raw: 'x'.repeat(2 * 1024 * 1024) },
    ];
    for (const who of [pusher.token, reader.token, stranger.token, null]) {
      for (const [method, url] of routes) {
        for (const input of method === 'GET' ? [{}] : bodies) {
          const res = await req(method, url, { token: who, ...input, skipSchema: true });
          expect(res.status, `${method} ${url} as ${who ? 'user' : 'anonymous'} with ${JSON.stringify(input).slice(0, 60)}`).toBe(404);
        }
      }
    }
    // A site administrator sees the hook; nobody ever sees its secret.
    expect((await req('GET', `${h}/${hook.id}`, { token: ADMIN_TOKEN })).body.config.secret).toBe('********');
    expect(everyResponse.some((text) => text.includes(SECRET))).toBe(false);
    const stored = await server.wharf.ctx.db.selectFrom('webhooks').select('secret_ciphertext').where('id', '=', hook.id).executeTakeFirstOrThrow();
    expect(stored.secret_ciphertext).not.toContain(SECRET);

    const internal = await req('POST', h, { token: owner.token, body: { config: { url: 'http://10.1.2.3/hook' } } });
    expect(internal.status).toBe(422);
    const missing = await req('POST', h, { token: owner.token, body: { config: {} } });
    expect(missing.status).toBe(422);
    // The admin's body is still read as the API reads JSON: malformed is 400, oversized 413.
    expect((await req('POST', h, { token: owner.token, raw: '{"config": ' })).body.message).toBe('Problems parsing JSON');
    expect((await req('PATCH', `${h}/${hook.id}`, { token: owner.token, raw: '[1]' })).status).toBe(400);
    expect((await req('POST', h, { token: owner.token, raw: 'x'.repeat(2 * 1024 * 1024) })).status).toBe(413);
  });

  it('manages organization and global hooks for their owners only', async () => {
    const orgLogin = uniqueName('org');
    const org = await call('POST', `${server.api}/admin/organizations`, { token: ADMIN_TOKEN, body: { login: orgLogin, admin: owner.login } });
    expect(org.status).toBe(201);
    const created = await req('POST', `${server.api}/orgs/${orgLogin}/hooks`, {
      token: owner.token,
      body: { name: 'web', events: ['release'], config: { url: receiver.url(), content_type: 'json' } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'Organization', events: ['release'] });
    expect((await req('GET', `${server.api}/orgs/${orgLogin}/hooks/${created.body.id}`, { token: stranger.token, skipSchema: true })).status).toBe(404);
    const global = await req('POST', `${server.api}/admin/hooks`, {
      token: ADMIN_TOKEN,
      body: { name: 'web', events: ['create'], config: { url: receiver.url(), content_type: 'json' } },
    });
    expect(global.status).toBe(201);
    expect(global.body.type).toBe('Global');
    // The organization's hook hears its repositories' releases; the global hook every `create`.
    const repo = await call('POST', `${server.api}/orgs/${orgLogin}/repos`, { token: owner.token, body: { name: 'tools', auto_init: true } });
    expect(repo.status).toBe(201);
    const rel = await req('POST', `${server.api}/repos/${orgLogin}/tools/releases`, { token: owner.token, body: { tag_name: 'v1' } });
    expect(rel.status).toBe(201);
    await receiver.waitFor((rs) => forHook(created.body.id, rs).filter((r) => r.headers['x-github-event'] === 'release').length === 3);
    const orgRelease = forHook(created.body.id).find((r) => r.json?.action === 'published')!;
    expect(orgRelease.headers['x-github-hook-installation-target-type']).toBe('organization');
    expect(orgRelease.json.organization.login).toBe(orgLogin);
    assertWebhookPayload('release-published', orgRelease.json);
    await receiver.waitFor((rs) => forHook(global.body.id, rs).some((r) => r.headers['x-github-event'] === 'create' && r.json.ref === 'v1'));
    expect((await req('DELETE', `${server.api}/admin/hooks/${global.body.id}`, { token: ADMIN_TOKEN })).status).toBe(204);
  });
});

describe('deliveries', () => {
  it('delivers every action of every event once, in order, with GitHub payloads and signatures', async () => {
    const { full, hook, api } = await repoWithHook(receiver);
    await receiver.waitFor((rs) => forHook(hook.id, rs).length >= 1);
    const work = await WorkRepo.create();
    await work.git('fetch', '-q', `${server.base.replace('://', `://x:${owner.token}@`)}/${full}.git`, 'main:upstream');
    await work.git('reset', '-q', '--hard', 'upstream');
    await work.commit('second');
    await work.push(server, full, owner.token, 'main', 'main:feature');

    const draft = await req('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0', draft: true } });
    const asset = await req('POST', `${server.uploads}/repos/${full}/releases/${draft.body.id}/assets?name=a.txt`, {
      token: owner.token,
      raw: 'hello',
      headers: { 'content-type': 'text/plain' },
      skipSchema: true,
    });
    expect(asset.status).toBe(201);
    await req('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false, name: 'One', body: 'notes' } });
    await req('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { prerelease: true } });
    await req('PATCH', `${api}/releases/assets/${asset.body.id}`, { token: owner.token, body: { name: 'b.txt' } });
    await req('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: true } });
    await req('DELETE', `${api}/releases/assets/${asset.body.id}`, { token: owner.token });
    await req('DELETE', `${api}/releases/${draft.body.id}`, { token: owner.token });
    await req('DELETE', `${api}/git/refs/heads/feature`, { token: owner.token });

    const expected = [
      'push:',
      'create:',
      'push:',
      'release:created',
      'release_asset:uploaded',
      'release:edited',
      'release:published',
      'release:released',
      'create:',
      'push:',
      'release:prereleased',
      'release_asset:renamed',
      'release:unpublished',
      'release_asset:deleted',
      'release:deleted',
      'delete:',
      'push:',
    ];
    const key = (r: Received) => `${String(r.headers['x-github-event'])}:${r.json?.action ?? ''}`;
    const events = () => forHook(hook.id).filter((r) => r.headers['x-github-event'] !== 'ping');
    await receiver.waitFor(() => events().length >= expected.length);
    await new Promise((r) => setTimeout(r, 300));
    // The push of two refs may arrive in either ref's order; everything else in the order it happened.
    expect(events().map(key).slice(3)).toEqual(expected.slice(3));
    expect(events().map(key).slice(0, 3).sort()).toEqual(expected.slice(0, 3).sort());
    expect(new Set(events().map((r) => r.headers['x-github-delivery'])).size).toBe(expected.length);

    for (const r of events()) {
      await checkDelivery(r);
      const event = String(r.headers['x-github-event']);
      if (event === 'release') assertWebhookPayload(`release-${r.json.action}`, r.json);
      else if (event !== 'release_asset') assertWebhookPayload(event, r.json);
    }
    const published = events().find((r) => r.json?.action === 'published')!;
    // What a receiver finds on `published`: the release, published, with the asset uploaded before.
    expect(published.json.release.assets.map((a: { name: string }) => a.name)).toEqual(['a.txt']);
    expect(published.json.release.draft).toBe(false);
    const edited = events().find((r) => r.json?.action === 'edited')!;
    expect(edited.json.changes).toEqual({ name: { from: '' }, body: { from: '' } });
    const uploaded = events().find((r) => r.headers['x-github-event'] === 'release_asset')!;
    expect(uploaded.json.release_asset).toMatchObject({ name: 'a.txt', state: 'uploaded', size: 5 });
    const branch = events().find((r) => r.headers['x-github-event'] === 'create' && r.json.ref === 'feature')!;
    expect(branch.json).toMatchObject({ ref_type: 'branch', master_branch: 'main', pusher_type: 'user' });
    const mainPush = events().find((r) => r.headers['x-github-event'] === 'push' && r.json.ref === 'refs/heads/main')!;
    expect(mainPush.json.commits.map((c: { message: string }) => c.message)).toEqual(['second']);
    expect(mainPush.json).toMatchObject({ created: false, deleted: false, forced: false });
  });

  it('a receiver that GETs the release on `published` finds it published with its assets', async () => {
    const { api, hook } = await repoWithHook(receiver, {}, ['release']);
    const seen: any[] = [];
    const checker = await WebhookReceiver.start();
    await req('PATCH', `${api}/hooks/${hook.id}/config`, { token: owner.token, body: { url: checker.url() } });
    checker.behaviour = (r) => {
      if (r.json?.action === 'published') void call('GET', r.json.release.url, { token: owner.token }).then((res) => seen.push(res.body));
      return 200;
    };
    const draft = await req('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v9', draft: true } });
    const full = api.slice(`${server.api}/repos/`.length);
    for (const n of ['x.bin', 'y.bin']) {
      await req('POST', `${server.uploads}/repos/${full}/releases/${draft.body.id}/assets?name=${n}`, {
        token: owner.token,
        raw: n,
        headers: { 'content-type': 'application/octet-stream' },
        skipSchema: true,
      });
    }
    await req('PATCH', `${api}/releases/${draft.body.id}`, { token: owner.token, body: { draft: false } });
    await checker.waitFor((rs) => rs.some((r) => r.json?.action === 'published'));
    const deadline = Date.now() + 5000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen[0]).toMatchObject({ draft: false, tag_name: 'v9' });
    expect(seen[0].assets.map((a: { name: string }) => a.name).sort()).toEqual(['x.bin', 'y.bin']);
    await checker.close();
  });

  it('retries a receiver that is down with the same X-GitHub-Delivery, and one that hangs after the timeout', async () => {
    const flaky = await WebhookReceiver.start();
    // Down (503) for the release's first two attempts, then up. Counted per delivery, not per
    // request: how the ping's retries and the release's interleave depends on the machine's load.
    let releaseAttempts = 0;
    flaky.behaviour = (r) => (r.json?.action === 'created' && ++releaseAttempts <= 2 ? 503 : 200);
    const { api, hook } = await repoWithHook(flaky, {}, ['release']);
    await req('POST', `${api}/releases`, { token: owner.token, body: { tag_name: 'v1', draft: true } });
    await flaky.waitFor((rs) => rs.filter((r) => r.json?.action === 'created').length >= 3);
    const created = flaky.received.filter((r) => r.json?.action === 'created');
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect(new Set(created.map((r) => r.headers['x-github-delivery'])).size).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    const deliveries = (await req('GET', `${api}/hooks/${hook.id}/deliveries`, { token: owner.token })).body;
    const attempts = deliveries.filter((d: { guid: string }) => d.guid === created[0]!.headers['x-github-delivery']);
    expect(attempts.map((d: { status_code: number }) => d.status_code)).toContain(503);
    expect(attempts[0]).toMatchObject({ status_code: 200, status: 'OK', redelivery: true });
    await flaky.close();

    const hanging = await WebhookReceiver.start();
    hanging.behaviour = (_r, i) => (i === 0 ? 'hang' : 200);
    const second = await repoWithHook(hanging, {}, ['release']);
    // The ping arrives first (and hangs); the retry then succeeds.
    await hanging.waitFor((rs) => rs.length >= 2);
    const [first, retry] = hanging.received;
    expect(retry!.headers['x-github-delivery']).toBe(first!.headers['x-github-delivery']);
    await new Promise((r) => setTimeout(r, 300));
    const recorded = (await req('GET', `${second.api}/hooks/${second.hook.id}/deliveries`, { token: owner.token })).body;
    expect(recorded.map((d: { status: string }) => d.status)).toEqual(['OK', 'timed out']);
    await hanging.close();
  });

  it('disables a hook whose deliveries keep failing, and says why', async () => {
    const broken = await WebhookReceiver.start();
    broken.behaviour = () => 500;
    const { api, hook } = await repoWithHook(broken, {}, ['release']);
    const deadline = Date.now() + 30_000;
    let current = hook;
    while (current.active && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      current = (await req('GET', `${api}/hooks/${hook.id}`, { token: owner.token })).body;
    }
    expect(current.active).toBe(false);
    expect(current.last_response).toMatchObject({ code: 500, status: 'failed' });
    expect(current.last_response.message).toMatch(/^Disabled by Wharf .*Invalid HTTP Response: 500/);
    const count = broken.received.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(broken.received.length).toBe(count);
    await broken.close();
  });
});
