/**
 * @module graphql/nodes/release
 * `Release` and `ReleaseAsset`. Ids are the REST `node_id`s, `url` is the release's web page
 * (`…/releases/tag/<tag>`, or `untagged-…` for a draft) as GitHub's GraphQL returns it.
 */
import type { Asset, Release } from '../../db/schema.ts';
import type { RefInfo } from '../../services/git-data.ts';
import { assetJson, releaseWebTag } from '../../http/serializers/assets.ts';
import { nodeId } from '../../http/serializers/node-id.ts';
import { encodePathValue } from '../../http/urls.ts';
import { connectionFromList, type Connection, type ConnectionArgs } from '../connection.ts';
import { AccountNode } from './accounts.ts';
import { CommitNode, RefNode } from './git-objects.ts';
import type { RepositoryNode } from './repository.ts';

export class ReleaseNode {
  readonly __typename = 'Release';

  constructor(
    readonly release: Release,
    readonly repository: RepositoryNode,
  ) {}

  get id(): string {
    return nodeId('Release', this.release.id);
  }
  get databaseId(): number {
    return this.release.id;
  }
  get name(): string | null {
    return this.release.name;
  }
  get tagName(): string {
    return this.release.tag_name;
  }
  get description(): string | null {
    return this.release.body;
  }
  get isDraft(): boolean {
    return this.release.draft === 1;
  }
  get isPrerelease(): boolean {
    return this.release.prerelease === 1;
  }
  get isImmutable(): boolean {
    return this.release.immutable === 1;
  }
  async isLatest(): Promise<boolean> {
    return (await this.repository.latestReleaseId()) === this.release.id;
  }
  get createdAt(): string {
    return this.release.created_at;
  }
  get publishedAt(): string | null {
    return this.release.published_at;
  }
  get updatedAt(): string {
    return this.release.updated_at;
  }
  get resourcePath(): string {
    return `${this.repository.resourcePath}/releases/tag/${encodePathValue(releaseWebTag(this.release))}`;
  }
  get url(): string {
    return `${this.repository.c.urls.web}${this.resourcePath}`;
  }
  async author(): Promise<AccountNode | null> {
    const account = await this.repository.c.accounts.load(this.release.author_id);
    return account ? new AccountNode(account, this.repository.c) : null;
  }

  private tagRef(): Promise<RefInfo | null> {
    return this.repository.readRef(`refs/tags/${this.release.tag_name}`);
  }
  async tag(): Promise<RefNode | null> {
    const ref = await this.tagRef();
    return ref ? new RefNode(ref, this.repository) : null;
  }
  async tagCommit(): Promise<CommitNode | null> {
    const ref = await this.tagRef();
    return ref ? new CommitNode(ref.commitSha, this.repository) : null;
  }

  async releaseAssets(args: ConnectionArgs & { name?: string | null }): Promise<Connection<ReleaseAssetNode>> {
    let assets = (await this.repository.c.assetsByRelease.load(this.release.id)) ?? [];
    if (args.name) assets = assets.filter((a) => a.name === args.name);
    return connectionFromList(
      assets.map((a) => new ReleaseAssetNode(a, this)),
      args,
      'releaseAssets',
    );
  }
}

export class ReleaseAssetNode {
  readonly __typename = 'ReleaseAsset';

  constructor(
    readonly asset: Asset,
    readonly release: ReleaseNode,
  ) {}

  private get json() {
    const repo = this.release.repository;
    return assetJson(this.asset, { owner: repo.access.owner, repo: repo.access.repo, release: this.release.release, accounts: new Map(), urls: repo.c.urls });
  }

  get id(): string {
    return nodeId('ReleaseAsset', this.asset.id);
  }
  get databaseId(): number {
    return this.asset.id;
  }
  get name(): string {
    return this.asset.name;
  }
  get contentType(): string {
    return this.asset.content_type;
  }
  get size(): number {
    return this.asset.size;
  }
  get digest(): string | null {
    return this.json.digest;
  }
  get downloadCount(): number {
    return this.asset.download_count;
  }
  get downloadUrl(): string {
    return this.json.browser_download_url;
  }
  get url(): string {
    return this.json.browser_download_url;
  }
  get createdAt(): string {
    return this.asset.created_at;
  }
  get updatedAt(): string {
    return this.asset.updated_at;
  }
  async uploadedBy(): Promise<AccountNode> {
    const c = this.release.repository.c;
    const account = this.asset.uploader_id !== null ? await c.accounts.load(this.asset.uploader_id) : undefined;
    // An uploader whose account is gone is shown as the repository owner rather than breaking the non-null field.
    return new AccountNode(account ?? this.release.repository.access.owner, c);
  }
}
