/**
 * Release creation reads refs from the repository's files (git/ref-files.ts) and reads commits
 * and creates tags through long-lived git processes (git/resident-git.ts). Git itself is the
 * reference for every answer, other git processes writing meanwhile are seen, a lost race is a
 * lost race, and no resident process outlives its repository or its server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gitDirFor } from '../../src/context.ts';
import { createRefIfAbsent, getRef, peelCommit, readRef, stopResidentGit } from '../../src/git/git.ts';
import { readRefFile, setMaxPackedRefsBytes } from '../../src/git/ref-files.ts';
import { residentCount } from '../../src/git/resident-git.ts';
import { createRepo, createUser } from '../support/fixtures.ts';
import { call } from '../support/http.ts';
import { processesIn } from '../support/processes.ts';
import { startServer } from '../support/server.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'wharf-resident-'));
afterAll(() => {
  stopResidentGit(scratch);
  rmSync(scratch, { recursive: true, force: true });
});

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'A',
  GIT_AUTHOR_EMAIL: 'a@example.com',
  GIT_COMMITTER_NAME: 'C',
  GIT_COMMITTER_EMAIL: 'c@example.com',
};

function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', gitDir, ...args], { env: ENV, encoding: 'utf8' }).trim();
}

let repos = 0;
/** A bare repository with two commits on `main` (the second committed at a fixed date and zone). */
function bareRepo(): { gitDir: string; first: string; second: string } {
  const gitDir = path.join(scratch, `r${++repos}.git`);
  execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main', gitDir], { env: ENV });
  const tree = git(gitDir, 'hash-object', '-w', '-t', 'tree', '/dev/null');
  const first = git(gitDir, 'commit-tree', tree, '-m', 'first');
  const second = execFileSync('git', ['--git-dir', gitDir, 'commit-tree', tree, '-p', first, '-m', 'second'], {
    env: { ...ENV, GIT_COMMITTER_DATE: '2024-02-29T23:30:00+05:30' },
    encoding: 'utf8',
  }).trim();
  git(gitDir, 'update-ref', 'refs/heads/main', second);
  return { gitDir, first, second };
}

afterEach(() => {
  stopResidentGit(scratch);
});

