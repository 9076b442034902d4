/**
 * @module graphql/root
 * The query root's fields. Lookups by name follow GitHub: a missing or hidden object is `null`
 * with a NOT_FOUND error naming what could not be resolved.
 */
import { NotFoundError } from '../domain/errors.ts';
import { parseNodeId } from '../http/serializers/node-id.ts';
import { accountNamed, accountWithId } from '../services/accounts.ts';
import { getRepoAccessById } from '../services/repositories.ts';
import type { GraphQLContext } from './context.ts';
import { GitHubGraphQLError, notFound } from './errors.ts';
import { AccountNode } from './nodes/accounts.ts';
import { findRepository } from './nodes/lookups.ts';
import { RepositoryNode } from './nodes/repository.ts';

async function accountByLogin(c: GraphQLContext, login: string): Promise<AccountNode | null> {
  const account = await c.budget.lookup(() => accountNamed(c.app, login));
  return account ? new AccountNode(account, c) : null;
}

/** Resolves a global id to the object, or null when it names nothing the caller can see. */
function nodeById(c: GraphQLContext, id: string): Promise<AccountNode | RepositoryNode | null> {
  return c.budget.lookup(() => resolveNodeId(c, id));
}

async function resolveNodeId(c: GraphQLContext, id: string): Promise<AccountNode | RepositoryNode | null> {
  const parsed = parseNodeId(id);
  if (!parsed || !/^\d+$/.test(parsed.id)) return null;
  const numeric = Number(parsed.id);
  if (parsed.type === 'User' || parsed.type === 'Organization') {
    const account = await accountWithId(c.app, numeric);
    return account && account.type === parsed.type ? new AccountNode(account, c) : null;
  }
  if (parsed.type === 'Repository') {
    try {
      return new RepositoryNode(await getRepoAccessById(c.app, c.principal, numeric), c);
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }
  return null;
}

export const rootValue = {
  viewer(_args: unknown, c: GraphQLContext) {
    return new AccountNode(c.principal.user, c);
  },

  repository(args: { owner: string; name: string }, c: GraphQLContext) {
    return findRepository(c, args.owner, args.name);
  },

  async user(args: { login: string }, c: GraphQLContext) {
    const node = await accountByLogin(c, args.login);
    if (!node || node.__typename !== 'User') throw notFound(`Could not resolve to a User with the login of '${args.login}'.`);
    return node;
  },

  async organization(args: { login: string }, c: GraphQLContext) {
    const node = await accountByLogin(c, args.login);
    if (!node || node.__typename !== 'Organization') throw notFound(`Could not resolve to an Organization with the login of '${args.login}'.`);
    return node;
  },

  repositoryOwner(args: { login: string }, c: GraphQLContext) {
    return accountByLogin(c, args.login);
  },

  async node(args: { id: string }, c: GraphQLContext) {
    const node = await nodeById(c, args.id);
    if (!node) throw notFound(`Could not resolve to a node with the global id of '${args.id}'`);
    return node;
  },

  nodes(args: { ids: string[] }, c: GraphQLContext) {
    if (args.ids.length > 100) throw new GitHubGraphQLError('EXCESSIVE_PAGINATION', 'You may not request more than 100 nodes at once.');
    return args.ids.map(async (id) => {
      const node = await nodeById(c, id);
      if (!node) throw notFound(`Could not resolve to a node with the global id of '${id}'`);
      return node;
    });
  },

  /** The caller's GraphQL budget after this query, and what this query cost (GitHub's points). */
  async rateLimit(_args: unknown, c: GraphQLContext) {
    if (!c.app.config.rateLimit.enabled || !c.rate) return null;
    const { cost, state } = c.rate;
    return {
      cost,
      limit: state.limit,
      nodeCount: 0,
      remaining: state.remaining,
      resetAt: new Date(state.reset * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      used: Math.min(state.used, state.limit),
    };
  },
};
