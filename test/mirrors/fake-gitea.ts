/**
 * A loopback stand-in for a Gitea/Forgejo server, for pull-mirror tests: its answers are the
 * responses Gitea's API documentation (swagger `Release`, `Attachment`, `ServerVersion`) shows,
 * recorded in fixtures/gitea-release.json and filled in for each release. It serves
 * - `GET /api/v1/version`;
 * - `GET /api/v1/repos/{owner}/{repo}/releases?limit=&page=`, newest first, `limit` capped at 50
 *   (Gitea's default `MAX_RESPONSE_ITEMS`), with `X-Total-Count` and a `Link` whose URLs are on
 *   the server's configured `ROOT_URL` (`https://gitea.example.com`, not the address it is reached
 *   by, as behind a proxy);
 * - `GET /api/v1/repos/{owner}/{repo}/releases/latest`;
 * - `GET /{owner}/{repo}/releases/download/{tag}/{name}` (the assets' `browser_download_url`);
 * - the repository's git over dumb HTTP (static files of a bare repository).
 * With a token set, everything answers 404 without `Authorization: token …` (git: Basic with the
 * token as password), as Gitea does for a private repository. No Gitea runs here.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fastImport, historyStream } from '../support/fast-history.ts';

const run = promisify(execFile);
const ROOT_URL = 'https://gitea.example.com';
const MAX_RESPONSE_ITEMS = 50;
const template = JSON.parse(readFileSync(new URL('./fixtures/gitea-release.json', import.meta.url), 'utf8')) as Record<string, any>;

export interface FakeAsset {
  id: number;
  name: string;
  bytes: Buffer;
  uuid: string;
}

export interface FakeRelease {
  id: number;
  tag: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
  /** As Gitea writes it: the server's zone offset, whole seconds. */
  publishedAt: string;
  assets: FakeAsset[];
}

export interface RequestRecord {
  method: string;
  url: string;
  authorization: string | undefined;
}

export class FakeGitea {
  readonly owner = 'acme';
  readonly repo = 'tool';
  readonly releases: FakeRelease[] = [];
  readonly requests: RequestRecord[] = [];
  base = '';
  token: string | null = null;
  #server: http.Server | null = null;
  #gitDir = '';
  #dir = '';
  #nextId = 1;

