/**
 * The gh CLI release workflow, run with Debian's unmodified `gh` against a Wharf served over
 * HTTPS (directly, or behind nginx). gh only speaks HTTPS to enterprise hosts and drops ports
 * from git remotes, so every command names the repository as `-R host:port/owner/repo` and the
 * host as `GH_HOST=host:port`; the token comes from `GH_ENTERPRISE_TOKEN` and the test CA from
 * `SSL_CERT_FILE`, as a user with a private CA would set them.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import type { TestServer } from '../support/server.ts';
import { createTestCa, type TestCa } from '../support/tls.ts';
import { needs, TOOLS, type Tool } from '../support/tools.ts';

const run = promisify(execFile);

export interface Deployment {
  /** The Wharf behind it (for fixtures that talk to the app directly). */
  server: TestServer;
  /** Public `https://host:port` clients use. */
  base: string;
  close(): Promise<void>;
}

export function describeGhWorkflow(label: string, deploy: (ca: TestCa) => Promise<Deployment>, tools: Tool[] = []): void {
  describe.skipIf(!needs(TOOLS.gh, ...tools))(`gh ${label}`, () => {
    let ca: TestCa;
    let dep: Deployment;
    let api: string;
    let host: string;
    let alice: TestUser;
    let full: string;
    let work: WorkRepo;
    let files: string;
    let configDir: string;
    let previous: Dispatcher;

    /** Runs gh; resolves to stdout (and stderr, where gh prints status reports, after it). */
    async function gh(...args: string[]): Promise<string> {
      return (await ghBoth(...args)).stdout;
    }
    async function ghBoth(...args: string[]): Promise<{ stdout: string; stderr: string }> {
      try {
        return await run('gh', args, {
          cwd: files,
          timeout: 60_000,
          env: {
            PATH: process.env.PATH,
            HOME: configDir,
            GH_CONFIG_DIR: configDir,
            GH_HOST: host,
            GH_ENTERPRISE_TOKEN: alice.token,
            SSL_CERT_FILE: ca.caFile,
            GH_PROMPT_DISABLED: '1',
            GH_NO_UPDATE_NOTIFIER: '1',
            NO_COLOR: '1',
            GIT_TERMINAL_PROMPT: '0',
            TZ: 'UTC',
          },
        });
      } catch (err) {
        const e = err as { stderr?: string; stdout?: string; message: string };
        throw new Error(`gh ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: err });
      }
    }
    const repoFlag = () => ['-R', `${host}/${full}`];
    const rest = (p: string) => call('GET', `${api}/repos/${full}${p}`, { token: alice.token });
    const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

    beforeAll(async () => {
      ca = await createTestCa();
      dep = await deploy(ca);
      previous = getGlobalDispatcher();
      setGlobalDispatcher(new Agent({ connect: { ca: ca.ca } }));
      process.env.GIT_SSL_CAINFO = ca.caFile;
      api = `${dep.base}/api/v3`;
      host = new URL(dep.base).host;
      alice = await createUser(dep.server);
      full = (await createRepo(dep.server, alice)).full;
      work = await WorkRepo.create();
      await work.commit('first', { date: '2024-01-01T00:00:00Z' });
      await work.git('tag', 'v1.0.0');
      await work.commit('second', { date: '2024-02-01T00:00:00Z' });
      await work.push({ ...dep.server, base: dep.base }, full, alice.token, 'refs/heads/main', 'refs/tags/v1.0.0');
      files = await mkdtemp(path.join(tmpdir(), 'wharf-gh-files-'));
      configDir = await mkdtemp(path.join(tmpdir(), 'wharf-gh-config-'));
      await writeFile(path.join(files, 'app.txt'), 'app v1\n');
      await writeFile(path.join(files, 'app.zip'), Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]));
      await writeFile(path.join(files, 'notes.md'), '## Notes\n\nFirst release.\n');
    });
    afterAll(async () => {
      setGlobalDispatcher(previous);
      await dep?.close();
    });

    it('creates a release with files, a label, --notes-file and --verify-tag', async () => {
      const out = await gh('release', 'create', 'v1.0.0', 'app.txt', 'app.zip#Zip archive', '--title', 'One', '--notes-file', 'notes.md', '--verify-tag', ...repoFlag());
      expect(out.trim()).toBe(`${dep.base}/${full}/releases/tag/v1.0.0`);
      const release = await rest('/releases/tags/v1.0.0');
      expect(release.status).toBe(200);
      expect(release.body).toMatchObject({ name: 'One', body: '## Notes\n\nFirst release.\n', draft: false, prerelease: false });
      expect(release.body.assets.map((a: { name: string; label: string | null }) => [a.name, a.label]).sort()).toEqual([
        ['app.txt', ''],
        ['app.zip', 'Zip archive'],
      ]);
      await expect(gh('release', 'create', 'v9.9.9', '--notes', 'x', '--verify-tag', ...repoFlag())).rejects.toThrow(/tag v9.9.9 doesn't exist in the repo/);
      // With files, gh first asks HEAD releases/tags/<tag>: a 200 stops it before creating anything.
      await expect(gh('release', 'create', 'v1.0.0', 'app.txt', '--notes', 'again', ...repoFlag())).rejects.toThrow(/a release with the same tag name already exists/);
      expect((await rest('/releases')).body.filter((r: { tag_name: string }) => r.tag_name === 'v1.0.0')).toHaveLength(1);
    });

    it('creates a draft with a file', async () => {
      await gh('release', 'create', 'v2.0.0', 'app.txt', '--draft', '--title', 'Draft two', '--notes', 'soon', ...repoFlag());
      const list = await rest('/releases');
      const draft = list.body.find((r: { tag_name: string }) => r.tag_name === 'v2.0.0');
      expect(draft).toMatchObject({ draft: true, name: 'Draft two' });
      expect(draft.assets.map((a: { name: string }) => a.name)).toEqual(['app.txt']);
      expect((await call('GET', `${api}/repos/${full}/releases/tags/v2.0.0`, {})).status).toBe(404);
    });

    it('creates a prerelease with --target and --generate-notes', async () => {
      await gh('release', 'create', 'v1.1.0-rc.1', '--prerelease', '--target', 'main', '--generate-notes', ...repoFlag());
      const pre = await rest('/releases/tags/v1.1.0-rc.1');
      expect(pre.body).toMatchObject({ prerelease: true, draft: false, target_commitish: 'main' });
      const tag = await rest('/git/ref/tags/v1.1.0-rc.1');
      expect(tag.body.object.sha).toBe(await work.git('rev-parse', 'main'));
      expect(pre.body.body).toContain(`**Full Changelog**: ${dep.base}/${full}/compare/v1.0.0...v1.1.0-rc.1`);
    });

    it('lists releases with their badges (GraphQL)', async () => {
      const out = await gh('release', 'list', ...repoFlag());
      const rows = out
        .trim()
        .split('\n')
        .map((line) => line.split('\t').map((s) => s.trim()));
      const byTag = new Map(rows.map((r) => [r[2], r]));
      expect([...byTag.keys()].sort()).toEqual(['v1.0.0', 'v1.1.0-rc.1', 'v2.0.0']);
      expect(byTag.get('v1.0.0')?.[1]).toBe('Latest');
      expect(byTag.get('v1.1.0-rc.1')?.[1]).toBe('Pre-release');
      expect(byTag.get('v2.0.0')?.[1]).toBe('Draft');
    });

    it('views releases by tag, drafts included, as JSON', async () => {
      const view = JSON.parse(await gh('release', 'view', 'v1.0.0', '--json', 'tagName,name,isDraft,url,assets,author', ...repoFlag()));
      expect(view).toMatchObject({ tagName: 'v1.0.0', name: 'One', isDraft: false, url: `${dep.base}/${full}/releases/tag/v1.0.0`, author: { login: alice.login } });
      expect(view.assets).toHaveLength(2);
      // Without a tag gh shows the latest release (REST releases/latest).
      expect(JSON.parse(await gh('release', 'view', '--json', 'tagName', ...repoFlag()))).toEqual({ tagName: 'v1.0.0' });
      for (let i = 0; i < 5; i++) {
        // gh races REST against GraphQL for by-tag lookups: repeat so both paths get to answer.
        const draft = JSON.parse(await gh('release', 'view', 'v2.0.0', '--json', 'tagName,isDraft,name', ...repoFlag()));
        expect(draft).toEqual({ tagName: 'v2.0.0', isDraft: true, name: 'Draft two' });
      }
    });

    it('uploads, refuses a duplicate name, and replaces it with --clobber', async () => {
      await writeFile(path.join(files, 'checksums.txt'), 'abc  app.txt\n');
      await gh('release', 'upload', 'v1.0.0', 'checksums.txt', ...repoFlag());
      await writeFile(path.join(files, 'app.txt'), 'app v1, rebuilt\n');
      await expect(gh('release', 'upload', 'v1.0.0', 'app.txt', ...repoFlag())).rejects.toThrow(/already exists/);
      await gh('release', 'upload', 'v1.0.0', 'app.txt', '--clobber', ...repoFlag());
      const release = await rest('/releases/tags/v1.0.0');
      const names = release.body.assets.map((a: { name: string }) => a.name).sort();
      expect(names).toEqual(['app.txt', 'app.zip', 'checksums.txt']);
      const asset = release.body.assets.find((a: { name: string }) => a.name === 'app.txt');
      expect(asset.size).toBe(Buffer.byteLength('app v1, rebuilt\n'));
    });

    it('downloads assets by pattern and source archives, byte for byte', async () => {
      const into = await mkdtemp(path.join(tmpdir(), 'wharf-gh-dl-'));
      await gh('release', 'download', 'v1.0.0', '-p', '*.txt', '-D', into, ...repoFlag());
      expect((await readdir(into)).sort()).toEqual(['app.txt', 'checksums.txt']);
      expect(await readFile(path.join(into, 'app.txt'), 'utf8')).toBe('app v1, rebuilt\n');
      await gh('release', 'download', 'v2.0.0', '-p', 'app.txt', '-D', path.join(into, 'draft'), ...repoFlag());
      expect(sha256(await readFile(path.join(into, 'draft', 'app.txt')))).toBe(sha256('app v1\n'));

      const archives = await mkdtemp(path.join(tmpdir(), 'wharf-gh-archive-'));
      await gh('release', 'download', 'v1.0.0', '--archive=zip', '-D', archives, ...repoFlag());
      await gh('release', 'download', 'v1.0.0', '--archive=tar.gz', '-D', archives, ...repoFlag());
      const names = (await readdir(archives)).sort();
      const short = (await work.git('rev-parse', 'v1.0.0')).slice(0, 7);
      const prefix = `${full.replace('/', '-')}-${short}`;
      expect(names).toEqual([`${prefix}.tar.gz`, `${prefix}.zip`]);
      const zip = await readFile(path.join(archives, `${prefix}.zip`));
      expect(zip.subarray(0, 2).toString('latin1')).toBe('PK');
      const tgz = await readFile(path.join(archives, `${prefix}.tar.gz`));
      expect([tgz[0], tgz[1]]).toEqual([0x1f, 0x8b]);
      const listing = await run('tar', ['-tzf', path.join(archives, `${prefix}.tar.gz`)]);
      expect(listing.stdout).toContain(`${prefix}/file.txt`);
    });

    it('edits a release: publishes the draft and changes its title', async () => {
      await gh('release', 'edit', 'v2.0.0', '--draft=false', '--title', 'Two', ...repoFlag());
      const published = await call('GET', `${api}/repos/${full}/releases/tags/v2.0.0`, { token: alice.token });
      expect(published.status).toBe(200);
      expect(published.body).toMatchObject({ name: 'Two', draft: false });
      expect(published.body.published_at).not.toBeNull();
    });

    it('deletes an asset, then a release together with its tag', async () => {
      await gh('release', 'delete-asset', 'v1.0.0', 'app.zip', '-y', ...repoFlag());
      const release = await rest('/releases/tags/v1.0.0');
      expect(release.body.assets.map((a: { name: string }) => a.name).sort()).toEqual(['app.txt', 'checksums.txt']);

      await gh('release', 'delete', 'v1.1.0-rc.1', '-y', '--cleanup-tag', ...repoFlag());
      expect((await rest('/releases/tags/v1.1.0-rc.1')).status).toBe(404);
      expect((await rest('/git/ref/tags/v1.1.0-rc.1')).status).toBe(404);
    });

    it('reports the login with gh auth status (API root scopes and GraphQL viewer)', async () => {
      const { stdout, stderr } = await ghBoth('auth', 'status', '--hostname', host);
      expect(stdout + stderr).toMatch(new RegExp(`Logged in to ${host.replace(/[.]/g, '\\.')} as ${alice.login}`));
    });

    it('paginates releases through gh api', async () => {
      const out = await gh('api', '--paginate', `repos/${full}/releases?per_page=1`);
      const tags = [...out.matchAll(/"tag_name":"([^"]+)"/g)].map((m) => m[1]).sort();
      expect(tags).toEqual(['v1.0.0', 'v2.0.0']);
    });
  });
}
