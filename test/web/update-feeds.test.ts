/**
 * Update feeds for desktop apps (docs/update-feeds.md), read as the updaters read them:
 * - electron-updater's own GitHub provider (its provider class and request sequence, run in Node
 *   with builder-util-runtime's HTTP executor over Node's `http`, which is what electron-builder
 *   itself uses outside Electron) finds the right update on the stable and beta channels;
 * - Tauri's JSON checked against the format Tauri documents (a JSON schema written from its docs:
 *   Tauri publishes no schema file for the update response), statically and dynamically;
 * - the Sparkle appcast parsed as XML with its namespace and required attributes;
 * - Squirrel.Mac's static and server answers and Squirrel.Windows' update directory.
 * Signatures are the developer's: a platform without one is left out, and the page says why.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { RequestOptions } from 'node:https';
import { HttpExecutor } from 'builder-util-runtime';
import { GenericProvider } from 'electron-updater/out/providers/GenericProvider.js';
import { GitHubProvider } from 'electron-updater/out/providers/GitHubProvider.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SemVer } from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, uniqueName, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let owner: TestUser;

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server, uniqueName('own'));
});
afterAll(() => server.close());

class NodeHttpExecutor extends HttpExecutor<http.ClientRequest> {
  createRequest(options: RequestOptions, callback: (response: unknown) => void): http.ClientRequest {
    return http.request(options as http.RequestOptions, callback);
  }
}

async function repoWithReleases() {
  const { full } = await createRepo(server, owner);
  const work = await WorkRepo.create();
  await work.commit('first');
  await work.push(server, full, owner.token, 'main');
  const api = `${server.api}/repos/${full}`;
  const release = async (tag_name: string, assets: Record<string, string>, extra: Record<string, unknown> = {}) => {
    const res = await call('POST', `${api}/releases`, { token: owner.token, body: { tag_name, name: `Release ${tag_name}`, body: `Notes of ${tag_name}`, ...extra } });
    expect(res.status).toBe(201);
    for (const [name, content] of Object.entries(assets)) {
      const up = await fetch(`${server.uploads}/repos/${full}/releases/${res.body.id}/assets?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { authorization: `token ${owner.token}`, 'content-type': 'application/octet-stream' },
        body: content,
      });
      expect(up.status, name).toBe(201);
    }
    return res.body as { id: number };
  };
  return { full, api, release, feeds: `${server.base}/${full}/releases/feeds` };
}

const sha512 = (text: string) => createHash('sha512').update(text).digest('base64');
const channelFile = (version: string, file: string, content: string) =>
  `version: ${version}\nfiles:\n  - url: ${file}\n    sha512: ${sha512(content)}\n    size: ${Buffer.byteLength(content)}\npath: ${file}\nsha512: ${sha512(content)}\nreleaseDate: '2026-12-01T10:00:00.000Z'\n`;

describe('electron-updater', () => {
  it('finds the stable and the beta update through its GitHub provider, unmodified', async () => {
    const r = await repoWithReleases();
    const stableExe = 'installer of 1.0.0';
    const betaExe = 'installer of 1.1.0-beta.1';
    await r.release('v0.9.0', { 'App-Setup-0.9.0.exe': 'old', 'latest.yml': channelFile('0.9.0', 'App-Setup-0.9.0.exe', 'old') });
    await r.release('v1.0.0', { 'App-Setup-1.0.0.exe': stableExe, 'latest.yml': channelFile('1.0.0', 'App-Setup-1.0.0.exe', stableExe) });
    await r.release(
      'v1.1.0-beta.1',
      { 'App-Setup-1.1.0-beta.1.exe': betaExe, 'beta.yml': channelFile('1.1.0-beta.1', 'App-Setup-1.1.0-beta.1.exe', betaExe) },
      { prerelease: true },
    );

    const [ownerLogin, repo] = r.full.split('/') as [string, string];
    const host = new URL(server.base).host;
    const executor = new NodeHttpExecutor();
    const provider = (channel: string | null, allowPrerelease: boolean, current: string) =>
      new GitHubProvider(
        { provider: 'github', owner: ownerLogin, repo, host, protocol: 'http' },
        // The parts of AppUpdater the provider reads.
        { channel, allowPrerelease, currentVersion: new SemVer(current), fullChangelog: false } as never,
        // Outside Electron there is no `net` module: Node's `http` carries the requests instead.
        { executor: executor as never, isUseMultipleRangeRequest: false, platform: 'win32' },
      );

    const stable = provider(null, false, '0.9.0');
    const info = await stable.getLatestVersion();
    expect(info.version).toBe('1.0.0');
    expect(info.tag).toBe('v1.0.0');
    expect(info.releaseName).toBe('Release v1.0.0');
    const [file] = stable.resolveFiles(info);
    const bytes = await (await fetch(file!.url.href)).text();
    expect(bytes).toBe(stableExe);
    expect(createHash('sha512').update(bytes).digest('base64')).toBe(file!.info.sha512);

    const beta = provider('beta', true, '1.0.0');
    const betaInfo = await beta.getLatestVersion();
    expect(betaInfo.version).toBe('1.1.0-beta.1');
    const [betaFile] = beta.resolveFiles(betaInfo);
    expect(await (await fetch(betaFile!.url.href)).text()).toBe(betaExe);

    // An old-line patch published last: GitHub would make it "latest" and stable users would be
    // offered 0.9.1; Wharf's latest stays 1.0.0 (docs/channels.md).
    await r.release('v0.9.1', { 'App-Setup-0.9.1.exe': 'patch', 'latest.yml': channelFile('0.9.1', 'App-Setup-0.9.1.exe', 'patch') });
    expect((await provider(null, false, '0.9.0').getLatestVersion()).version).toBe('1.0.0');

    // The generic provider, pointed at the latest release's download URLs (per channel with a filter).
    const generic = (url: string, channel: string | null) =>
      new GenericProvider({ provider: 'generic', url }, { channel, isAddNoCacheQuery: false } as never, {
        executor: executor as never,
        isUseMultipleRangeRequest: false,
        platform: 'win32',
      });
    const latestDownloads = `${server.base}/${r.full}/releases/latest/download`;
    const genericStable = generic(latestDownloads, null);
    const genericInfo = await genericStable.getLatestVersion();
    expect(genericInfo.version).toBe('1.0.0');
    expect(await (await fetch(genericStable.resolveFiles(genericInfo)[0]!.url.href)).text()).toBe(stableExe);
    const genericBeta = generic(`${latestDownloads}?channel=beta`, 'beta');
    const genericBetaInfo = await genericBeta.getLatestVersion();
    expect(genericBetaInfo.version).toBe('1.1.0-beta.1');
    expect(await (await fetch(genericBeta.resolveFiles(genericBetaInfo)[0]!.url.href)).text()).toBe(betaExe);
  });
});

const ajv = new Ajv({ strict: true, allErrors: true });
(addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
const platformKey = '^(linux|windows|darwin)-(x86_64|aarch64|i686|armv7)(-[a-z]+)?$';
/** Tauri's update response, as its updater documents it (static JSON and dynamic server answer). */
const tauriStatic = ajv.compile({
  type: 'object',
  required: ['version', 'platforms'],
  properties: {
    version: { type: 'string', pattern: '^v?\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?$' },
    notes: { type: 'string' },
    pub_date: { type: 'string', format: 'date-time' },
    platforms: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: platformKey },
      additionalProperties: { type: 'object', required: ['url', 'signature'], properties: { url: { type: 'string', format: 'uri' }, signature: { type: 'string', minLength: 1 } } },
    },
  },
});
const tauriDynamic = ajv.compile({
  type: 'object',
  required: ['version', 'url', 'signature'],
  properties: {
    version: { type: 'string' },
    notes: { type: 'string' },
    pub_date: { type: 'string', format: 'date-time' },
    url: { type: 'string', format: 'uri' },
    signature: { type: 'string', minLength: 1 },
  },
});

