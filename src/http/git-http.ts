/**
 * @module http/git-http
 * git's smart HTTP protocol at `{base}/{owner}/{repo}.git/…`, served by `git http-backend` (CGI).
 * Wharf authorises before git runs:
 * - read (clone/fetch) needs pull access; public repositories are readable anonymously;
 * - push needs push access;
 * - an anonymous caller asking for something it cannot read gets a 401 challenge (git only sends
 *   credentials after one) whether or not the repository exists, and an authenticated caller
 *   without access gets 404, so existence of a private repository never leaks.
 */
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { gitDirFor, type AppContext } from '../context.ts';
import { NotFoundError, UnauthorizedError } from '../domain/errors.ts';
import * as git from '../git/git.ts';
import { syncRefs } from '../services/refs.ts';
import { crashPoint } from '../util/crash-points.ts';
import { atLeast } from '../services/permissions.ts';
import { getRepoAccess } from '../services/repositories.ts';
import { resolvePrincipal } from './auth.ts';
import { sendError } from './errors.ts';
import { countExpensiveRequest, PrimaryRateLimitError } from './rate-limit.ts';
import type { PushChecks } from './push-checks.ts';

type GitParams = { owner: string; repo: string };

function challenge(reply: FastifyReply, status = 401, message = 'Requires authentication'): FastifyReply {
  reply.header('www-authenticate', 'Basic realm="Wharf"');
  return sendError(reply, status, message);
}

/** Splits CGI output into status, headers and the rest of the stream. */
function readCgiHead(stdout: Readable): Promise<{ status: number; headers: Array<[string, string]>; body: PassThrough }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      let end = buffered.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (end < 0) {
        end = buffered.indexOf('\n\n');
        sepLen = 2;
      }
      if (end < 0) {
        if (buffered.length > 65536) reject(new Error('CGI header too large'));
        return;
      }
      stdout.off('data', onData);
      stdout.off('end', onEnd);
      const head = buffered.subarray(0, end).toString('latin1');
      const rest = buffered.subarray(end + sepLen);
      let status = 200;
      const headers: Array<[string, string]> = [];
      for (const line of head.split(/\r?\n/)) {
        const idx = line.indexOf(':');
        if (idx < 0) continue;
        const name = line.slice(0, idx).trim();
        const value = line.slice(idx + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
        else headers.push([name, value]);
      }
      const body = new PassThrough();
      if (rest.length) body.write(rest);
      // The caller ends `body` once git has exited (and a push has been processed), so a client
      // that sees the end of the response also sees the push's effects.
      stdout.pipe(body, { end: false });
      resolve({ status, headers, body });
    };
    const onEnd = () => reject(new Error('git http-backend ended before its headers'));
    stdout.on('data', onData);
    stdout.on('end', onEnd);
    stdout.on('error', reject);
  });
}

