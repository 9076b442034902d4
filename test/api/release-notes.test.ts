import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCollaborator, createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call, expectGitHubError } from '../support/http.ts';
import { insertReleaseRow } from '../support/release-rows.ts';
import { startServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let reader: TestUser;
let stranger: TestUser;
let repoName: string;
let web: string;
const sha: Record<string, string> = {};

const CAROL = { name: 'Carol Outsider', email: 'carol@elsewhere.org' };
const DAVE = { name: 'Dave Newcomer', email: 'dave@elsewhere.org' };

const NOTES_CONFIG = `changelog:
  exclude:
    labels: [skip-changelog]
    authors: [Dave Newcomer]
  categories:
    - title: Breaking Changes 🛠
      labels: [breaking]
    - title: Features
      labels: [feat]
    - title: Fixes
      labels: [fix]
      exclude:
        authors: [bob]
    - title: Other Changes
      labels: ["*"]
`;

/**
 * main:  c1 (v1.0.0) ─ c2 ─ m1 ─ c4 ─ c5 (v1.1.0-rc.1) ─ c7 ─ m2 (v1.1.0) ─ c9
 *                        \ b1 /                            \ f1 /
 */
beforeAll(async () => {
  server = await startServer();
  web = server.base;
  alice = await createUser(server, 'alice');
  bob = await createUser(server, 'bob');
  reader = await createUser(server, 'reader');
  stranger = await createUser(server, 'stranger');
  const repo = await createRepo(server, alice, { private: true });
  repoName = repo.name;
  await addCollaborator(server, alice, repoName, bob, 'push');
  await addCollaborator(server, alice, repoName, reader, 'pull');

  const work = await WorkRepo.create();
  const a = { name: 'Alice A.', email: 'alice@example.com' };
  const b = { name: 'Bob B.', email: 'bob@example.com' };
  await work.commit('config files', { file: 'config/notes.yml', content: NOTES_CONFIG, author: a, date: '2024-01-01T00:00:00Z' });
  await work.git('add', '-A');
  sha.c1 = await work.commit('Initial commit', { file: 'config/broken.yml', content: 'changelog:\n  categories: [unclosed\n', author: a, date: '2024-01-01T01:00:00Z' });
  await work.git('tag', 'v1.0.0');
  sha.c2 = await work.commit('feat(api): add endpoint', { author: a, date: '2024-01-02T00:00:00Z' });
  await work.git('checkout', '-q', '-b', 'topic');
  sha.b1 = await work.commit('wip on parser', { file: 'parser.txt', author: b, date: '2024-01-03T00:00:00Z' });
  await work.git('checkout', '-q', 'main');
  work.author = a;
  work.date = '2024-01-04T00:00:00Z';
  await work.git('merge', '-q', '--no-ff', '-m', 'Merge pull request #7 from bob/topic', '-m', 'fix(parser): handle empty input', 'topic');
  sha.m1 = await work.git('rev-parse', 'HEAD');
  sha.c4 = await work.commit('docs: explain config', { file: 'docs.md', author: CAROL, date: '2024-01-05T00:00:00Z' });
  await work.git('tag', 'v1.0.5');
  sha.c5 = await work.commit('chore: bump deps\n\nLabels: skip-changelog', { author: a, date: '2024-01-06T00:00:00Z' });
  await work.git('tag', 'v1.1.0-rc.1');
  sha.c7 = await work.commit('Plain change without prefix', { author: DAVE, date: '2024-01-07T00:00:00Z' });
  await work.git('checkout', '-q', '-b', 'feature2');
  sha.f1 = await work.commit('feat!: new format', { file: 'format.txt', author: CAROL, date: '2024-01-08T00:00:00Z' });
  await work.git('checkout', '-q', 'main');
  work.date = '2024-01-09T00:00:00Z';
  await work.git('merge', '-q', '--no-ff', '--no-edit', 'feature2');
  sha.m2 = await work.git('rev-parse', 'HEAD');
  await work.git('tag', 'v1.1.0');
  sha.c9 = await work.commit('fix: late fix', { author: b, date: '2024-01-10T00:00:00Z' });
  await work.push(server, `alice/${repoName}`, alice.token, '--all');
  await work.push(server, `alice/${repoName}`, alice.token, '--tags');

  const release = (tag: string, createdAt: string, extra: { draft?: boolean; prerelease?: boolean } = {}) =>
    insertReleaseRow(server, { owner: 'alice', repo: repoName, tag, createdAt, ...extra });
  await release('v1.0.0', '2024-01-01T01:00:00Z');
  // Never a previous release: a draft (its tag exists), and a release whose tag was deleted.
  await release('v1.0.5', '2024-01-05T00:00:00Z', { draft: true });
  await release('v1.0.7', '2024-01-05T12:00:00Z');
  // A draft prerelease whose tag name does not look like one.
  await release('next', '2024-01-07T00:00:00Z', { draft: true, prerelease: true });
  await release('v1.1.0-rc.1', '2024-01-06T00:00:00Z', { prerelease: true });
  await release('v1.1.0', '2024-01-09T00:00:00Z');
});
afterAll(() => server.close());

function generate(body: unknown, token: string | null = alice.token) {
  return call('POST', `${server.api}/repos/alice/${repoName}/releases/generate-notes`, { token, body });
}

const link = (key: string) => `${web}/alice/${repoName}/commit/${sha[key]}`;

describe('generate-notes', () => {
  it("lists the changes since the previous stable release in GitHub's default format", async () => {
    const res = await generate({ tag_name: 'v1.1.0' });
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('v1.1.0');
    expect(res.body.body).toBe(
      [
        "## What's Changed",
        `* feat(api): add endpoint by @alice in ${link('c2')}`,
        `* fix(parser): handle empty input by @bob in ${link('m1')}`,
        `* docs: explain config by Carol Outsider in ${link('c4')}`,
        `* chore: bump deps by @alice in ${link('c5')}`,
        `* Plain change without prefix by Dave Newcomer in ${link('c7')}`,
        `* feat!: new format by Carol Outsider in ${link('m2')}`,
        '',
        '## New Contributors',
        `* @bob made their first contribution in ${link('m1')}`,
        `* Carol Outsider made their first contribution in ${link('c4')}`,
        `* Dave Newcomer made their first contribution in ${link('c7')}`,
        '',
        `**Full Changelog**: ${web}/alice/${repoName}/compare/v1.0.0...v1.1.0`,
      ].join('\n'),
    );
  });

  it('applies a configuration file: categories, wildcard, exclusions by label and author', async () => {
    const res = await generate({ tag_name: 'v1.1.0', configuration_file_path: 'config/notes.yml' });
    expect(res.status).toBe(200);
    expect(res.body.body).toBe(
      [
        '<!-- Release notes generated using configuration in config/notes.yml at v1.1.0 -->',
        '',
        "## What's Changed",
        '### Breaking Changes 🛠',
        `* feat!: new format by Carol Outsider in ${link('m2')}`,
        '',
        '### Features',
        `* feat(api): add endpoint by @alice in ${link('c2')}`,
        '',
        '### Other Changes',
        `* fix(parser): handle empty input by @bob in ${link('m1')}`,
        `* docs: explain config by Carol Outsider in ${link('c4')}`,
        '',
        '## New Contributors',
        `* @bob made their first contribution in ${link('m1')}`,
        `* Carol Outsider made their first contribution in ${link('c4')}`,
        '',
        `**Full Changelog**: ${web}/alice/${repoName}/compare/v1.0.0...v1.1.0`,
      ].join('\n'),
    );
  });

  it('starts from an explicit previous tag', async () => {
    const res = await generate({ tag_name: 'v1.1.0', previous_tag_name: 'v1.1.0-rc.1' });
    expect(res.body.body).toBe(
      [
        "## What's Changed",
        `* Plain change without prefix by Dave Newcomer in ${link('c7')}`,
        `* feat!: new format by Carol Outsider in ${link('m2')}`,
        '',
        '## New Contributors',
        `* Dave Newcomer made their first contribution in ${link('c7')}`,
        '',
        `**Full Changelog**: ${web}/alice/${repoName}/compare/v1.1.0-rc.1...v1.1.0`,
      ].join('\n'),
    );
    const unknown = await generate({ tag_name: 'v1.1.0', previous_tag_name: 'v0.0.1' });
    expect(expectGitHubError(unknown, 422, 'Validation Failed').errors).toEqual([
      { resource: 'Release', field: 'previous_tag_name', code: 'custom', message: 'previous_tag_name v0.0.1 is not an existing tag' },
    ]);
  });

  it('covers the whole history when there is no previous release', async () => {
    const res = await generate({ tag_name: 'v1.0.0' });
    expect(res.body.body).toBe(
      [
        "## What's Changed",
        `* config files by @alice in ${web}/alice/${repoName}/commit/${await firstCommit()}`,
        `* Initial commit by @alice in ${link('c1')}`,
        '',
        '## New Contributors',
        `* @alice made their first contribution in ${web}/alice/${repoName}/commit/${await firstCommit()}`,
        '',
        `**Full Changelog**: ${web}/alice/${repoName}/commits/v1.0.0`,
      ].join('\n'),
    );
  });

  it('uses target_commitish for a tag that does not exist yet, the default branch without it', async () => {
    const expected = ["## What's Changed", `* fix: late fix by @bob in ${link('c9')}`, '', `**Full Changelog**: ${web}/alice/${repoName}/compare/v1.1.0...v1.2.0`].join('\n');
    const onMain = await generate({ tag_name: 'v1.2.0', target_commitish: 'main' });
    expect(onMain.body).toEqual({ name: 'v1.2.0', body: expected });
    expect((await generate({ tag_name: 'v1.2.0' }, bob.token)).body.body).toBe(expected);
    for (const target of ['no-such-branch', 'HEAD', sha.c9!.slice(0, 12)]) {
      const nowhere = await generate({ tag_name: 'v1.2.0', target_commitish: target });
      expect(expectGitHubError(nowhere, 422, 'Validation Failed').errors).toEqual([{ resource: 'Release', field: 'target_commitish', code: 'invalid' }]);
    }
    // An existing tag is a valid target too, as on create.
    const onTag = await generate({ tag_name: 'v1.2.0', target_commitish: 'v1.1.0-rc.1' });
    // Its commit (2024-01-06) predates v1.1.0, so the previous stable release is v1.0.0.
    expect(onTag.body.body).toMatch(new RegExp(`^## What's Changed\\n\\* feat\\(api\\): add endpoint by @alice`));
    expect(onTag.body.body).toContain(`\n* chore: bump deps by @alice in ${link('c5')}\n\n## New Contributors`);
    expect(onTag.body.body.endsWith('compare/v1.0.0...v1.2.0')).toBe(true);
  });

  it('skips prereleases as the previous release of a stable tag, not of a prerelease', async () => {
    const stable = await generate({ tag_name: 'v1.0.9', target_commitish: sha.c7 });
    expect(stable.body.body).toMatch(new RegExp(`compare/v1\\.0\\.0\\.\\.\\.v1\\.0\\.9$`));
    const flagged = await generate({ tag_name: 'next', target_commitish: sha.c7 });
    expect(flagged.body.body).toMatch(new RegExp(`compare/v1\\.1\\.0-rc\\.1\\.\\.\\.next$`));
    const pre = await generate({ tag_name: 'v1.1.0-rc.2', target_commitish: sha.c7 });
    expect(pre.body.body).toBe(
      [
        "## What's Changed",
        `* Plain change without prefix by Dave Newcomer in ${link('c7')}`,
        '',
        '## New Contributors',
        `* Dave Newcomer made their first contribution in ${link('c7')}`,
        '',
        `**Full Changelog**: ${web}/alice/${repoName}/compare/v1.1.0-rc.1...v1.1.0-rc.2`,
      ].join('\n'),
    );
  });

  it('answers an empty range with only the changelog line', async () => {
    const res = await generate({ tag_name: 'v1.1.0', previous_tag_name: 'v1.1.0' });
    expect(res.body.body).toBe(`**Full Changelog**: ${web}/alice/${repoName}/compare/v1.1.0...v1.1.0`);
  });

  it('rejects invalid and missing configuration files with 422 naming the problem', async () => {
    const broken = expectGitHubError(await generate({ tag_name: 'v1.1.0', configuration_file_path: 'config/broken.yml' }), 422, 'Validation Failed');
    expect(broken.errors).toHaveLength(1);
    expect(broken.errors[0]).toMatchObject({ resource: 'Release', field: 'configuration_file_path', code: 'custom' });
    expect(broken.errors[0].message).toMatch(/^config\/broken\.yml at v1\.1\.0: is not valid YAML: /);
    const missing = expectGitHubError(await generate({ tag_name: 'v1.1.0', configuration_file_path: 'nope/release.yml' }), 422, 'Validation Failed');
    expect(missing.errors).toEqual([
      { resource: 'Release', field: 'configuration_file_path', code: 'custom', message: 'configuration file nope/release.yml does not exist at v1.1.0' },
    ]);
    const escaping = expectGitHubError(await generate({ tag_name: 'v1.1.0', configuration_file_path: '../etc/passwd' }), 422, 'Validation Failed');
    expect(escaping.errors[0].field).toBe('configuration_file_path');
  });

  it("rejects bad bodies with GitHub's messages", async () => {
    expectGitHubError(await generate({}), 422, `Invalid request.\n\n"tag_name" wasn't supplied.`);
    expectGitHubError(await generate({ tag_name: 5 }), 422, `Invalid request.\n\nFor 'properties/tag_name', 5 is not a string.`);
    expectGitHubError(await generate({ tag_name: 'v1', previous_tag_name: ['x'] }), 422, /^Invalid request\.\n\nFor 'properties\/previous_tag_name'/);
    const bad = await call('POST', `${server.api}/repos/alice/${repoName}/releases/generate-notes`, {
      token: alice.token,
      raw: '{"tag_name":',
      headers: { 'content-type': 'application/json' },
    });
    expectGitHubError(bad, 400, 'Problems parsing JSON');
    const badTag = expectGitHubError(await generate({ tag_name: 'bad..tag' }), 422, 'Validation Failed');
    expect(badTag.errors).toEqual([{ resource: 'Release', field: 'tag_name', code: 'custom', message: 'tag_name is not a valid tag' }]);
  });

  it('requires push access and hides private repositories', async () => {
    expectGitHubError(await generate({ tag_name: 'v1.1.0' }, reader.token), 403, 'Must have push access to repository.');
    expectGitHubError(await generate({ tag_name: 'v1.1.0' }, stranger.token), 404, 'Not Found');
    expectGitHubError(await generate({ tag_name: 'v1.1.0' }, null), 404, 'Not Found');
    expectGitHubError(await call('POST', `${server.api}/repos/alice/nothing-here/releases/generate-notes`, { token: alice.token, body: { tag_name: 'v1' } }), 404, 'Not Found');
  });

  it('fills name and body on create with generate_release_notes, after a given body', async () => {
    const notes = ["## What's Changed", `* fix: late fix by @bob in ${link('c9')}`, '', `**Full Changelog**: ${web}/alice/${repoName}/compare/v1.1.0...v1.3.0`].join('\n');
    const plain = await call('POST', `${server.api}/repos/alice/${repoName}/releases`, {
      token: alice.token,
      body: { tag_name: 'v1.3.0', target_commitish: 'main', draft: true, generate_release_notes: true },
    });
    expect(plain.status).toBe(201);
    expect([plain.body.name, plain.body.body]).toEqual(['v1.3.0', notes]);
    const given = await call('POST', `${server.api}/repos/alice/${repoName}/releases`, {
      token: alice.token,
      body: { tag_name: 'v1.3.0', name: 'Three', body: 'Intro', draft: true, generate_release_notes: true },
    });
    expect([given.body.name, given.body.body]).toEqual(['Three', `Intro\n\n${notes}`]);
    const without = await call('POST', `${server.api}/repos/alice/${repoName}/releases`, { token: alice.token, body: { tag_name: 'v1.3.0', draft: true } });
    expect(without.body.body).toBeNull();
  });

  it('works with Octokit', async () => {
    const octokit = new Octokit({ auth: alice.token, baseUrl: server.api });
    const { data, status } = await octokit.rest.repos.generateReleaseNotes({ owner: 'alice', repo: repoName, tag_name: 'v1.2.0', previous_tag_name: 'v1.1.0' });
    expect(status).toBe(200);
    expect(data.name).toBe('v1.2.0');
    expect(data.body).toContain(`* fix: late fix by @bob in ${link('c9')}`);
  });
});

async function firstCommit(): Promise<string> {
  const res = await call('GET', `${server.api}/repos/alice/${repoName}/commits/${sha.c1}`, { token: alice.token });
  return res.body.parents[0].sha;
}
