/**
 * Builders for test data through the real API: users with tokens, repositories, release assets,
 * and local git repositories with commits at fixed dates pushed over smart HTTP.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp } from 'node:fs/promises';
import { writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, type TestServer } from './server.ts';
import { call } from './http.ts';

export interface TestUser {
  login: string;
  token: string;
  id: number;
}

let counter = 0;
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid.toString(36)}${counter}`;
}

export async function createUser(server: TestServer, login = uniqueName('user'), scopes: string[] = ['repo', 'read:org'], email?: string): Promise<TestUser> {
  const created = await call('POST', `${server.api}/admin/users`, { token: ADMIN_TOKEN, body: { login, email: email ?? `${login}@example.com` } });
  if (created.status !== 201) throw new Error(`create user: ${created.status} ${created.text}`);
  const auth = await call('POST', `${server.api}/admin/users/${login}/authorizations`, { token: ADMIN_TOKEN, body: { scopes } });
  if (auth.status !== 201) throw new Error(`create token: ${auth.status} ${auth.text}`);
  return { login, token: auth.body.token, id: created.body.id };
}

export async function createRepo(server: TestServer, owner: TestUser, body: Record<string, unknown> = {}): Promise<{ name: string; full: string; json: any }> {
  const name = (body.name as string) ?? uniqueName('repo');
  const res = await call('POST', `${server.api}/user/repos`, { token: owner.token, body: { name, ...body } });
  if (res.status !== 201) throw new Error(`create repo: ${res.status} ${res.text}`);
  return { name, full: `${owner.login}/${name}`, json: res.body };
}

export async function addCollaborator(server: TestServer, owner: TestUser, repo: string, user: TestUser, permission: string): Promise<void> {
  const res = await call('PUT', `${server.api}/repos/${owner.login}/${repo}/collaborators/${user.login}`, { token: owner.token, body: { permission } });
  if (res.status !== 204 && res.status !== 201) throw new Error(`add collaborator: ${res.status} ${res.text}`);
}

/**
 * Uploads `bytes` as asset `name` of release `releaseId` in `full` through the uploads endpoint,
 * as `user`; the asset as the server answered it (201, or this throws).
 */
export async function uploadReleaseAsset(
  server: TestServer,
  user: TestUser,
  full: string,
  releaseId: number,
  name: string,
  bytes: Uint8Array,
  options: { label?: string; contentType?: string } = {},
): Promise<{ id: number; digest: string }> {
  const label = options.label === undefined ? '' : `&label=${encodeURIComponent(options.label)}`;
  const res = await fetch(`${server.uploads}/repos/${full}/releases/${releaseId}/assets?name=${encodeURIComponent(name)}${label}`, {
    method: 'POST',
    headers: { authorization: `token ${user.token}`, 'content-type': options.contentType ?? 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${text}`);
  return JSON.parse(text) as { id: number; digest: string };
}

const execFileAsync = promisify(execFile);

/**
 * A local working repository driven with the real git CLI. Every call is asynchronous: the
 * server under test runs in the same process, so a synchronous git push would deadlock it.
 */
export class WorkRepo {
  private constructor(readonly dir: string) {}

  static async create(): Promise<WorkRepo> {
    const dir = await mkdtemp(path.join(tmpdir(), 'wharf-work-'));
    const repo = new WorkRepo(dir);
    await repo.git('init', '-q', '-b', 'main');
    return repo;
  }

  async git(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync('git', args, {
      cwd: this.dir,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: {
        ...process.env,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: this.author.name,
        GIT_AUTHOR_EMAIL: this.author.email,
        GIT_COMMITTER_NAME: this.author.name,
        GIT_COMMITTER_EMAIL: this.author.email,
        ...(this.date ? { GIT_AUTHOR_DATE: this.date, GIT_COMMITTER_DATE: this.date } : {}),
      },
    });
    return stdout.trim();
  }

  author = { name: 'Test Author', email: 'author@example.com' };
  date: string | null = null;

  /** Writes a file and commits it; returns the new commit's SHA. */
  async commit(message: string, options: { file?: string; content?: string; date?: string; author?: { name: string; email: string } } = {}): Promise<string> {
    const file = options.file ?? 'file.txt';
    mkdirSync(path.dirname(path.join(this.dir, file)), { recursive: true });
    writeFileSync(path.join(this.dir, file), options.content ?? `${message}\n${Math.random()}\n`);
    const previous = { author: this.author, date: this.date };
    if (options.author) this.author = options.author;
    if (options.date) this.date = options.date;
    try {
      await this.git('add', '-A');
      await this.git('commit', '-q', '-m', message);
      return await this.git('rev-parse', 'HEAD');
    } finally {
      this.author = previous.author;
      this.date = previous.date;
    }
  }

  /** Pushes refs to Wharf over smart HTTP with a token. */
  push(server: TestServer, full: string, token: string, ...refspecs: string[]): Promise<string> {
    const url = new URL(`${server.base}/${full}.git`);
    url.username = 'x';
    url.password = token;
    return this.git('-c', 'credential.helper=', 'push', '-q', url.toString(), ...(refspecs.length ? refspecs : ['--all']));
  }
}