describe('Tauri, Sparkle and Squirrel feeds', () => {
  it('serve the channel’s latest release with the developer’s signatures, leaving out what is unsigned and saying why', async () => {
    const r = await repoWithReleases();
    await r.release('v1.0.0', {
      'App_aarch64.app.tar.gz': 'mac arm',
      'App_aarch64.app.tar.gz.sig': 'c2lnLW1hYy1hcm0=\n',
      'App_1.0.0_amd64.AppImage': 'linux',
      'App_1.0.0_amd64.AppImage.sig': 'c2lnLWxpbnV4',
      'App_1.0.0_x64-setup.exe': 'windows unsigned',
      'App-1.0.0-mac.zip': 'sparkle zip',
      'App-1.0.0-mac.zip.sig': 'ZWQyNTUxOS1zaWc=',
      RELEASES: 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678 App-1.0.0-full.nupkg 11',
      'App-1.0.0-full.nupkg': 'nupkg bytes',
    });
    await r.release(
      'v1.1.0-beta.1',
      { 'App_universal.app.tar.gz': 'mac beta', 'App_universal.app.tar.gz.sig': 'YmV0YQ==', 'App-1.1.0-beta.1-mac.zip': 'beta zip' },
      { prerelease: true },
    );

    const tauri = await fetch(`${r.feeds}/stable/tauri.json`);
    expect(tauri.status).toBe(200);
    const json = await tauri.json();
    expect(tauriStatic(json), JSON.stringify(tauriStatic.errors)).toBe(true);
    expect(json.version).toBe('1.0.0');
    expect(json.notes).toBe('Notes of v1.0.0');
    expect(Object.keys(json.platforms).sort()).toEqual(['darwin-aarch64', 'linux-x86_64']);
    expect(json.platforms['darwin-aarch64']).toEqual({ url: `${server.base}/${r.full}/releases/download/v1.0.0/App_aarch64.app.tar.gz`, signature: 'c2lnLW1hYy1hcm0=' });
    expect(await (await fetch(json.platforms['linux-x86_64'].url)).text()).toBe('linux');
    // The unsigned Windows installer is left out, and the release page says so.
    const page = await (await fetch(`${server.base}/${r.full}/releases/tag/v1.0.0`)).text();
    expect(page).toContain('Update feeds leave out');
    expect(page).toContain('App_1.0.0_x64-setup.exe.sig');

    const betaTauri = await (await fetch(`${r.feeds}/beta/tauri.json`)).json();
    expect(tauriStatic(betaTauri)).toBe(true);
    expect(Object.keys(betaTauri.platforms).sort()).toEqual(['darwin-aarch64', 'darwin-x86_64']);

    // Tauri's dynamic endpoint: 204 when up to date, one platform's answer otherwise.
    expect((await fetch(`${r.feeds}/stable/tauri/linux/x86_64/1.0.0`)).status).toBe(204);
    expect((await fetch(`${r.feeds}/stable/tauri/windows/x86_64/0.9.0`)).status).toBe(204);
    const dynamic = await (await fetch(`${r.feeds}/stable/tauri/linux/x86_64/0.9.0`)).json();
    expect(tauriDynamic(dynamic), JSON.stringify(tauriDynamic.errors)).toBe(true);
    expect(dynamic).toMatchObject({ version: '1.0.0', signature: 'c2lnLWxpbnV4' });

    // Sparkle: RSS with its namespace, one signed enclosure per release of the channel.
    const appcast = await fetch(`${r.feeds}/stable/appcast.xml`);
    expect(appcast.headers.get('content-type')).toMatch(/^application\/rss\+xml/);
    const xml = await appcast.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    const rss = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(xml).rss;
    expect(rss['@version']).toBe('2.0');
    expect(rss['@xmlns:sparkle']).toBe('http://www.andymatuschak.org/xml-namespaces/sparkle');
    const item = rss.channel.item;
    expect(item['sparkle:version']).toBe('1.0.0');
    expect(item['sparkle:shortVersionString']).toBe('1.0.0');
    expect(item['sparkle:channel']).toBeUndefined();
    expect(item.enclosure).toMatchObject({
      '@url': `${server.base}/${r.full}/releases/download/v1.0.0/App-1.0.0-mac.zip`,
      '@length': String(Buffer.byteLength('sparkle zip')),
      '@type': 'application/octet-stream',
      '@sparkle:edSignature': 'ZWQyNTUxOS1zaWc=',
    });
    expect(Number.isNaN(Date.parse(item.pubDate))).toBe(false);
    expect(item.description).toContain('Notes of v1.0.0');
    // The beta's zip has no signature: its appcast has no item, and its page says why.
    const betaRss = new XMLParser({ ignoreAttributes: false }).parse(await (await fetch(`${r.feeds}/beta/appcast.xml`)).text()).rss;
    expect(betaRss.channel.item).toBeUndefined();

    // Squirrel.Mac: static JSON and the server answer.
    const squirrel = await (await fetch(`${r.feeds}/stable/squirrel-mac.json`)).json();
    expect(squirrel.currentRelease).toBe('1.0.0');
    expect(squirrel.releases[0]).toEqual({
      version: '1.0.0',
      updateTo: {
        version: '1.0.0',
        pub_date: expect.any(String),
        notes: 'Notes of v1.0.0',
        name: 'Release v1.0.0',
        url: `${server.base}/${r.full}/releases/download/v1.0.0/App-1.0.0-mac.zip`,
      },
    });
    expect((await fetch(`${r.feeds}/stable/squirrel-mac?version=1.0.0`)).status).toBe(204);
    const server0 = await fetch(`${r.feeds}/stable/squirrel-mac?version=0.9.0`);
    expect(server0.status).toBe(200);
    expect(await server0.json()).toMatchObject({ url: squirrel.releases[0].updateTo.url, name: 'Release v1.0.0' });

    // Squirrel.Windows: RELEASES as Squirrel made it (its own query parameters ignored), then the packages.
    const releases = await fetch(`${r.feeds}/stable/squirrel-windows/RELEASES?id=App&localVersion=0.9.0&arch=amd64`);
    expect(await releases.text()).toBe('A1B2C3D4E5F60718293A4B5C6D7E8F9012345678 App-1.0.0-full.nupkg 11\n');
    const pkg = await fetch(`${r.feeds}/stable/squirrel-windows/App-1.0.0-full.nupkg`);
    expect(await pkg.text()).toBe('nupkg bytes');
    expect((await fetch(`${r.feeds}/stable/squirrel-windows/other.nupkg`)).status).toBe(404);
    expect((await fetch(`${r.feeds}/nightly/tauri.json`)).status).toBe(404);
  });

  it('keeps a private repository’s feeds behind its access rules', async () => {
    const { full } = await createRepo(server, owner, { private: true });
    const work = await WorkRepo.create();
    await work.commit('first');
    await work.push(server, full, owner.token, 'main');
    await call('POST', `${server.api}/repos/${full}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0' } });
    const feeds = `${server.base}/${full}/releases/feeds/stable`;
    for (const path of ['tauri.json', 'appcast.xml', 'squirrel-mac.json', 'squirrel-windows/RELEASES']) expect((await fetch(`${feeds}/${path}`)).status, path).toBe(404);
    expect((await fetch(`${feeds}/appcast.xml`, { headers: { authorization: `token ${owner.token}` } })).status).toBe(200);
  });
});
