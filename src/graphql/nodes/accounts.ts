/**
 * @module graphql/nodes/accounts
 * `User` and `Organization` objects (also the `RepositoryOwner` and `Actor` interfaces).
 */
import type { Account } from '../../db/schema.ts';
import { accountDisclosure } from '../../services/permissions.ts';
import { nodeId } from '../../http/serializers/node-id.ts';
import type { GraphQLContext } from '../context.ts';
import { findRepository } from './lookups.ts';

export class AccountNode {
  readonly __typename: 'User' | 'Organization';

  constructor(
    readonly account: Account,
    private readonly c: GraphQLContext,
  ) {
    this.__typename = account.type === 'Organization' ? 'Organization' : 'User';
  }

  get id(): string {
    return nodeId(this.__typename, this.account.id);
  }
  get databaseId(): number {
    return this.account.id;
  }
  get login(): string {
    return this.account.login;
  }
  get name(): string | null {
    return this.account.name;
  }
  /**
   * GitHub answers an empty string when the email is not public or not set. Wharf has no public
   * addresses: the viewer sees its own, a site administrator (with `site_admin`) everyone's.
   */
  get email(): string {
    return accountDisclosure(this.c.principal, this.account).email ? (this.account.email ?? '') : '';
  }
  avatarUrl(args: { size?: number | null }): string {
    const base = `${this.c.urls.web}/avatars/u/${this.account.id}?`;
    return args.size ? `${base}s=${args.size}` : base;
  }
  get isSiteAdmin(): boolean {
    return this.account.site_admin === 1;
  }
  get isViewer(): boolean {
    return this.account.id === this.c.principal.user.id;
  }
  get createdAt(): string {
    return this.account.created_at;
  }
  get updatedAt(): string {
    return this.account.updated_at;
  }
  get resourcePath(): string {
    return `/${encodeURIComponent(this.account.login)}`;
  }
  get url(): string {
    return `${this.c.urls.web}${this.resourcePath}`;
  }
  repository(args: { name: string }) {
    return findRepository(this.c, this.account.login, args.name);
  }
}
