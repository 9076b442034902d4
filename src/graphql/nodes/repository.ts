/**
 * @module graphql/nodes/repository
 * `Repository`: metadata, refs and the release fields gh reads. The caller's access was checked
 * when the node was made; drafts are visible only with push access (the release services decide).
 */
import type { Permission } from '../../db/schema.ts';
import { nodeId } from '../../http/serializers/node-id.ts';
import { repositoryUrls } from '../../http/serializers/repositories.ts';
import * as gitData from '../../services/git-data.ts';
import type { RepoAccess } from '../../services/repositories.ts';
import { connection, connectionFromList, type Connection, type ConnectionArgs } from '../connection.ts';
import type { GraphQLContext } from '../context.ts';
import * as releaseData from '../release-data.ts';
import type { ReleaseOrder } from '../release-data.ts';
import { AccountNode } from './accounts.ts';
import { RefNode } from './git-objects.ts';
import { ReleaseNode } from './release.ts';

const VIEWER_PERMISSION: Record<Permission, string> = { pull: 'READ', triage: 'TRIAGE', push: 'WRITE', maintain: 'MAINTAIN', admin: 'ADMIN' };

export class RepositoryNode {
  readonly __typename = 'Repository';
  private latestId: Promise<number | null> | null = null;

  constructor(
    readonly access: RepoAccess,
    readonly c: GraphQLContext,
  ) {}

  get id(): string {
    return nodeId('Repository', this.access.repo.id);
  }
  get databaseId(): number {
    return this.access.repo.id;
  }
  get name(): string {
    return this.access.repo.name;
  }
  get nameWithOwner(): string {
    return `${this.access.owner.login}/${this.access.repo.name}`;
  }
  get owner(): AccountNode {
    return new AccountNode(this.access.owner, this.c);
  }
  get description(): string | null {
    return this.access.repo.description;
  }
  get homepageUrl(): string | null {
    return this.access.repo.homepage || null;
  }
  get isPrivate(): boolean {
    return this.access.repo.private === 1;
  }
  get visibility(): string {
    return this.isPrivate ? 'PRIVATE' : 'PUBLIC';
  }
  get createdAt(): string {
    return this.access.repo.created_at;
  }
  get updatedAt(): string {
    return this.access.repo.updated_at;
  }
  get pushedAt(): string | null {
    return this.access.repo.pushed_at;
  }
  get resourcePath(): string {
    return `/${repositoryUrls(this.access.owner, this.access.repo, this.c.urls).full}`;
  }
  get url(): string {
    return `${this.c.urls.web}${this.resourcePath}`;
  }
  get viewerPermission(): string {
    return VIEWER_PERMISSION[this.access.permission];
  }
  get viewerCanAdminister(): boolean {
    return this.access.permission === 'admin';
  }

  async defaultBranchRef(): Promise<RefNode | null> {
    const ref = await this.readRef(`refs/heads/${this.access.repo.default_branch}`);
    return ref ? new RefNode(ref, this) : null;
  }

  /**
   * GitHub's rule: a fully qualified name is matched exactly; a short name is tried as a branch,
   * then as a tag. Anything that is not a ref name is simply absent (null), never an error.
   */
  async ref(args: { qualifiedName: string }): Promise<RefNode | null> {
    const name = args.qualifiedName;
    if (!name || name.startsWith('-') || name.includes('\0') || name.length > 1024) return null;
    const candidates = name.startsWith('refs/') ? [name] : [`refs/heads/${name}`, `refs/tags/${name}`];
    for (const candidate of candidates) {
      const ref = await this.readRef(candidate);
      if (ref) return new RefNode(ref, this);
    }
    return null;
  }

  async refs(args: ConnectionArgs & { refPrefix: string; direction?: 'ASC' | 'DESC' | null }): Promise<Connection<RefNode>> {
    const prefix = args.refPrefix;
    // Tags come in the tag order of `services/git-data` (REST `GET /tags`'s order) for DESC, and
    // reversed for ASC, the default; other refs in git's name order (reversed for DESC).
    const valid = prefix.startsWith('refs/') && prefix.endsWith('/') && !prefix.includes('\0');
    const refs = valid ? [...(await this.c.budget.git(`refs ${this.access.repo.id} ${prefix}`, () => gitData.refsUnder(this.c.app, this.access.repo, prefix)))] : [];
    if ((prefix === 'refs/tags/') === (args.direction !== 'DESC')) refs.reverse();
    return connectionFromList(
      refs.map((r) => new RefNode(r, this)),
      args,
      'refs',
    );
  }

  /** One ref, read at most once per request (within the request's budget of git reads). */
  readRef(fullRef: string): Promise<gitData.RefInfo | null> {
    return this.c.budget.git(`ref ${this.access.repo.id} ${fullRef}`, () => gitData.getRef(this.c.app, this.access.repo, fullRef));
  }

  /** The id of the release GitHub would mark latest (read once per repository per request). */
  latestReleaseId(): Promise<number | null> {
    if (!this.latestId) {
      this.latestId = this.c.budget.lookup(() => releaseData.latestReleaseId(this.c.app, this.access));
    }
    return this.latestId;
  }

  /** By tag, drafts included for callers who may see them (gh resolves drafts this way). */
  async release(args: { tagName: string }): Promise<ReleaseNode | null> {
    const release = await this.c.budget.lookup(() => releaseData.releaseByTagIncludingDrafts(this.c.app, this.access, args.tagName));
    return release ? new ReleaseNode(release, this) : null;
  }

  async releases(args: ConnectionArgs & { orderBy?: ReleaseOrder | null }) {
    const order = args.orderBy ?? { field: 'CREATED_AT', direction: 'DESC' };
    const page = await this.c.budget.lookup(() => releaseData.releasePage(this.c.app, this.access, args, order));
    return connection(
      page.items.map((release) => new ReleaseNode(release, this)),
      page.window,
      page.total,
    );
  }

  async latestRelease(): Promise<ReleaseNode | null> {
    const release = await this.c.budget.lookup(() => releaseData.latestRelease(this.c.app, this.access));
    return release ? new ReleaseNode(release, this) : null;
  }
}
