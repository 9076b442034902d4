/**
 * Channels and a "latest" that is never wrong (docs/channels.md): a repository with interleaved
 * lines — 1.x patches after 2.x, betas, nightlies, a monorepo prefix — asked every kind of
 * latest question through the API, the browser URLs and the pages, before and after publishing,
 * editing, deleting and `make_latest`. GitHub's endpoints keep GitHub's shapes (bodies validated
 * against the OpenAPI description by `call`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectGitHubError } from '../support/http.ts';
import { addCollaborator, createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { insertReleaseRow } from '../support/release-rows.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: TestUser;
let pusher: TestUser;

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('own'));
  pusher = await createUser(server, uniqueName('push'));
});
afterAll(() => server.close());

async function repo() {
  const { name, full } = await createRepo(server, owner);
  const work = await WorkRepo.create();
  await work.commit('first', { date: '2024-01-01T10:00:00Z' });
  await work.push(server, full, owner.token, 'main');
  await addCollaborator(server, owner, name, pusher, 'push');
  const api = `${server.api}/repos/${full}`;
  const release = async (tag_name: string, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', `${api}/releases`, { token: pusher.token, body: { tag_name, ...extra } });
    expect(res.status, `${tag_name}: ${res.text}`).toBe(201);
    return res.body as { id: number; tag_name: string; version: string | null; channel: string };
  };
  const latestTag = async (query = '') => {
    const res = await call('GET', `${api}/releases/latest${query}`, {});
    return res.status === 200 ? (res.body.tag_name as string) : res.status;
  };
  return { name, full, api, release, latestTag };
}

describe('channels and latest', () => {
  it('keeps an old-line patch from stealing latest, and answers latest per channel, major line and prefix', async () => {
    const r = await repo();
    const v190 = await r.release('v1.9.0');
    expect(v190).toMatchObject({ version: '1.9.0', channel: 'stable' });
    await r.release('v2.0.0');
    const v210 = await r.release('v2.1.0');
    expect(await r.latestTag()).toBe('v2.1.0');
    // The old line's patch, published later without make_latest: GitHub would make it latest.
    await r.release('v1.9.3');
    expect(await r.latestTag()).toBe('v2.1.0');
    // The Latest badge agrees: on v2.1.0's card, on no other.
    const page = await (await fetch(`${server.base}/${r.full}/releases`)).text();
    const cards = page.split('<article class="release card"').slice(1);
    expect(cards.filter((c) => c.includes('badge latest')).map((c) => /data-release-id="(\d+)"/.exec(c)![1])).toEqual([String(v210.id)]);
    expect(await r.latestTag('?major=1')).toBe('v1.9.3');
    expect(await r.latestTag('?major=2')).toBe('v2.1.0');
    expect(await r.latestTag('?major=3')).toBe(404);

    // Betas: their own channel, never the repository's latest.
    const beta1 = await r.release('v2.2.0-beta.1', { prerelease: true });
    expect(beta1.channel).toBe('beta');
    await r.release('v2.2.0-beta.2', { prerelease: true });
    expect(await r.latestTag('?channel=beta')).toBe('v2.2.0-beta.2');
    expect(await r.latestTag('?channel=beta,stable')).toBe('v2.2.0-beta.2');
    expect(await r.latestTag()).toBe('v2.1.0');
    // A draft is nobody's latest.
    await r.release('v2.2.0-beta.3', { prerelease: true, draft: true });
    expect(await r.latestTag('?channel=beta')).toBe('v2.2.0-beta.2');

    // Nightlies by a rule: calendar versions on their channel.
    const rules = await call('PATCH', `${r.api}/releases/rules`, {
      token: owner.token,
      body: { channels: [{ pattern: 'nightly-*', channel: 'nightly', scheme: 'calendar' }], prefixes: ['cli-'] },
    });
    expect(rules.status).toBe(200);
    expect(rules.body).toEqual({ scheme: 'semver', prefixes: ['cli-'], channels: [{ pattern: 'nightly-*', channel: 'nightly', scheme: 'calendar' }], latest: 'semver' });
    expect((await call('GET', `${r.api}/releases/rules`, {})).body).toEqual(rules.body);
    await r.release('nightly-20261202', { prerelease: true });
    await r.release('nightly-20261130', { prerelease: true });
    expect(await r.latestTag('?channel=nightly')).toBe('nightly-20261202');

    // A monorepo's second product: its own line, by prefix.
    await r.release('cli-v0.9.1');
    await r.release('cli-v1.0.0');
    await r.release('cli-v0.9.2');
    expect(await r.latestTag('?prefix=cli-')).toBe('cli-v1.0.0');
    expect(await r.latestTag('?prefix=')).toBe('v2.1.0');

    // Channels at a glance.
    const channels = await call('GET', `${r.api}/releases/channels`, {});
    const summary = (channels.body as { channel: string; prefix: string; releases: number; latest: { tag_name: string } }[]).map((c) => [
      c.prefix,
      c.channel,
      c.releases,
      c.latest.tag_name,
    ]);
    expect(summary).toEqual([
      ['', 'beta', 2, 'v2.2.0-beta.2'],
      ['', 'nightly', 2, 'nightly-20261202'],
      ['', 'stable', 4, 'v2.1.0'],
      ['cli-', 'stable', 3, 'cli-v1.0.0'],
    ]);

    // make_latest still means what GitHub says: true designates, false leaves alone.
    await call('PATCH', `${r.api}/releases/${v190.id}`, { token: pusher.token, body: { make_latest: 'true' } });
    expect(await r.latestTag()).toBe('v1.9.0');
    await call('PATCH', `${r.api}/releases/${v190.id}`, { token: pusher.token, body: { make_latest: 'false' } });
    expect(['v2.1.0', 'cli-v1.0.0']).toContain(await r.latestTag());
    await call('PATCH', `${r.api}/releases/${v210.id}`, { token: pusher.token, body: { make_latest: 'true' } });
    // Deleting the latest hands it to the highest remaining version of the line it led.
    expect((await call('DELETE', `${r.api}/releases/${v210.id}`, { token: pusher.token })).status).toBe(204);
    expect(await r.latestTag('?prefix=')).toBe('v2.0.0');
    expect(['v2.0.0', 'cli-v1.0.0']).toContain(await r.latestTag());

    // A release's own channel override, and back.
    const lts = await call('PATCH', `${r.api}/releases/${v190.id}`, { token: pusher.token, body: { channel: 'lts' } });
    expect(lts.body).toMatchObject({ channel: 'lts', version: '1.9.0' });
    expect(await r.latestTag('?channel=lts')).toBe('v1.9.0');
    const back = await call('PATCH', `${r.api}/releases/${v190.id}`, { token: pusher.token, body: { channel: null } });
    expect(back.body.channel).toBe('stable');
    expect(await r.latestTag('?channel=lts')).toBe(404);

    // Lists: filtered by channel, sorted by version.
    const betas = await call('GET', `${r.api}/releases?channel=beta`, { token: pusher.token });
    expect(betas.body.map((x: { tag_name: string }) => x.tag_name)).toEqual(['v2.2.0-beta.3', 'v2.2.0-beta.2', 'v2.2.0-beta.1']);
    const anon = await call('GET', `${r.api}/releases?channel=beta`, {});
    expect(anon.body.map((x: { tag_name: string }) => x.tag_name)).toEqual(['v2.2.0-beta.2', 'v2.2.0-beta.1']);
    const byVersion = await call('GET', `${r.api}/releases?sort=version&prefix=&channel=stable,beta`, {});
    expect(byVersion.body.map((x: { tag_name: string }) => x.tag_name).slice(0, 5)).toEqual(['v2.2.0-beta.2', 'v2.2.0-beta.1', 'v2.0.0', 'v1.9.3', 'v1.9.0']);
  });

  it("restores GitHub's rule when the repository asks for it", async () => {
    const r = await repo();
    await r.release('v2.1.0');
    await r.release('v1.9.3');
    expect(await r.latestTag()).toBe('v2.1.0');
    expect((await call('PATCH', `${r.api}/releases/rules`, { token: owner.token, body: { latest: 'github' } })).status).toBe(200);
    await r.release('v1.9.4');
    expect(await r.latestTag()).toBe('v1.9.4');
    // make_latest "legacy": by date, ties by version as semver orders them (rc before the release).
    await r.release('v2.1.1-rc.1');
    const legacy = await r.release('v2.1.1', { make_latest: 'legacy' });
    expect(await r.latestTag()).toBe(legacy.tag_name);
  });

  it('re-derives every release when the rules change, and refuses bad rules and queries with reasons', async () => {
    const r = await repo();
    const nightly = await r.release('nightly-20260101', { prerelease: true });
    expect(nightly).toMatchObject({ channel: 'prerelease', version: null });
    await call('PATCH', `${r.api}/releases/rules`, {
      token: owner.token,
      body: { channels: [{ pattern: 'nightly-*', channel: 'nightly', scheme: 'calendar' }] },
    });
    const after = await call('GET', `${r.api}/releases/${nightly.id}`, {});
    expect(after.body).toMatchObject({ channel: 'nightly', version: '20260101' });

    const bad = await call('PATCH', `${r.api}/releases/rules`, {
      token: owner.token,
      body: { scheme: 'roman', channels: [{ pattern: 'x', channel: 'Not OK' }] },
    });
    const error = expectGitHubError(bad, 422, 'Validation Failed');
    expect(error.errors.map((e: { message: string }) => e.message)).toEqual(['scheme must be "semver" or "calendar"', expect.stringMatching(/^channels\[0\]\.channel must match/)]);
    // Only administrators change the rules; pushers read them like everyone.
    const refused = await call('PATCH', `${r.api}/releases/rules`, { token: pusher.token, body: { latest: 'github' } });
    expect(refused.status).toBe(403);
    expect((await call('GET', `${r.api}/releases/rules`, {})).body.latest).toBe('semver');
    expectGitHubError(await call('GET', `${r.api}/releases/latest?major=two`, {}), 422);
    expectGitHubError(await call('GET', `${r.api}/releases/latest?channel=Beta!`, {}), 422);
    expectGitHubError(await call('POST', `${r.api}/releases`, { token: pusher.token, body: { tag_name: 'v1', channel: 'No Way' } }), 422, /properties\/channel/);
    expectGitHubError(await call('GET', `${r.api}/releases?sort=size`, {}), 422);
  });

  it('re-derives a thousand releases in one rule change: every row right, generation bumped, no events', async () => {
    const r = await repo();
    const db = server.wharf.ctx.db;
    // Six kinds of tag, 170 of each: the 510 that change are more than one UPDATE statement carries.
    type Kind = { tag: string; prerelease?: boolean; before?: string; channel: string; prefix: string; version: string | null };
    const kinds: Array<(i: number) => Kind> = [
      (i: number) => ({ tag: `v1.${i}.0`, channel: 'stable', prefix: '', version: `1.${i}.0` }),
      (i: number) => ({ tag: `v2.${i}.0-beta.1`, prerelease: true, channel: 'beta', prefix: '', version: `2.${i}.0-beta.1` }),
      (i: number) => ({ tag: `nightly-${20260000 + i}`, prerelease: true, before: 'prerelease', channel: 'nightly', prefix: '', version: `${20260000 + i}` }),
      (i: number) => ({ tag: `cli-v1.${i}.0`, channel: 'stable', prefix: 'cli-', version: `1.${i}.0` }),
      (i: number) => ({ tag: `v3.${i}.0-rc1`, before: 'rc', channel: 'candidate', prefix: '', version: `3.${i}.0-rc1` }),
      (i: number) => ({ tag: `docs-${i}`, channel: 'stable', prefix: '', version: null }),
    ];
    const expected = new Map<number, { tag: string; before: string; channel: string; prefix: string; version: string | null }>();
    for (let i = 0; i < 170; i++) {
      for (const kind of kinds) {
        const k = kind(i);
        const id = await insertReleaseRow(server, { owner: owner.login, repo: r.name, tag: k.tag, prerelease: k.prerelease, createdAt: '2026-01-01T00:00:00Z' });
        expected.set(id, { tag: k.tag, before: k.before ?? k.channel, channel: k.channel, prefix: k.prefix, version: k.version });
      }
    }
    // A release's own channel survives the rules: it matches the new candidate rule but stays lts.
    const chosen = await r.release('v3.999.0-rc1', { channel: 'lts' });
    expect(chosen.channel).toBe('lts');
    expected.set(chosen.id, { tag: 'v3.999.0-rc1', before: 'lts', channel: 'lts', prefix: '', version: '3.999.0-rc1' });

    const repoId = (await db.selectFrom('repositories').select('id').where('name', '=', r.name).executeTakeFirstOrThrow()).id;
    const rows = () => db.selectFrom('releases').select(['id', 'tag_name', 'channel', 'channel_override', 'tag_prefix', 'version']).where('repository_id', '=', repoId).execute();
    const generation = async () =>
      Number((await db.selectFrom('repository_generations').select('generation').where('repository_id', '=', repoId).executeTakeFirstOrThrow()).generation);
    const events = async () =>
      Number(
        (
          await db
            .selectFrom('events')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('repository_id', '=', repoId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await rows();
    expect(before).toHaveLength(1021);
    for (const row of before) expect(row.channel, row.tag_name).toBe(expected.get(row.id)!.before);
    const generationBefore = await generation();
    const eventsBefore = await events();

    const patched = await call('PATCH', `${r.api}/releases/rules`, {
      token: owner.token,
      body: {
        prefixes: ['cli-'],
        channels: [
          { pattern: 'nightly-*', channel: 'nightly', scheme: 'calendar' },
          { pattern: 'v*-rc*', channel: 'candidate' },
        ],
      },
    });
    expect(patched.status).toBe(200);

    const after = await rows();
    expect(after).toHaveLength(1021);
    for (const row of after) {
      const want = expected.get(row.id)!;
      expect({ tag: row.tag_name, channel: row.channel, prefix: row.tag_prefix, version: row.version }).toEqual({
        tag: want.tag,
        channel: want.channel,
        prefix: want.prefix,
        version: want.version,
      });
    }
    expect(after.find((row) => row.id === chosen.id)!.channel_override).toBe('lts');
    expect(after.filter((row) => row.channel_override !== null)).toHaveLength(1);
    // Cached answers must see the change (the generation moved); a rule change publishes no events.
    expect(await generation()).toBeGreaterThan(generationBefore);
    expect(await events()).toBe(eventsBefore);
    // Readers agree: the channel overview counts the new channels, and latest per channel finds them.
    const channels = await call('GET', `${r.api}/releases/channels`, {});
    expect(channels.status).toBe(200);
    expect((channels.body as Array<{ prefix: string; channel: string; releases: number }>).map((c) => `${c.prefix}${c.channel}:${c.releases}`).sort()).toEqual(
      ['beta:170', 'candidate:170', 'cli-stable:170', 'lts:1', 'nightly:170', 'stable:340'].sort(),
    );
    expect(await r.latestTag('?channel=candidate')).toBe('v3.169.0-rc1');
    expect(await r.latestTag('?channel=nightly')).toBe('nightly-20260169');
    expect(await r.latestTag('?prefix=cli-')).toBe('cli-v1.169.0');
  });

  it('serves the latest of a line to browsers, and JSON where GitHub’s web does', async () => {
    const r = await repo();
    const stable = await r.release('v1.0.0');
    await r.release('v1.1.0-beta.1', { prerelease: true });
    for (const [tag, id] of [
      ['v1.0.0', stable.id],
      ['v1.1.0-beta.1', (await call('GET', `${r.api}/releases/tags/v1.1.0-beta.1`, {})).body.id],
    ] as const) {
      const up = await fetch(`${server.uploads}/repos/${r.full}/releases/${id}/assets?name=app.zip`, {
        method: 'POST',
        headers: { authorization: `token ${pusher.token}`, 'content-type': 'application/zip' },
        body: `bytes of ${tag}`,
      });
      expect(up.status).toBe(201);
    }
    const web = `${server.base}/${r.full}/releases`;
    const stableDownload = await fetch(`${web}/latest/download/app.zip`, { redirect: 'manual' });
    expect(stableDownload.headers.get('location')).toBe(`${web}/download/v1.0.0/app.zip`);
    const betaDownload = await fetch(`${web}/latest/download/app.zip?channel=beta`, { redirect: 'manual' });
    expect(betaDownload.headers.get('location')).toBe(`${web}/download/v1.1.0-beta.1/app.zip`);
    expect(await (await fetch(betaDownload.headers.get('location')!)).text()).toBe('bytes of v1.1.0-beta.1');

    const json = await fetch(`${web}/latest`, { headers: { accept: 'application/json' }, redirect: 'manual' });
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ id: stable.id, tag_name: 'v1.0.0', update_url: `/${r.full}/releases/tag/v1.0.0` });
    const betaJson = await fetch(`${web}/latest?channel=beta`, { headers: { accept: 'application/json' } });
    expect((await betaJson.json()).tag_name).toBe('v1.1.0-beta.1');
    const page = await fetch(`${web}/latest`, { redirect: 'manual' });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe(`/${r.full}/releases/tag/v1.0.0`);
    const none = await fetch(`${web}/latest?channel=nightly`, { headers: { accept: 'application/json' } });
    expect(none.status).toBe(404);

    // The releases page: a channel's badge, the filter, and the version order.
    const list = await (await fetch(`${web}?channel=beta`)).text();
    expect(list).toContain(`<a class="badge channel" href="/${r.full}/releases?channel=beta" title="Releases in this channel">beta</a>`);
    expect(list).toContain('v1.1.0-beta.1');
    expect(list).not.toContain('/releases/tag/v1.0.0"');
    const sorted = await (await fetch(`${web}?sort=version`)).text();
    expect(sorted.indexOf('v1.1.0-beta.1')).toBeLessThan(sorted.indexOf('/releases/tag/v1.0.0"'));
    expect(sorted).toContain('<option value="version" selected>Highest version</option>');
  });
});
