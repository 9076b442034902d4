/**
 * @module webhooks/payloads
 * Webhook bodies exactly as GitHub sends them (`release`, `push`, `create`, `delete`, `ping`), and
 * Wharf's documented extension `release_asset`. Built from the event's snapshot (the release and
 * assets as they were in the change's transaction), the repository and the accounts involved.
 */
import { gitDirFor, type AppContext } from '../context.ts';
import type { Account, Repository, Webhook } from '../db/schema.ts';
import type { DomainEvent } from '../events/domain-events.ts';
import { ZERO_SHA } from '../events/domain-events.ts';
import * as git from '../git/git.ts';
import { assetJson } from '../http/serializers/assets.ts';
import { releaseJsonFrom } from '../http/serializers/releases.ts';
import { repositoryJson } from '../http/serializers/repositories.ts';
import { organizationSimple, simpleUser } from '../http/serializers/users.ts';
import type { Urls } from '../http/urls.ts';

/** Everything a payload needs besides the event. */
export interface PayloadContext {
  owner: Account;
  repo: Repository;
  /** Who made the change (GitHub's `sender`); the owner when Wharf made it itself. */
  sender: Account;
  /** Accounts by id (release authors, asset uploaders). */
  accounts: Map<number, Account>;
  urls: Urls;
}

/** A payload ready to send: the `X-GitHub-Event` name, the action (for the deliveries API) and the body. */
export interface Payload {
  event: string;
  action: string | null;
  body: Record<string, unknown>;
}

/** `repository`, `sender` and (for organizations' repositories) `organization`, as every event carries them. */
function common(c: PayloadContext) {
  return {
    repository: repositoryJson(c.owner, c.repo, c.urls, undefined),
    ...(c.owner.type === 'Organization' ? { organization: organizationSimple(c.owner, c.urls) } : {}),
    sender: simpleUser(c.sender, c.urls),
  };
}

/** The webhook event name a domain event is delivered as. */
export function webhookEventName(event: DomainEvent): string {
  switch (event.kind) {
    case 'release':
      return 'release';
    case 'release_asset':
      return 'release_asset';
    case 'ref':
      return event.action === 'created' ? 'create' : 'delete';
    case 'push':
      return 'push';
  }
}

export async function buildPayload(ctx: AppContext, event: DomainEvent, c: PayloadContext): Promise<Payload> {
  switch (event.kind) {
    case 'release':
      return {
        event: 'release',
        action: event.action,
        body: {
          action: event.action,
          ...(event.changes ? { changes: event.changes } : {}),
          release: releaseJsonFrom({ owner: c.owner, repo: c.repo, release: event.release, assets: event.assets, accounts: c.accounts, reactions: undefined, urls: c.urls }),
          ...common(c),
        },
      };
    case 'release_asset':
      return {
        event: 'release_asset',
        action: event.action,
        body: {
          action: event.action,
          ...(event.changes ? { changes: event.changes } : {}),
          release_asset: assetJson(event.asset, { owner: c.owner, repo: c.repo, release: event.release, accounts: c.accounts, urls: c.urls }),
          release: releaseJsonFrom({ owner: c.owner, repo: c.repo, release: event.release, assets: [], accounts: c.accounts, reactions: undefined, urls: c.urls }),
          ...common(c),
        },
      };
    case 'ref':
      return {
        event: event.action === 'created' ? 'create' : 'delete',
        action: null,
        body: {
          ref: event.ref,
          ref_type: event.refType,
          ...(event.action === 'created' ? { master_branch: c.repo.default_branch, description: c.repo.description } : {}),
          pusher_type: 'user',
          ...common(c),
        },
      };
    case 'push':
      return { event: 'push', action: null, body: await pushBody(ctx, event.ref, event.before, event.after, c) };
  }
}

const MAX_PUSH_COMMITS = 20;

/** GitHub's `push` body: up to 20 commits (oldest first), the head commit, and the compare URL. */
export async function pushBody(ctx: AppContext, ref: string, before: string, after: string, c: PayloadContext): Promise<Record<string, unknown>> {
  const gitDir = gitDirFor(ctx, c.repo);
  const web = `${c.urls.web}/${encodeURIComponent(c.owner.login)}/${encodeURIComponent(c.repo.name)}`;
  const created = before === ZERO_SHA;
  const deleted = after === ZERO_SHA;
  let commits: git.CommitInfo[] = [];
  let head: git.CommitInfo | null = null;
  let forced = false;
  if (!deleted) {
    head = await git.getCommit(gitDir, after).catch(() => null);
    // A new branch lists no commits on GitHub unless they are new to the repository; Wharf lists
    // what the push made reachable from the ref, up to 20 (a new tag lists none).
    if (!ref.startsWith('refs/tags/')) {
      commits = await git.log(gitDir, { to: after, from: created ? null : before, maxCount: MAX_PUSH_COMMITS }).catch(() => []);
      if (created) commits = [];
    }
    if (!created) forced = !(await git.mergeBases(gitDir, before, after).catch(() => [] as string[])).includes(before);
  }
  const commitJson = (commit: git.CommitInfo) => ({
    id: commit.sha,
    tree_id: commit.tree,
    distinct: true,
    message: commit.message,
    timestamp: commit.committerDate,
    url: `${web}/commit/${commit.sha}`,
    author: { name: commit.authorName, email: commit.authorEmail },
    committer: { name: commit.committerName, email: commit.committerEmail },
    added: [] as string[],
    removed: [] as string[],
    modified: [] as string[],
  });
  const repository = repositoryJson(c.owner, c.repo, c.urls, undefined);
  return {
    ref,
    before,
    after,
    // GitHub's push payload gives these two as Unix times, unlike every other event.
    repository: {
      ...repository,
      created_at: Math.floor(Date.parse(c.repo.created_at) / 1000),
      pushed_at: c.repo.pushed_at ? Math.floor(Date.parse(c.repo.pushed_at) / 1000) : null,
      master_branch: c.repo.default_branch,
    },
    pusher: { name: c.sender.login, email: c.sender.email ?? null },
    ...(c.owner.type === 'Organization' ? { organization: organizationSimple(c.owner, c.urls) } : {}),
    sender: simpleUser(c.sender, c.urls),
    created,
    deleted,
    forced,
    base_ref: null,
    compare: created || deleted ? `${web}/compare/${after.slice(0, 12)}` : `${web}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    commits: commits.reverse().map(commitJson),
    head_commit: head ? commitJson(head) : null,
  };
}

/** The `hook` object of a `ping`. */
export function pingBody(
  hook: Webhook,
  hookJson: Record<string, unknown>,
  c: Omit<PayloadContext, 'repo' | 'owner' | 'accounts'> & { owner?: Account; repo?: Repository },
): Record<string, unknown> {
  return {
    zen: 'Keep it logically awesome.',
    hook_id: hook.id,
    hook: hookJson,
    ...(c.repo && c.owner ? { repository: repositoryJson(c.owner, c.repo, c.urls, undefined) } : {}),
    ...(c.owner && c.owner.type === 'Organization' ? { organization: organizationSimple(c.owner, c.urls) } : {}),
    sender: simpleUser(c.sender, c.urls),
  };
}
