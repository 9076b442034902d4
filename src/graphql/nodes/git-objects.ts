/**
 * @module graphql/nodes/git-objects
 * `Ref`, `Commit` and `Tag`, read from the repository's bare git directory. Commit details are
 * read only when a query selects them.
 */
import { nodeId } from '../../http/serializers/node-id.ts';
import { encodePathValue } from '../../http/urls.ts';
import * as gitData from '../../services/git-data.ts';
import type { CommitInfo, RefInfo } from '../../services/git-data.ts';
import { toIsoSeconds } from '../../util/time.ts';
import type { RepositoryNode } from './repository.ts';

/** `refs/heads/x` → [`refs/heads/`, `x`]; other namespaces keep their first two segments as prefix. */
export function splitRefName(fullRef: string): { prefix: string; name: string } {
  const m = /^(refs\/[^/]+\/)(.+)$/.exec(fullRef);
  return m ? { prefix: m[1]!, name: m[2]! } : { prefix: '', name: fullRef };
}

export class RefNode {
  readonly __typename = 'Ref';

  constructor(
    readonly info: RefInfo,
    readonly repository: RepositoryNode,
  ) {}

  get id(): string {
    return nodeId('Ref', this.info.ref);
  }
  get name(): string {
    return splitRefName(this.info.ref).name;
  }
  get prefix(): string {
    return splitRefName(this.info.ref).prefix;
  }
  get target(): CommitNode | TagNode {
    if (this.info.type === 'tag') return new TagNode(this.info.sha, this.name, this.info.commitSha, this.repository);
    return new CommitNode(this.info.commitSha, this.repository);
  }
}

export class CommitNode {
  readonly __typename = 'Commit';
  private details: Promise<CommitInfo> | null = null;

  constructor(
    readonly oid: string,
    readonly repository: RepositoryNode,
  ) {}

  private info(): Promise<CommitInfo> {
    const { c, access } = this.repository;
    this.details ??= c.budget
      .git(`commit ${access.repo.id} ${this.oid}`, () => gitData.getCommit(c.app, access.repo, this.oid))
      .then((commit) => {
        if (!commit) throw new Error(`commit ${this.oid} vanished`);
        return commit;
      });
    return this.details;
  }

  get id(): string {
    return nodeId('Commit', this.oid);
  }
  get abbreviatedOid(): string {
    return this.oid.slice(0, 7);
  }
  get resourcePath(): string {
    return `${this.repository.resourcePath}/commit/${this.oid}`;
  }
  get url(): string {
    return `${this.repository.c.urls.web}${this.resourcePath}`;
  }
  get commitUrl(): string {
    return this.url;
  }
  async message(): Promise<string> {
    return (await this.info()).message;
  }
  async messageHeadline(): Promise<string> {
    return (await this.info()).message.split('\n')[0] ?? '';
  }
  async committedDate(): Promise<string> {
    return toIsoSeconds((await this.info()).committerDate);
  }
  async authoredDate(): Promise<string> {
    return toIsoSeconds((await this.info()).authorDate);
  }
}

export class TagNode {
  readonly __typename = 'Tag';

  constructor(
    readonly oid: string,
    readonly name: string,
    private readonly commitOid: string,
    readonly repository: RepositoryNode,
  ) {}

  get id(): string {
    return nodeId('Tag', this.oid);
  }
  get abbreviatedOid(): string {
    return this.oid.slice(0, 7);
  }
  get commitUrl(): string {
    return `${this.repository.url}/releases/tag/${encodePathValue(this.name)}`;
  }
  get target(): CommitNode {
    return new CommitNode(this.commitOid, this.repository);
  }
}