describe('refs read from the repository files', () => {
  it('give what git gives for loose, packed, symbolic, missing and malformed names', async () => {
    const { gitDir, first, second } = bareRepo();
    // Before any `packed-refs` exists: loose refs only, and a missing one is no ref.
    expect(existsSync(path.join(gitDir, 'packed-refs'))).toBe(false);
    expect(await readRef(gitDir, 'refs/heads/main')).toBe(git(gitDir, 'rev-parse', 'refs/heads/main'));
    expect(await readRef(gitDir, 'refs/tags/none')).toBeNull();
    git(gitDir, 'update-ref', 'refs/tags/v1', first);
    git(gitDir, 'tag', '-a', '-m', 'annotated', 'v2', second);
    git(gitDir, 'pack-refs', '--all');
    git(gitDir, 'update-ref', 'refs/tags/v3', second); // loose, beside packed ones
    git(gitDir, 'update-ref', 'refs/heads/feature/x', first);
    git(gitDir, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    const names = [
      'refs/heads/main',
      'refs/tags/v1',
      'refs/tags/v2',
      'refs/tags/v3',
      'refs/heads/feature/x',
      'refs/heads/alias',
      'refs/heads/feature',
      'refs/heads/feature/x/below-a-file',
      'refs/tags/none',
    ];
    for (const name of names) {
      let expected: string | null;
      try {
        expected = git(gitDir, 'rev-parse', '--verify', '--quiet', name);
      } catch {
        expected = null;
      }
      expect(await readRef(gitDir, name), name).toBe(expected);
    }
    // Names git would never store do not become paths.
    for (const name of ['refs/heads/../../config', 'refs/heads/a b', 'HEAD', 'config', 'refs/tags/x.lock']) expect(await readRef(gitDir, name), name).toBeNull();
    // A broken loose ref is no ref, as for git's listings.
    writeFileSync(path.join(gitDir, 'refs/tags/broken'), 'not an object id\n');
    expect(await readRef(gitDir, 'refs/tags/broken')).toBeNull();
  });

  it('see packed-refs rewritten and loose refs removed behind their back', async () => {
    const { gitDir, first, second } = bareRepo();
    git(gitDir, 'update-ref', 'refs/tags/a', first);
    git(gitDir, 'pack-refs', '--all');
    expect(await readRef(gitDir, 'refs/tags/a')).toBe(first);
    git(gitDir, 'update-ref', 'refs/tags/a', second);
    git(gitDir, 'pack-refs', '--all');
    expect(await readRef(gitDir, 'refs/tags/a')).toBe(second);
    git(gitDir, 'update-ref', '-d', 'refs/tags/a');
    expect(await readRef(gitDir, 'refs/tags/a')).toBeNull();
  });
});

describe('a packed-refs over the size cap', () => {
  const CAP = 1024;
  let previousCap = 0;
  beforeAll(() => {
    previousCap = setMaxPackedRefsBytes(CAP);
  });
  afterAll(() => {
    setMaxPackedRefsBytes(previousCap);
  });

  /** What git itself answers for `name`. */
  function revParse(gitDir: string, name: string): string | null {
    try {
      return git(gitDir, 'rev-parse', '--verify', '--quiet', name);
    } catch {
      return null;
    }
  }

  it('is read from the file while under the cap and left to git once over it, with the same answers', async () => {
    const { gitDir, first, second } = bareRepo();
    git(gitDir, 'update-ref', 'refs/tags/v1', first);
    git(gitDir, 'tag', '-a', '-m', 'annotated', 'v2', second);
    git(gitDir, 'update-ref', 'refs/tags/dir/inside', first);
    git(gitDir, 'pack-refs', '--all');
    git(gitDir, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main');
    const asked: string[] = [];
    const askGit = async (ref: string) => {
      asked.push(ref);
      return (await getRef(gitDir, ref))?.sha ?? null;
    };
    // refs/tags/dir is only a prefix of a packed ref: no ref, although `for-each-ref refs/tags/dir` lists one.
    const names = ['refs/heads/main', 'refs/heads/alias', 'refs/tags/v1', 'refs/tags/v2', 'refs/tags/dir', 'refs/tags/dir/inside', 'refs/tags/none'];
    const check = async () => {
      for (const name of names) {
        expect(await readRefFile(gitDir, name, askGit), name).toBe(revParse(gitDir, name));
        expect(await readRef(gitDir, name), name).toBe(revParse(gitDir, name));
      }
    };

    expect(statSync(path.join(gitDir, 'packed-refs')).size).toBeLessThan(CAP);
    await check();
    expect(asked).toEqual([]);

    // Enough tags to cross the cap, packed: the same questions now go to git.
    const creates = Array.from({ length: 40 }, (_, i) => `create refs/tags/bulk-${i} ${i % 2 ? first : second}\n`).join('');
    execFileSync('git', ['--git-dir', gitDir, 'update-ref', '--stdin'], { env: ENV, input: creates });
    git(gitDir, 'pack-refs', '--all');
    expect(statSync(path.join(gitDir, 'packed-refs')).size).toBeGreaterThan(CAP);
    names.push('refs/tags/bulk-7', 'refs/tags/bulk-8');
    await check();
    // Loose refs are still read from their files; only names that are not loose reach git.
    expect(new Set(asked)).toEqual(
      new Set(['refs/heads/main', 'refs/tags/v1', 'refs/tags/v2', 'refs/tags/dir', 'refs/tags/dir/inside', 'refs/tags/none', 'refs/tags/bulk-7', 'refs/tags/bulk-8']),
    );
    expect(asked).not.toContain('refs/heads/alias');
  });
});

describe('commits read through the resident cat-file', () => {
  it('peel tags to their commit with git’s committer date, and refuse what is no commit', async () => {
    const { gitDir, first, second } = bareRepo();
    git(gitDir, 'tag', '-a', '-m', 'one', 'annotated', second);
    git(gitDir, '-c', 'advice.nestedTag=false', 'tag', '-a', '-m', 'two', 'nested', git(gitDir, 'rev-parse', 'refs/tags/annotated'));
    const tree = git(gitDir, 'rev-parse', `${second}^{tree}`);
    git(gitDir, 'tag', '-a', '-m', 'tree', 'of-tree', tree);
    const isoDate = git(gitDir, 'log', '-1', '--format=%cI', second);
    expect(isoDate).toBe('2024-02-29T23:30:00+05:30');
    const expected = { sha: second, date: new Date(isoDate).toISOString() };
    expect(await peelCommit(gitDir, second)).toEqual(expected);
    expect(await peelCommit(gitDir, (await readRef(gitDir, 'refs/tags/annotated'))!)).toEqual(expected);
    expect(await peelCommit(gitDir, (await readRef(gitDir, 'refs/tags/nested'))!)).toEqual(expected);
    expect((await peelCommit(gitDir, first))?.sha).toBe(first);
    expect(await peelCommit(gitDir, tree)).toBeNull();
    expect(await peelCommit(gitDir, (await readRef(gitDir, 'refs/tags/of-tree'))!)).toBeNull();
    expect(await peelCommit(gitDir, '0'.repeat(40))).toBeNull();
    expect(await peelCommit(gitDir, 'main')).toBeNull();
  });

  it('answer again from memory only for an object a ref named: a pruned object the client names is no commit', async () => {
    const { gitDir, second } = bareRepo();
    const tree = git(gitDir, 'rev-parse', `${second}^{tree}`);
    const loose = git(gitDir, 'commit-tree', tree, '-p', second, '-m', 'unreachable');
    const expected = { sha: loose, date: expect.any(String) };
    expect(await peelCommit(gitDir, loose, { fromRef: true })).toEqual(expected);
    // Pruned, as `git gc` prunes an unreachable object: the id alone no longer names a commit…
    rmSync(path.join(gitDir, 'objects', loose.slice(0, 2), loose.slice(2)));
    expect(await peelCommit(gitDir, loose)).toBeNull();
    // …while the answer kept for an id read from a ref (whose object exists) still stands.
    expect(await peelCommit(gitDir, loose, { fromRef: true })).toEqual(expected);
  });

  it('see commits written by other git processes after it started', async () => {
    const { gitDir, second } = bareRepo();
    expect((await peelCommit(gitDir, second))?.sha).toBe(second);
    const tree = git(gitDir, 'rev-parse', `${second}^{tree}`);
    const third = git(gitDir, 'commit-tree', tree, '-p', second, '-m', 'third');
    git(gitDir, 'repack', '-a', '-d', '-q');
    expect((await peelCommit(gitDir, third))?.sha).toBe(third);
    expect(residentCount()).toBeGreaterThan(0);
  });
});

describe('refs created through the resident update-ref', () => {
  it('create a ref once: concurrent creations of one name give one winner, and a lost race is no error', async () => {
    const { gitDir, first, second } = bareRepo();
    const names = Array.from({ length: 20 }, (_, i) => `refs/tags/t${i % 10}`);
    const results = await Promise.all(names.map((name, i) => createRefIfAbsent(gitDir, name, i < 10 ? first : second)));
    expect(results.filter(Boolean)).toHaveLength(10);
    for (let i = 0; i < 10; i++) expect(git(gitDir, 'rev-parse', `refs/tags/t${i}`)).toBe(first);
    // After a lost race (the process is replaced), later creations still work, and see refs made elsewhere.
    git(gitDir, 'update-ref', 'refs/tags/outside', second);
    expect(await createRefIfAbsent(gitDir, 'refs/tags/outside', first)).toBe(false);
    expect(await createRefIfAbsent(gitDir, 'refs/tags/after', second)).toBe(true);
    expect(git(gitDir, 'rev-parse', 'refs/tags/after')).toBe(second);
    expect(git(gitDir, 'rev-parse', 'refs/tags/outside')).toBe(second);
  });

  it('refuse what git refuses: an object that does not exist, a name git cannot store', async () => {
    const { gitDir, first } = bareRepo();
    await expect(createRefIfAbsent(gitDir, 'refs/tags/ghost', 'f'.repeat(40))).rejects.toThrow(/update-ref/);
    await expect(createRefIfAbsent(gitDir, 'refs/tags/a b', first)).rejects.toThrow();
    expect(await readRef(gitDir, 'refs/tags/ghost')).toBeNull();
    expect(await createRefIfAbsent(gitDir, 'refs/tags/fine', first)).toBe(true);
  });

  it('are stopped with their repository, and with their server', async () => {
    const { gitDir, first } = bareRepo();
    expect(await createRefIfAbsent(gitDir, 'refs/tags/one', first)).toBe(true);
    expect((await peelCommit(gitDir, first))?.sha).toBe(first);
    expect(processesIn(gitDir).length).toBeGreaterThan(0);
    stopResidentGit(gitDir);
    expect(residentCount()).toBe(0);

    const server = await startServer();
    try {
      const owner = await createUser(server);
      const repo = await createRepo(server, owner, { auto_init: true });
      const res = await call('POST', `${server.api}/repos/${repo.full}/releases`, { token: owner.token, body: { tag_name: 'v1.0.0' } });
      expect(res.status).toBe(201);
      const repoDir = gitDirFor(server.wharf.ctx, { id: (repo.json as { id: number }).id });
      expect(await readRef(repoDir, 'refs/tags/v1.0.0')).not.toBeNull();
      expect(processesIn(server.dataDir).length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
    const deadline = Date.now() + 30_000;
    while (processesIn(server.dataDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(processesIn(server.dataDir)).toEqual([]);
    expect(residentCount()).toBe(0);
  });
});
