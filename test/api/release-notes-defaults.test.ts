import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastImport, historyStream } from '../support/fast-history.ts';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { insertReleaseRow } from '../support/release-rows.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let carl: TestUser;

beforeAll(async () => {
  server = await startServer();
  carl = await createUser(server, 'carl');
});
afterAll(() => server.close());

function generate(repo: string, body: unknown) {
  return call('POST', `${server.api}/repos/carl/${repo}/releases/generate-notes`, { token: carl.token, body });
}

describe('generate-notes defaults', () => {
  it('finds .github/release.yaml when there is no release.yml, and honours per-category exclusions', async () => {
    const { name } = await createRepo(server, carl);
    const work = await WorkRepo.create();
    const me = { name: 'Carl', email: 'carl@example.com' };
    const config = `changelog:
  categories:
    - title: Documentation
      labels: [docs]
    - title: Everything else
      labels: ["*"]
      exclude:
        labels: [ci]
`;
    const c1 = await work.commit('Add release configuration', { file: '.github/release.yaml', content: config, author: me, date: '2024-03-01T00:00:00Z' });
    const c2 = await work.commit('docs: write the guide', { author: me, date: '2024-03-02T00:00:00Z' });
    await work.commit('ci: add a pipeline', { author: me, date: '2024-03-03T00:00:00Z' });
    const c4 = await work.commit('Tidy up\n\nLabels: docs', { author: { name: 'Outside Olga', email: 'olga@elsewhere.org' }, date: '2024-03-04T00:00:00Z' });
    const c5 = await work.commit('Plain work', { author: { name: 'Carl', email: 'Carl@Example.COM' }, date: '2024-03-05T00:00:00Z' });
    await work.git('tag', 'v0.1.0');
    await work.push(server, `carl/${name}`, carl.token, 'main', 'v0.1.0');

    const res = await generate(name, { tag_name: 'v0.1.0' });
    expect(res.status).toBe(200);
    const commit = (sha: string) => `${server.base}/carl/${name}/commit/${sha}`;
    expect(res.body.body).toBe(
      [
        '<!-- Release notes generated using configuration in .github/release.yaml at v0.1.0 -->',
        '',
        "## What's Changed",
        '### Documentation',
        `* docs: write the guide by @carl in ${commit(c2)}`,
        `* Tidy up by Outside Olga in ${commit(c4)}`,
        '',
        '### Everything else',
        `* Add release configuration by @carl in ${commit(c1)}`,
        `* Plain work by @carl in ${commit(c5)}`,
        '',
        '## New Contributors',
        `* @carl made their first contribution in ${commit(c1)}`,
        `* Outside Olga made their first contribution in ${commit(c4)}`,
        '',
        `**Full Changelog**: ${server.base}/carl/${name}/commits/v0.1.0`,
      ].join('\n'),
    );
    // The ref named in the comment is the target branch when the tag does not exist yet.
    const ahead = await generate(name, { tag_name: 'v0.2.0', target_commitish: 'main' });
    expect(ahead.body.body.split('\n')[0]).toBe('<!-- Release notes generated using configuration in .github/release.yaml at main -->');

    // A release published through the API becomes the previous release of the next one.
    const published = await call('POST', `${server.api}/repos/carl/${name}/releases`, { token: carl.token, body: { tag_name: 'v0.1.0' } });
    expect(published.status).toBe(201);
    const c6 = await work.commit('feat: more', { author: me, date: '2024-03-06T00:00:00Z' });
    await work.push(server, `carl/${name}`, carl.token, 'main');
    const next = await generate(name, { tag_name: 'v0.2.0' });
    expect(next.body.body).toBe(
      [
        '<!-- Release notes generated using configuration in .github/release.yaml at main -->',
        '',
        "## What's Changed",
        '### Everything else',
        `* feat: more by @carl in ${commit(c6)}`,
        '',
        `**Full Changelog**: ${server.base}/carl/${name}/compare/v0.1.0...v0.2.0`,
      ].join('\n'),
    );
  });

  it('answers anonymous callers on a public repository with 401', async () => {
    const { name } = await createRepo(server, carl);
    expectGitHubError(await call('POST', `${server.api}/repos/carl/${name}/releases/generate-notes`, { body: { tag_name: 'v1' } }), 401, 'Requires authentication');
  });

  it('prefers the most recently created release among releases of the same date', async () => {
    const { name } = await createRepo(server, carl);
    const work = await WorkRepo.create();
    await work.commit('first', { date: '2024-05-01T00:00:00Z' });
    await work.git('tag', 'one');
    await work.git('tag', 'also-one');
    const second = await work.commit('second', { date: '2024-05-02T00:00:00Z' });
    await work.push(server, `carl/${name}`, carl.token, 'main', 'one', 'also-one');
    await insertReleaseRow(server, { owner: 'carl', repo: name, tag: 'one', createdAt: '2024-05-01T00:00:00Z' });
    await insertReleaseRow(server, { owner: 'carl', repo: name, tag: 'also-one', createdAt: '2024-05-01T00:00:00Z' });
    const res = await generate(name, { tag_name: 'two' });
    expect(res.body.body).toBe(
      [
        "## What's Changed",
        `* second by Test Author in ${server.base}/carl/${name}/commit/${second}`,
        '',
        `**Full Changelog**: ${server.base}/carl/${name}/compare/also-one...two`,
      ].join('\n'),
    );
  });

  it('refuses a configuration file too large to be one', async () => {
    const { name } = await createRepo(server, carl);
    const work = await WorkRepo.create();
    await work.commit('huge config', { file: 'notes.yml', content: `changelog:\n  exclude:\n    labels:\n${'      - x\n'.repeat(30_000)}` });
    await work.push(server, `carl/${name}`, carl.token, 'main');
    const res = await generate(name, { tag_name: 'v1.0.0', configuration_file_path: 'notes.yml' });
    expect(expectGitHubError(res, 422, 'Validation Failed').errors).toEqual([
      { resource: 'Release', field: 'configuration_file_path', code: 'custom', message: 'notes.yml at main: is larger than 262144 bytes' },
    ]);
  });

  it('truncates very long notes below the release body limit with a marker', async () => {
    const { name } = await createRepo(server, carl);
    const work = await WorkRepo.create();
    const commits = 1300;
    await fastImport(`${work.dir}/.git`, historyStream({ commits, authors: 50, subjectPadding: ' — '.padEnd(100, 'x') }));
    await work.git('tag', 'v9.0.0', 'main');
    await work.push(server, `carl/${name}`, carl.token, 'main', 'v9.0.0');

    const res = await generate(name, { tag_name: 'v9.0.0' });
    expect(res.status).toBe(200);
    const body: string = res.body.body;
    expect(body.length).toBeLessThanOrEqual(125_000);
    expect(body.length).toBeGreaterThan(124_000);
    const kept = body.split('\n').filter((line) => line.startsWith('* ')).length;
    const omitted = Number(/These notes were truncated: (\d+) more entries are not shown\./.exec(body)?.[1]);
    // 1300 changes and 50 first-time authors; the changes come first, so no contributor fits.
    expect(kept + omitted).toBe(commits + 50);
    expect(body).not.toContain('## New Contributors');
    expect(body.startsWith(`## What's Changed\n* fix: change number 1 — x`)).toBe(true);
    expect(body.endsWith(`\n\n**Full Changelog**: ${server.base}/carl/${name}/commits/v9.0.0`)).toBe(true);
  });
});
