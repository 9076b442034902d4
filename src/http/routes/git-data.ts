/**
 * @module http/routes/git-data
 * Read-only views of a repository's git data (tags, branches, refs, commits), the refs API that
 * release tools use to create and delete tags, and source archives from `git archive`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context.ts';
import type { Account, Repository } from '../../db/schema.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import * as gitData from '../../services/git-data.ts';
import type { CommitInfo, RefInfo } from '../../services/git-data.ts';
import { toIsoSeconds } from '../../util/time.ts';
import { parsePage } from '../../domain/page.ts';
import { repoAccess, sendPage } from '../route-helpers.ts';
import { nodeId } from '../serializers/node-id.ts';
import { repositoryUrls } from '../serializers/repositories.ts';
import { simpleUser } from '../serializers/users.ts';
import { attachmentDisposition } from '../content-disposition.ts';
import type { Urls } from '../urls.ts';
import { encodePathValue } from '../urls.ts';

type WildcardParams = { owner: string; repo: string; '*': string };

function refJson(ref: RefInfo, apiRepo: string) {
  const objectType = ref.type === 'tag' ? 'tag' : 'commit';
  return {
    ref: ref.ref,
    node_id: nodeId('Ref', ref.ref),
    url: `${apiRepo}/git/${encodePathValue(ref.ref)}`,
    object: { type: objectType, sha: ref.sha, url: `${apiRepo}/git/${objectType === 'tag' ? 'tags' : 'commits'}/${ref.sha}` },
  };
}

function commitJson(owner: Account, repo: Repository, urls: Urls, commit: CommitInfo, byEmail: Map<string, Account>) {
  const { api, web } = repositoryUrls(owner, repo, urls);
  const author = byEmail.get(commit.authorEmail);
  const committer = byEmail.get(commit.committerEmail);
  return {
    url: `${api}/commits/${commit.sha}`,
    sha: commit.sha,
    node_id: nodeId('Commit', commit.sha),
    html_url: `${web}/commit/${commit.sha}`,
    comments_url: `${api}/commits/${commit.sha}/comments`,
    commit: {
      url: `${api}/git/commits/${commit.sha}`,
      author: { name: commit.authorName, email: commit.authorEmail, date: toIsoSeconds(commit.authorDate) },
      committer: { name: commit.committerName, email: commit.committerEmail, date: toIsoSeconds(commit.committerDate) },
      message: commit.message,
      comment_count: 0,
      tree: { sha: commit.tree, url: `${api}/git/trees/${commit.tree}` },
    },
    author: author ? simpleUser(author, urls) : null,
    committer: committer ? simpleUser(committer, urls) : null,
    parents: commit.parents.map((sha) => ({ sha, url: `${api}/commits/${sha}`, html_url: `${web}/commit/${sha}` })),
  };
}

/** Streams `git archive` with GitHub's file name and top folder (`{owner}-{repo}-{shortsha}`). */
async function sendArchive(ctx: AppContext, request: FastifyRequest<{ Params: WildcardParams }>, reply: FastifyReply, format: 'tar.gz' | 'zip') {
  const access = await repoAccess(ctx, request);
  const ref = request.params['*'] || access.repo.default_branch;
  const resolved = await gitData.resolveArchiveRef(ctx, access.repo, ref);
  if (!resolved) throw new NotFoundError();
  const { sha } = resolved;
  const top = `${access.owner.login}-${access.repo.name}-${sha.slice(0, 7)}`;
  reply.header('content-type', format === 'zip' ? 'application/zip' : 'application/x-gzip');
  reply.header('content-disposition', attachmentDisposition(`${top}.${format}`));
  reply.header('etag', `"${sha}"`);
  if (request.method === 'HEAD') return reply.send();
  const { stream, stop } = await gitData.archive(ctx, access.repo, sha, format, top);
  // Stopped when the client goes away; stopping a finished archive does nothing.
  reply.raw.on('close', stop);
  return reply.send(stream);
}

