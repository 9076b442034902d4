/**
 * Pushes pass through the refs door before their refs move: real `git push` over smart HTTP
 * against a running Wharf, whose pre-receive hook asks Wharf's rules. A refused push changes no
 * ref and git prints the reason after `remote:` with `[remote rejected]`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRepo, createUser, WorkRepo, type TestUser } from '../support/fixtures.ts';
import { startServer, type TestServer } from '../support/server.ts';
import { freePort } from '../reliability/support/server-process.ts';
import { pushChecksFor } from '../../src/features/git.ts';

let server: TestServer;
let owner: TestUser;

beforeAll(async () => {
  server = await startServer();
  owner = await createUser(server);
});
afterAll(async () => {
  await server?.close();
});

/** Runs a push and returns git's exit status and everything it printed. */
async function push(work: WorkRepo, full: string, ...refspecs: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    await work.push(server, full, owner.token, ...refspecs);
    return { ok: true, output: '' };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** The refs of the bare repository, read with git itself. */
async function refsOf(full: string): Promise<string[]> {
  const work = await WorkRepo.create();
  const url = new URL(`${server.base}/${full}.git`);
  url.username = 'x';
  url.password = owner.token;
  const out = await work.git('-c', 'credential.helper=', 'ls-remote', '--refs', url.toString());
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t')[1]!)
    .sort();
}

describe('the refs door on pushes', () => {
  it('refuses a tag named HEAD or like a branch, and a branch named like a tag, with the reason', async () => {
    const { full } = await createRepo(server, owner);
    const work = await WorkRepo.create();
    const first = await work.commit('first');
    expect((await push(work, full, 'main')).ok).toBe(true);
    await work.git('tag', 'v1');
    expect((await push(work, full, 'refs/tags/v1')).ok).toBe(true);

    const head = await push(work, full, `${first}:refs/tags/HEAD`);
    expect(head.ok).toBe(false);
    expect(head.output).toContain('remote: error: refs/tags/HEAD: tag name HEAD is reserved by git');
    expect(head.output).toMatch(/! \[remote rejected\] .* -> HEAD \(pre-receive hook declined\)/);

    const shadow = await push(work, full, `${first}:refs/tags/main`);
    expect(shadow.ok).toBe(false);
    expect(shadow.output).toContain('remote: error: refs/tags/main: tag name main is ambiguous: a branch has that name');

    const twin = await push(work, full, `${first}:refs/heads/v1`);
    expect(twin.ok).toBe(false);
    expect(twin.output).toContain('refs/heads/v1: branch name v1 is ambiguous: a tag has that name');

    // One refused ref refuses the whole push (pre-receive is all or nothing): `ok` did not land either.
    const mixed = await push(work, full, `${first}:refs/tags/ok`, `${first}:refs/tags/HEAD`);
    expect(mixed.ok).toBe(false);
    expect(await refsOf(full)).toEqual(['refs/heads/main', 'refs/tags/v1']);

    // A tag and a branch of the same name in one push are refused too.
    const both = await push(work, full, `${first}:refs/heads/twin`, `${first}:refs/tags/twin`);
    expect(both.ok).toBe(false);
    expect(both.output).toContain('is ambiguous');

    expect((await push(work, full, `${first}:refs/tags/fine`)).ok).toBe(true);
    expect(await refsOf(full)).toEqual(['refs/heads/main', 'refs/tags/fine', 'refs/tags/v1']);
  });

  it('lets existing refs move and be deleted (the rules are about names being created)', async () => {
    const { full } = await createRepo(server, owner, { auto_init: true });
    const work = await WorkRepo.create();
    await work.git('pull', '-q', new URL(`${server.base}/${full}.git`).toString(), 'main');
    await work.commit('second');
    expect((await push(work, full, 'main')).ok).toBe(true);
    expect((await push(work, full, 'HEAD:refs/heads/topic')).ok).toBe(true);
    expect((await push(work, full, ':refs/heads/topic')).ok).toBe(true);
    expect(await refsOf(full)).toEqual(['refs/heads/main']);
  });

  it('the hook refuses when Wharf cannot be asked, and the checker refuses a wrong secret', async () => {
    const { json: repo } = await createRepo(server, owner);
    const checks = pushChecksFor(server.wharf.ctx);
    const registered = checks.register(server.wharf.ctx, repo, { user: null, via: 'push' });
    try {
      const url = registered.env.WHARF_HOOK_URL!;
      const line = `${'0'.repeat(40)} ${'1'.repeat(40)} refs/tags/x\n`;
      const forged = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${'ab'.repeat(32)}` }, body: line });
      expect(forged.status).toBe(403);
      const right = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${registered.env.WHARF_HOOK_TOKEN}` }, body: line });
      expect(await right.json()).toEqual({ refusals: [] });

      // The hook itself, pointed at a port nothing listens on: it fails closed.
      const closed = new URL(url);
      closed.port = String(await freePort());
      const hook = await runHook(path.join(checks.hooksDir, 'pre-receive'), { ...registered.env, WHARF_HOOK_URL: closed.toString() }, line);
      expect(hook.code).toBe(1);
      expect(hook.stderr).toContain('Wharf could not check this push');
      // Run outside Wharf (no hook environment), it refuses too.
      const outside = await runHook(path.join(checks.hooksDir, 'pre-receive'), {}, line);
      expect(outside.code).toBe(1);
      expect(outside.stderr).toContain('accepts pushes through Wharf only');
    } finally {
      registered.done();
    }
  });
});

function runHook(file: string, env: Record<string, string>, input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, [], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
    // A hook that refuses at once may exit before reading its input: EPIPE is expected then.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
