/**
 * @module bench/lib/wharf
 * Wharf under test: a separate process running the compiled build (`node dist/main.js`, built
 * from the measured checkout's sources when the bench starts), exactly as `npm start` runs it in
 * production, with its own data directory, an admin token and the rate limit off (the bench
 * sends far more than 5,000 requests an hour). Its logs go to a file at the default level.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { promisify } from 'node:util';
import { startChild, waitFor, type Child } from './child.ts';
import type { WorkDir } from './workdir.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The checkout whose server is measured; `--wharf DIR` points it elsewhere. */
let root = ROOT;
export function setServerRoot(dir: string): void {
  root = path.resolve(dir);
}
export function serverRoot(): string {
  return root;
}
export const ADMIN_TOKEN = 'wharf_bench_admin_token_0123456789abcdef0123';

export interface WharfServer {
  child: Child;
  pid: number;
  base: string;
  api: string;
  uploads: string;
  dataDir: string;
  /** Milliseconds from spawning the process to its "serving" log line. */
  startupMs: number;
  stop(): Promise<void>;
}

let starts = 0;

/**
 * Compiles the checkout once per run (`scripts/build.mjs`, what `npm ci` and `npm run build` do),
 * so the figures are the compiled server's and never a stale `dist/`'s. The TypeScript loader
 * that `src/` would need costs tens of MiB of memory and start-up time production never pays.
 */
const builds = new Map<string, Promise<unknown>>();
function buildOnce(dir: string): Promise<unknown> {
  let build = builds.get(dir);
  if (!build) {
    build = promisify(execFile)(process.execPath, [path.join(dir, 'scripts/build.mjs')], { cwd: dir });
    builds.set(dir, build);
  }
  return build;
}

export async function startWharf(work: WorkDir, dataDir: string, env: Record<string, string> = {}): Promise<WharfServer> {
  await buildOnce(root);
  starts += 1;
  const started = process.hrtime.bigint();
  const child = startChild('wharf', process.execPath, [path.join(root, 'dist/main.js')], {
    cwd: root,
    logFile: work.file(`wharf-${starts}.log`),
    env: {
      ...process.env,
      WHARF_DATA_DIR: dataDir,
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: '0',
      WHARF_ADMIN_TOKEN: ADMIN_TOKEN,
      WHARF_RATE_LIMIT: 'false',
      WHARF_CONFIG: '',
      WHARF_DATABASE_URL: '',
      WHARF_EXTERNAL_URL: '',
      ...env,
    },
  });
  const base = await waitFor(
    child,
    'listening',
    () => {
      const m = /"address":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"wharf is serving"/.exec(child.log());
      return m ? m[1]! : null;
    },
    120_000,
  );
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    child,
    pid: child.pid,
    base,
    api: `${base}/api/v3`,
    uploads: `${base}/api/uploads`,
    dataDir,
    startupMs,
    stop: () => child.stop(),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- callers name the body type they expect
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** A JSON request to Wharf's API, for setting scenarios up (not for measuring). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export async function api<T = any>(method: string, url: string, token: string | null, body?: unknown): Promise<ApiResponse<T>> {
  const res = await fetch(url, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      ...(token ? { authorization: `token ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed as T, text, headers: res.headers };
}

export async function expectStatus<T>(what: string, status: number, response: Promise<ApiResponse<T>>): Promise<T> {
  const res = await response;
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 500)}`);
  return res.body;
}

export interface BenchUser {
  login: string;
  token: string;
  id: number;
}

export async function createUser(server: WharfServer, login: string): Promise<BenchUser> {
  const user = await expectStatus<{ id: number }>('create user', 201, api('POST', `${server.api}/admin/users`, ADMIN_TOKEN, { login, email: `${login}@example.com` }));
  const auth = await expectStatus<{ token: string }>('create token', 201, api('POST', `${server.api}/admin/users/${login}/authorizations`, ADMIN_TOKEN, { scopes: ['repo'] }));
  return { login, token: auth.token, id: user.id };
}

export interface BenchRepo {
  owner: BenchUser;
  name: string;
  id: number;
  full: string;
}

/** A public repository with one commit (auto_init), so releases can create tags on `main`. */
export async function createRepo(server: WharfServer, owner: BenchUser, name: string): Promise<BenchRepo> {
  const repo = await expectStatus<{ id: number }>('create repo', 201, api('POST', `${server.api}/user/repos`, owner.token, { name, auto_init: true }));
  return { owner, name, id: repo.id, full: `${owner.login}/${name}` };
}

export async function createRelease(server: WharfServer, repo: BenchRepo, tag: string, extra: Record<string, unknown> = {}): Promise<{ id: number; tag_name: string }> {
  return expectStatus(
    'create release',
    201,
    api('POST', `${server.api}/repos/${repo.full}/releases`, repo.owner.token, { tag_name: tag, name: tag, body: `Release ${tag}`, ...extra }),
  );
}

export interface UploadedAsset {
  id: number;
  name: string;
  size: number;
  digest: string | null;
  browser_download_url: string;
}

export function assetUploadUrl(server: WharfServer, repo: BenchRepo, releaseId: number, name: string): string {
  return `${server.uploads}/repos/${repo.full}/releases/${releaseId}/assets?name=${encodeURIComponent(name)}`;
}

export function uploadHeaders(token: string): Record<string, string> {
  return { authorization: `token ${token}`, 'content-type': 'application/octet-stream', accept: 'application/vnd.github+json' };
}

/** The API download (`Accept: application/octet-stream`), as gh and Octokit fetch assets. */
export function assetApiUrl(server: WharfServer, repo: BenchRepo, assetId: number): string {
  return `${server.api}/repos/${repo.full}/releases/assets/${assetId}`;
}

export async function deleteAsset(server: WharfServer, repo: BenchRepo, assetId: number): Promise<void> {
  await expectStatus('delete asset', 204, api('DELETE', assetApiUrl(server, repo, assetId), repo.owner.token));
}
