/**
 * @module graphql/connection
 * Relay cursor pagination as GitHub applies it: every connection needs `first` or `last`
 * (at most 100), cursors are opaque base64 strings, and `after`/`before` address positions in the
 * ordered list. Wharf's cursors encode a position (`cursor:v2:<index>`); a list that changes
 * between pages may shift by the number of inserted items, as offset pagination does on REST.
 */
import { GitHubGraphQLError } from './errors.ts';

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

export const MAX_PAGE_SIZE = 100;

export function encodeCursor(index: number): string {
  return Buffer.from(`cursor:v2:${index}`).toString('base64');
}

function decodeCursor(cursor: string): number {
  const m = /^cursor:v2:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!m) throw new GitHubGraphQLError('INVALID_CURSOR_ARGUMENTS', `\`${cursor}\` does not appear to be a valid cursor.`);
  return Number(m[1]);
}

/** Checks the arguments GitHub requires before any data is read. */
export function checkBoundaries(args: ConnectionArgs, connection: string): void {
  const { first, last } = args;
  if ((first === undefined || first === null) && (last === undefined || last === null)) {
    throw new GitHubGraphQLError('MISSING_PAGINATION_BOUNDARIES', `You must provide a \`first\` or \`last\` value to properly paginate the \`${connection}\` connection.`);
  }
  for (const [name, value] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (value === undefined || value === null) continue;
    if (value < 0) throw new GitHubGraphQLError('INVALID_CURSOR_ARGUMENTS', `\`${name}\` on the \`${connection}\` connection cannot be less than zero.`);
    if (value > MAX_PAGE_SIZE) {
      throw new GitHubGraphQLError(
        'EXCESSIVE_PAGINATION',
        `Requesting ${value} records on the \`${connection}\` connection exceeds the \`${name}\` limit of ${MAX_PAGE_SIZE} records.`,
      );
    }
  }
}

export interface Window {
  /** Index of the first item to return. */
  start: number;
  /** Index after the last item to return. */
  end: number;
}

/** The slice of a list of `total` items the arguments select. */
export function pageWindow(args: ConnectionArgs, total: number, connection: string): Window {
  checkBoundaries(args, connection);
  let start = 0;
  let end = total;
  if (args.after) start = Math.min(total, decodeCursor(args.after) + 1);
  if (args.before) end = Math.max(start, Math.min(total, decodeCursor(args.before)));
  if (args.first !== undefined && args.first !== null) end = Math.min(end, start + args.first);
  if (args.last !== undefined && args.last !== null) start = Math.max(start, end - args.last);
  return { start, end };
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  nodes: T[];
  pageInfo: { startCursor: string | null; endCursor: string | null; hasNextPage: boolean; hasPreviousPage: boolean };
  totalCount: number;
}

/** Wraps the items of a window (already sliced) into a connection. */
export function connection<T>(items: T[], window: Window, total: number): Connection<T> {
  const edges = items.map((node, i) => ({ cursor: encodeCursor(window.start + i), node }));
  return {
    edges,
    nodes: items,
    pageInfo: {
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
      hasNextPage: window.start + items.length < total,
      hasPreviousPage: window.start > 0,
    },
    totalCount: total,
  };
}

/** Paginates a list that is already in memory. */
export function connectionFromList<T>(all: T[], args: ConnectionArgs, name: string): Connection<T> {
  const window = pageWindow(args, all.length, name);
  return connection(all.slice(window.start, window.end), window, all.length);
}
