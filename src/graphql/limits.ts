/**
 * @module graphql/limits
 * GitHub's guard against expensive queries, checked before execution: the number of nodes a query
 * may return (each connection's `first`/`last` multiplied down the nesting) is capped at 500,000,
 * and nesting depth is capped so that a pathological document cannot exhaust the stack.
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type ValueNode } from 'graphql';
import { GitHubGraphQLError } from './errors.ts';

export const MAX_NODES = 500_000;
export const MAX_DEPTH = 25;

function intValue(value: ValueNode | undefined, variables: Record<string, unknown>): number | null {
  if (!value) return null;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const v = variables[value.name.value];
    return typeof v === 'number' ? v : null;
  }
  return null;
}

/** Throws MAX_NODE_LIMIT_EXCEEDED (or a depth error) for the operation that would run. */
export function checkQueryCost(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): void {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );

  let nodes = 0;
  const walk = (set: SelectionSetNode | undefined, multiplier: number, depth: number): void => {
    if (!set) return;
    if (depth > MAX_DEPTH) throw new GitHubGraphQLError('MAX_NODE_LIMIT_EXCEEDED', `Query has depth of ${depth}, which exceeds max depth of ${MAX_DEPTH}`);
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const args = selection.arguments ?? [];
        const size = intValue(args.find((a) => a.name.value === 'first')?.value, variables) ?? intValue(args.find((a) => a.name.value === 'last')?.value, variables);
        const next = size !== null && size > 0 ? multiplier * size : multiplier;
        if (size !== null && size > 0) nodes += next;
        walk(selection.selectionSet, next, depth + 1);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, multiplier, depth + 1);
      } else {
        // Fragment cycles were already rejected by validation.
        walk(fragments.get(selection.name.value)?.selectionSet, multiplier, depth + 1);
      }
      if (nodes > MAX_NODES) {
        throw new GitHubGraphQLError(
          'MAX_NODE_LIMIT_EXCEEDED',
          `This query requests up to ${nodes.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of ${MAX_NODES.toLocaleString('en-US')}.`,
        );
      }
    }
  };
  walk(operation.selectionSet, 1, 1);
}
