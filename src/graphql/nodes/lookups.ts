/**
 * @module graphql/nodes/lookups
 * Entry points shared by the root fields and nested fields: a repository by owner and name with
 * the REST visibility rules (hidden repositories are "Could not resolve", never "forbidden").
 */
import { NotFoundError } from '../../domain/errors.ts';
import { getRepoAccess } from '../../services/repositories.ts';
import type { GraphQLContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { RepositoryNode } from './repository.ts';

export async function findRepository(c: GraphQLContext, owner: string, name: string): Promise<RepositoryNode> {
  try {
    return new RepositoryNode(await c.budget.lookup(() => getRepoAccess(c.app, c.principal, owner, name)), c);
  } catch (err) {
    if (err instanceof NotFoundError) throw notFound(`Could not resolve to a Repository with the name '${owner}/${name}'.`);
    throw err;
  }
}