  /** Starts the server and makes the repository: `commits` commits on main. */
  async start(commits: number): Promise<void> {
    this.#dir = await mkdtemp(path.join(tmpdir(), 'fake-gitea-'));
    this.#gitDir = path.join(this.#dir, 'tool.git');
    await run('git', ['init', '--bare', '-q', '-b', 'main', this.#gitDir]);
    await fastImport(this.#gitDir, historyStream({ commits, authors: 3 }));
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  get url(): string {
    return `${this.base}/${this.owner}/${this.repo}`;
  }

  /** The commits of main, oldest first. */
  async commits(): Promise<string[]> {
    const { stdout } = await run('git', ['--git-dir', this.#gitDir, 'rev-list', '--reverse', 'main']);
    return stdout.trim().split('\n');
  }

  /** Points tags at commits (one `update-ref` transaction) and refreshes the dumb-HTTP index. */
  async setTags(tags: Record<string, string>): Promise<void> {
    const input = Object.entries(tags)
      .map(([tag, sha]) => `update refs/tags/${tag} ${sha}\n`)
      .join('');
    await new Promise<void>((resolve, reject) => {
      const child = execFile('git', ['--git-dir', this.#gitDir, 'update-ref', '--stdin'], (err: Error | null) => (err ? reject(err) : resolve()));
      child.stdin!.end(input);
    });
    await run('git', ['--git-dir', this.#gitDir, 'update-server-info']);
  }

  addRelease(fields: Omit<FakeRelease, 'id' | 'assets'> & { assets?: Array<{ name: string; bytes: Buffer }> }): FakeRelease {
    const release: FakeRelease = {
      ...fields,
      id: this.#nextId++,
      assets: (fields.assets ?? []).map((a) => ({ ...a, id: this.#nextId++, uuid: randomUUID() })),
    };
    this.releases.push(release);
    return release;
  }

  /**
   * Replaces an attachment as Gitea does (delete, upload again): the new file has the same name
   * but a new `id` and `uuid`.
   */
  replaceAsset(tag: string, name: string, bytes: Buffer): FakeAsset {
    const release = this.releases.find((r) => r.tag === tag)!;
    const index = release.assets.findIndex((a) => a.name === name);
    const asset = { name, bytes, id: this.#nextId++, uuid: randomUUID() };
    release.assets[index] = asset;
    return asset;
  }

  /** The release as Gitea's API answers it (the recorded fixture, filled in). */
  json(r: FakeRelease): Record<string, unknown> {
    const api = `${ROOT_URL}/api/v1/repos/${this.owner}/${this.repo}`;
    const web = `${ROOT_URL}/${this.owner}/${this.repo}`;
    return {
      ...template,
      id: r.id,
      tag_name: r.tag,
      target_commitish: 'main',
      name: r.name,
      body: r.body,
      url: `${api}/releases/${r.id}`,
      html_url: `${web}/releases/tag/${r.tag}`,
      tarball_url: `${web}/archive/${r.tag}.tar.gz`,
      zipball_url: `${web}/archive/${r.tag}.zip`,
      upload_url: `${api}/releases/${r.id}/assets`,
      draft: r.draft,
      prerelease: r.prerelease,
      created_at: r.publishedAt,
      published_at: r.publishedAt,
      assets: r.assets.map((a) => ({
        ...template.assets[0],
        id: a.id,
        name: a.name,
        size: a.bytes.length,
        created_at: r.publishedAt,
        uuid: a.uuid,
        // The address it is reached by: downloads are what the mirror fetches from here.
        browser_download_url: `${this.base}/${this.owner}/${this.repo}/releases/download/${encodeURIComponent(r.tag)}/${encodeURIComponent(a.name)}`,
      })),
    };
  }

  #authorised(req: http.IncomingMessage, git: boolean): boolean {
    if (this.token === null) return true;
    const auth = req.headers.authorization ?? '';
    if (!git) return auth === `token ${this.token}`;
    const m = /^Basic (.+)$/.exec(auth);
    return m !== null && Buffer.from(m[1]!, 'base64').toString('utf8').split(':')[1] === this.token;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const url = new URL(req.url ?? '/', this.base);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const notFound = () =>
      json(404, { errors: ['user redirect does not exist [name: ' + this.owner + ']'], message: "The target couldn't be found.", url: `${ROOT_URL}/api/swagger` });
    const gitPrefix = `/${this.owner}/${this.repo}.git/`;
    if (url.pathname.startsWith(gitPrefix)) {
      if (!this.#authorised(req, true)) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="Gitea"' });
        return void res.end();
      }
      const file = path.join(this.#gitDir, url.pathname.slice(gitPrefix.length));
      if (!file.startsWith(this.#gitDir + path.sep) || !(await stat(file).catch(() => null))?.isFile()) {
        res.writeHead(404);
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(await readFile(file));
    }
    if (url.pathname === '/api/v1/version') return json(200, { version: '1.22.3' });
    const api = `/api/v1/repos/${this.owner}/${this.repo}`;
    const download = `/${this.owner}/${this.repo}/releases/download/`;
    if (!url.pathname.startsWith(api) && !url.pathname.startsWith(download)) return notFound();
    if (!this.#authorised(req, false)) return notFound();
    // Gitea's order: newest first.
    const visible = [...this.releases].reverse().filter((r) => !r.draft);
    if (url.pathname === `${api}/releases`) {
      const limit = Math.min(Number(url.searchParams.get('limit') ?? MAX_RESPONSE_ITEMS), MAX_RESPONSE_ITEMS);
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const items = visible.slice((page - 1) * limit, page * limit);
      const pages = Math.max(1, Math.ceil(visible.length / limit));
      const link = (p: number, rel: string) => `<${ROOT_URL}${api}/releases?limit=${limit}&page=${p}>; rel="${rel}"`;
      const links = [...(page < pages ? [link(page + 1, 'next'), link(pages, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
      return json(
        200,
        items.map((r) => this.json(r)),
        { 'x-total-count': String(visible.length), ...(links.length ? { link: links.join(',') } : {}), 'access-control-expose-headers': 'X-Total-Count, Link' },
      );
    }
    if (url.pathname === `${api}/releases/latest`) {
      const latest = visible.find((r) => !r.prerelease);
      return latest ? json(200, this.json(latest)) : notFound();
    }
    if (url.pathname.startsWith(download)) {
      const [tag, name] = url.pathname.slice(download.length).split('/').map(decodeURIComponent);
      const asset = this.releases.find((r) => r.tag === tag)?.assets.find((a) => a.name === name);
      if (!asset) return notFound();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(asset.bytes.length) });
      return void res.end(asset.bytes);
    }
    return notFound();
  }
}
