/**
 * PyGithub 1.55 (Debian's python3-github) over HTTPS with a private CA given through
 * REQUESTS_CA_BUNDLE. PyGithub rebuilds every call from URLs in responses and asserts they are on
 * the base URL's host, port and path prefix, so this checks Wharf's URLs as much as its answers.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import type { TestServer } from '../support/server.ts';
import { startTlsServer, type TestCa, type TlsTestServer } from '../support/tls.ts';
import { needs, PYTHON, TOOLS } from '../support/tools.ts';

const run = promisify(execFile);

const SCRIPT = `
import json, os, sys
from github import Github
api, token, full, asset_path = sys.argv[1:5]
out = {}
for base in (api, api + "/"):  # a trailing slash makes PyGithub send //repos/...
    g = Github(base_url=base, login_or_token=token, per_page=2)
    out.setdefault("repo_urls", []).append(g.get_repo(full).url)
g = Github(base_url=api, login_or_token=token, per_page=2)
repo = g.get_repo(full)
rel = repo.create_git_release("v1.0.0", "One", "notes", target_commitish="main")
for i in range(3):
    repo.create_git_release("v0.%d.0" % i, "Old %d" % i, "", target_commitish="main")
asset = rel.upload_asset(asset_path, label="The file")
out["asset"] = [asset.name, asset.label, asset.size, asset.content_type, asset.state]
out["tags"] = [r.tag_name for r in repo.get_releases()]
out["total"] = repo.get_releases().totalCount
out["latest"] = repo.get_latest_release().tag_name
out["by_tag"] = repo.get_release("v1.0.0").id == rel.id
rel.update_release("One!", "new notes")
out["updated"] = [repo.get_release(rel.id).title, repo.get_release(rel.id).body]
asset = asset.update_asset("renamed.txt", label="Renamed")
out["renamed"] = [a.name for a in rel.get_assets()]
asset.delete_asset()
out["after_delete"] = [a.name for a in rel.get_assets()]
rel.delete_release()
out["final"] = sorted(r.tag_name for r in repo.get_releases())
print(json.dumps(out))
`;

let ca: TestCa;
let server: TestServer;
let alice: TestUser;
let full: string;
let tls: TlsTestServer;

beforeAll(async () => {
  tls = await startTlsServer();
  ({ ca, server } = tls);
  alice = await createUser(server);
  full = (await createRepo(server, alice)).full;
  const work = await WorkRepo.create();
  await work.commit('initial');
  await work.push(server, full, alice.token, 'refs/heads/main');
});
afterAll(() => tls.close());

describe.skipIf(!needs(TOOLS.pygithub))('PyGithub', () => {
  it('creates, lists (following Link), edits and deletes releases and assets', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wharf-pygithub-'));
    await writeFile(path.join(dir, 'run.py'), SCRIPT);
    await writeFile(path.join(dir, 'tool.tar.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    const { stdout } = await run(PYTHON, [path.join(dir, 'run.py'), server.api, alice.token, full, path.join(dir, 'tool.tar.gz')], {
      timeout: 60_000,
      env: { PATH: process.env.PATH, REQUESTS_CA_BUNDLE: ca.caFile, HOME: dir },
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`PyGithub failed: ${err.stderr ?? err.message}`);
    });
    const out = JSON.parse(stdout);
    expect(out.repo_urls).toEqual([`${server.api}/repos/${full}`, `${server.api}/repos/${full}`]);
    expect(out.asset).toEqual(['tool.tar.gz', 'The file', 20, 'application/x-tar', 'uploaded']);
    expect(out.tags).toHaveLength(4);
    expect(out.total).toBe(4);
    // Older versions published after v1.0.0 do not take "latest" from it (Wharf's default rule,
    // docs/channels.md; GitHub would answer v0.2.0).
    expect(out.latest).toBe('v1.0.0');
    expect(out.by_tag).toBe(true);
    expect(out.updated).toEqual(['One!', 'new notes']);
    expect(out.renamed).toEqual(['renamed.txt']);
    expect(out.after_delete).toEqual([]);
    expect(out.final).toEqual(['v0.0.0', 'v0.1.0', 'v0.2.0']);
  });
});