async function handle(ctx: AppContext, checks: PushChecks, request: FastifyRequest<{ Params: GitParams }>, reply: FastifyReply, rest: string): Promise<FastifyReply> {
  const query = request.query as Record<string, string | undefined>;
  const service = rest === 'info/refs' ? query.service : rest;
  const isPush = service === 'git-receive-pack';
  if (service !== 'git-upload-pack' && service !== 'git-receive-pack') return sendError(reply, 403, 'Smart HTTP only');

  let principal;
  try {
    principal = await resolvePrincipal(ctx, request);
    // The git pool's turns (and the request log) go by this caller.
    request.principal = principal;
  } catch (err) {
    if (err instanceof UnauthorizedError) return challenge(reply, 401, 'Bad credentials');
    throw err;
  }
  const repoName = request.params.repo.replace(/\.git$/i, '');
  let access;
  try {
    access = await getRepoAccess(ctx, principal, request.params.owner, repoName);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return principal ? sendError(reply, 404, 'Repository not found.') : challenge(reply);
  }
  if (isPush && !atLeast(access.permission, 'push')) {
    return principal ? sendError(reply, 403, `Permission to ${access.owner.login}/${access.repo.name}.git denied to ${principal.user.login}.`) : challenge(reply);
  }

  // Git traffic counts against the caller's rate limit like API requests (once per HTTP request).
  try {
    await countExpensiveRequest(ctx, principal, request.ip);
  } catch (err) {
    if (err instanceof PrimaryRateLimitError) {
      reply.header('retry-after', String(err.retryAfter));
      return sendError(reply, 403, err.message);
    }
    throw err;
  }
  const gitDir = gitDirFor(ctx, access.repo);
  const env: Record<string, string> = {
    GIT_PROJECT_ROOT: path.dirname(gitDir),
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: `/${path.basename(gitDir)}/${rest}`,
    REQUEST_METHOD: request.method,
    QUERY_STRING: new URL(request.url, 'http://x').search.slice(1),
    CONTENT_TYPE: request.headers['content-type'] ?? '',
    REMOTE_ADDR: request.ip,
    REMOTE_USER: principal?.user.login ?? '',
  };
  if (request.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(request.headers['content-encoding']);
  if (request.headers['git-protocol']) env.GIT_PROTOCOL = String(request.headers['git-protocol']);
  // No CONTENT_LENGTH: Node already hands git exactly the declared body and then its end. Given a
  // length, git-http-backend copies a push's body in a loop that never ends (at full CPU) when
  // its input closes short of that length: a body cut off by its deadline.

  // A push's pre-receive hook asks the refs door (through `checks`) before any ref moves.
  const actor = { user: principal?.user ?? null, via: 'push' as const };
  const check = isPush && request.method === 'POST' ? checks.register(ctx, access.repo, actor) : null;
  let child;
  try {
    child = await git.spawnGit(null, ['http-backend'], { ...env, ...check?.env }, gitDir);
  } catch (err) {
    // Refused (no slot in time) or abandoned: the push's check is never asked.
    check?.done();
    throw err;
  }
  child.on('close', () => check?.done());
  child.stderr?.on('data', (d: Buffer) => request.log.debug({ stderr: d.toString() }, 'git http-backend'));
  const bodyStream = request.body as Readable | undefined;
  if (bodyStream && typeof bodyStream.pipe === 'function') bodyStream.pipe(child.stdin!);
  else child.stdin!.end();
  child.stdin!.on('error', () => undefined);
  // A body cut off (its deadline, a client gone) is not ended by `pipe`: git sees its end here.
  request.raw.once('close', () => {
    if (!request.raw.complete) child.stdin!.destroy();
  });
  // A client that goes away mid-response stops git and everything it started (the request's own
  // 'close' only means its body was read).
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) git.stopGit(child);
  });

  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const { status, headers, body } = await readCgiHead(child.stdout as Readable);
  void exited.then(async () => {
    if (check) {
      // What the push changed is recorded before the client hears the end of the answer. A
      // process that dies here leaves it to the reconciler (services/ref-reconciler.ts).
      crashPoint('push-refs-moved');
      try {
        await syncRefs(ctx, access.repo, actor);
      } catch (err) {
        request.log.error({ err }, 'post-push processing failed');
      }
    }
    body.end();
  });
  reply.code(status);
  for (const [name, value] of headers) reply.header(name, value);
  return reply.send(body);
}

export function gitHttpRoutes(app: FastifyInstance, ctx: AppContext, checks: PushChecks): void {
  // Pack data must reach git untouched, whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const opts = { bodyLimit: 4 * 1024 * 1024 * 1024 };
  app.get<{ Params: GitParams }>('/:owner/:repo/info/refs', opts, (req, reply) => handle(ctx, checks, req, reply, 'info/refs'));
  app.post<{ Params: GitParams }>('/:owner/:repo/git-upload-pack', opts, (req, reply) => handle(ctx, checks, req, reply, 'git-upload-pack'));
  app.post<{ Params: GitParams }>('/:owner/:repo/git-receive-pack', opts, (req, reply) => handle(ctx, checks, req, reply, 'git-receive-pack'));
}
