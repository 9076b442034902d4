/**
 * No git process outlives what it works for (git/git-processes.ts): git started by a request is
 * killed with everything it started in turn, and closing a server kills the git processes still
 * working in its repositories, and only those.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { gitDirFor } from '../../src/context.ts';
import { spawnGit } from '../../src/git/git.ts';
import { createRepo, createUser } from '../support/fixtures.ts';
import { processesIn } from '../support/processes.ts';
import { startServer, type TestServer } from '../support/server.ts';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

async function settled(check: () => boolean, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return check();
}

/** Starts a git process in a new repository of `server` that runs until killed (`cat-file --batch` waits for input). */
async function idleGitIn(server: TestServer): Promise<void> {
  const owner = await createUser(server);
  const repo = await createRepo(server, owner);
  const gitDir = gitDirFor(server.wharf.ctx, { id: (repo.json as { id: number }).id });
  await spawnGit(gitDir, ['cat-file', '--batch']);
}

describe('git processes at server close', () => {
  it("are killed in the closing server's repositories and left running in another's", async () => {
    const closing = await startServer();
    const other = await startServer();
    servers.push(other);
    await idleGitIn(closing);
    await idleGitIn(other);
    expect(await settled(() => processesIn(closing.dataDir).length > 0 && processesIn(other.dataDir).length > 0)).toBe(true);
    await closing.close();
    expect(await settled(() => processesIn(closing.dataDir).length === 0), JSON.stringify(processesIn(closing.dataDir))).toBe(true);
    expect(processesIn(other.dataDir).length).toBeGreaterThan(0);
  });
});