export function gitDataRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/repos/:owner/:repo/tags', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { api } = repositoryUrls(access.owner, access.repo, request.urls);
    const tags = await gitData.listTags(ctx, access.repo);
    const page = parsePage(request.query);
    const items = tags.slice(page.offset, page.offset + page.perPage).map((r) => {
      const name = r.name;
      return {
        name,
        zipball_url: `${api}/zipball/refs/tags/${encodePathValue(name)}`,
        tarball_url: `${api}/tarball/refs/tags/${encodePathValue(name)}`,
        commit: { sha: r.commitSha, url: `${api}/commits/${r.commitSha}` },
        node_id: nodeId('Ref', r.ref),
      };
    });
    return sendPage(request, reply, page, tags.length, items);
  });

  app.get('/repos/:owner/:repo/branches', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const { api } = repositoryUrls(access.owner, access.repo, request.urls);
    const refs = await gitData.listBranches(ctx, access.repo);
    const page = parsePage(request.query);
    const items = refs.slice(page.offset, page.offset + page.perPage).map((r) => ({
      name: r.ref.slice('refs/heads/'.length),
      commit: { sha: r.commitSha, url: `${api}/commits/${r.commitSha}` },
      protected: false,
    }));
    return sendPage(request, reply, page, refs.length, items);
  });

  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/git/ref/*', async (request) => {
    const access = await repoAccess(ctx, request);
    const { api } = repositoryUrls(access.owner, access.repo, request.urls);
    const ref = await gitData.getRef(ctx, access.repo, `refs/${request.params['*']}`);
    if (!ref) throw new NotFoundError();
    return refJson(ref, api);
  });

  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/git/matching-refs/*', async (request) => {
    const access = await repoAccess(ctx, request);
    const { api } = repositoryUrls(access.owner, access.repo, request.urls);
    const refs = await gitData.matchingRefs(ctx, access.repo, `refs/${request.params['*']}`);
    return refs.map((r) => refJson(r, api));
  });

  app.post('/repos/:owner/:repo/git/refs', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const ref = await gitData.createReference(ctx, access, request.body);
    const created = await gitData.getRef(ctx, access.repo, ref);
    const { api } = repositoryUrls(access.owner, access.repo, request.urls);
    reply.header('location', `${api}/git/${encodePathValue(ref)}`);
    return reply.code(201).send(refJson(created!, api));
  });

  app.delete<{ Params: WildcardParams }>('/repos/:owner/:repo/git/refs/*', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    await gitData.deleteReference(ctx, access, request.params['*']);
    return reply.code(204).send();
  });

  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/commits/*', async (request) => {
    const access = await repoAccess(ctx, request);
    const commit = await gitData.getCommit(ctx, access.repo, request.params['*']);
    if (!commit) throw new ValidationError([], `No commit found for SHA: ${request.params['*']}`);
    return commitJson(access.owner, access.repo, request.urls, commit, await gitData.commitAccounts(ctx, [commit]));
  });

  app.get('/repos/:owner/:repo/commits', async (request, reply) => {
    const access = await repoAccess(ctx, request);
    const q = request.query as Record<string, string | undefined>;
    const head = await gitData.resolveCommit(ctx, access.repo, q.sha || access.repo.default_branch);
    if (!head) return [];
    const page = parsePage(request.query);
    const commits = await gitData.listCommits(ctx, access.repo, { to: head, skip: page.offset, maxCount: page.perPage + 1 });
    const shown = commits.slice(0, page.perPage);
    const accounts = await gitData.commitAccounts(ctx, shown);
    const items = shown.map((c) => commitJson(access.owner, access.repo, request.urls, c, accounts));
    // The total is unknown without walking all history; advertise one more page while there is one.
    const total = page.offset + commits.length;
    return sendPage(request, reply, page, total, items);
  });

  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/tarball/*', (request, reply) => sendArchive(ctx, request, reply, 'tar.gz'));
  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/zipball/*', (request, reply) => sendArchive(ctx, request, reply, 'zip'));
  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/tarball', (request, reply) => sendArchive(ctx, request, reply, 'tar.gz'));
  app.get<{ Params: WildcardParams }>('/repos/:owner/:repo/zipball', (request, reply) => sendArchive(ctx, request, reply, 'zip'));
}
