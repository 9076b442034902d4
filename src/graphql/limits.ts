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
/**
 * What one query may make the server do, beyond the node limit (which only counts connection
 * items): git reads (each one a `git` process) and database lookups that are not batched
 * (a repository, a release by tag, a page of releases). Without these, a document repeating
 * `ref(qualifiedName: "main")` under 2,000 aliases, or `tagCommit` under a page of 100 releases
 * and a few hundred aliases, cost thousands of git processes and tens of seconds for one request.
 * GitHub caps "the execution resources a single query can consume" too, answering partial data
 * with errors, without publishing its figures; these leave ordinary queries (gh, Octokit: one to
 * three lookups; a page of 100 releases with their tag commits: 100–200 git reads) far below.
 */
export const MAX_GIT_READS = 250;
export const MAX_LOOKUPS = 1_000;
/**
 * Lookups one query runs at once. A query's resolvers start all their lookups together; without
 * this, sixteen hostile queries put over a thousand queries in the database pool's line (measured
 * on PostgreSQL), and every other request, pages and sign-ins included, waited behind them.
 */
export const LOOKUPS_AT_ONCE = 4;

function resourceLimit(what: string, max: number): GitHubGraphQLError {
  return new GitHubGraphQLError(
    'RESOURCE_LIMITS_EXCEEDED',
    `This query needs more than ${max.toLocaleString('en-US')} ${what}, the most one query may use. Ask for fewer fields, aliases or items.`,
  );
}

function timedOut(ms: number): GitHubGraphQLError {
  return new GitHubGraphQLError(
    'RESOURCE_LIMITS_EXCEEDED',
    `This query ran longer than ${ms.toLocaleString('en-US')} ms, the most one query may run; what was read in time is answered. Ask for fewer fields, aliases or items.`,
  );
}

/**
 * The resources one request has used. Git reads are also remembered for the request, so the same
 * ref or commit read under several aliases (or by `tag` and `tagCommit`) costs one process.
 */
export class QueryBudget {
  private gitReads = 0;
  private lookups = 0;
  private readonly gitResults = new Map<string, Promise<unknown>>();
  private lookupsRunning = 0;
  private readonly lookupsWaiting: Array<() => void> = [];
  private readonly deadline: number;

  /**
   * `timeoutMs`: how long the query may run (`WHARF_GRAPHQL_TIMEOUT_MS`, GitHub's 10 s): lookups
   * and git reads that would start later are refused, and the query answers what it has.
   */
  constructor(readonly timeoutMs = 10_000) {
    this.deadline = Date.now() + timeoutMs;
  }

  private expired(): boolean {
    return Date.now() > this.deadline;
  }

  /** Runs a git read once per request and key; throws once the request has used its share. */
  git<T>(key: string, read: () => Promise<T>): Promise<T> {
    const known = this.gitResults.get(key);
    if (known) return known as Promise<T>;
    if (++this.gitReads > MAX_GIT_READS) throw resourceLimit('git reads', MAX_GIT_READS);
    if (this.expired()) throw timedOut(this.timeoutMs);
    // A read still waiting for its git turn at the deadline gives up (the request's git work runs
    // under a signal that fires then, see graphql/feature.ts): it failed for lack of time.
    const result = read().catch((err: unknown) => {
      throw this.expired() ? timedOut(this.timeoutMs) : err;
    });
    this.gitResults.set(key, result);
    return result;
  }

  /**
   * Runs one unbatched database lookup, at most `LOOKUPS_AT_ONCE` of this request's at a time;
   * refuses once the request has used its share.
   */
  async lookup<T>(run: () => Promise<T>): Promise<T> {
    if (++this.lookups > MAX_LOOKUPS) throw resourceLimit('lookups', MAX_LOOKUPS);
    if (this.lookupsRunning >= LOOKUPS_AT_ONCE) await new Promise<void>((resolve) => this.lookupsWaiting.push(resolve));
    else this.lookupsRunning++;
    try {
      if (this.expired()) throw timedOut(this.timeoutMs);
      return await run();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.lookupsWaiting.shift();
      if (next) next();
      else this.lookupsRunning--;
    }
  }
}

function intValue(value: ValueNode | undefined, variables: Record<string, unknown>): number | null {
  if (!value) return null;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const v = variables[value.name.value];
    return typeof v === 'number' ? v : null;
  }
  return null;
}

/** What a selection set costs when its parent is fetched once. */
interface Cost {
  /** Nodes it may return (each connection's size times what each of its items costs). */
  nodes: number;
  /** Nesting depth, counting this selection set as 1. */
  depth: number;
  /** Connection fetches it needs (GitHub's rate-limit cost before dividing by 100). */
  requests: number;
}

/**
 * Throws MAX_NODE_LIMIT_EXCEEDED (or a depth error) for the operation that would run; returns its
 * rate-limit cost as GitHub computes it: the connection fetches it needs, divided by 100 and
 * rounded, at least 1.
 *
 * A fragment is costed once and its cost reused wherever it is spread: nodes scale linearly with
 * the multiplier above them, so a spread costs `multiplier × cost(fragment)`. Expanding every
 * spread instead made the check itself exponential: ten fragments each spreading the previous one
 * ten times (well within the token and depth limits) meant 10^10 visits, blocking the event loop.
 */
export function checkQueryCost(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 1;
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const fragmentCosts = new Map<string, Cost>();
  const NOTHING: Cost = { nodes: 0, depth: 0, requests: 0 };

  const fragmentCost = (name: string): Cost => {
    const known = fragmentCosts.get(name);
    if (known) return known;
    // Fragment cycles were already rejected by validation; this only guards against recursion.
    fragmentCosts.set(name, NOTHING);
    const cost = costOf(fragments.get(name)?.selectionSet);
    fragmentCosts.set(name, cost);
    return cost;
  };

  const costOf = (set: SelectionSetNode | undefined): Cost => {
    if (!set) return NOTHING;
    let nodes = 0;
    let depth = 1;
    let requests = 0;
    for (const selection of set.selections) {
      let child: Cost;
      if (selection.kind === Kind.FIELD) {
        child = costOf(selection.selectionSet);
        const args = selection.arguments ?? [];
        const size = intValue(args.find((a) => a.name.value === 'first')?.value, variables) ?? intValue(args.find((a) => a.name.value === 'last')?.value, variables);
        nodes += size !== null && size > 0 ? size * (1 + child.nodes) : child.nodes;
        // A connection is one fetch, and what its items need is fetched once per item.
        requests += size !== null && size > 0 ? 1 + size * child.requests : child.requests;
      } else {
        child = selection.kind === Kind.INLINE_FRAGMENT ? costOf(selection.selectionSet) : fragmentCost(selection.name.value);
        nodes += child.nodes;
        requests += child.requests;
      }
      if (child.depth > 0) depth = Math.max(depth, 1 + child.depth);
    }
    return { nodes, depth, requests };
  };

  const { nodes, depth, requests } = costOf(operation.selectionSet);
  if (depth > MAX_DEPTH) throw new GitHubGraphQLError('MAX_NODE_LIMIT_EXCEEDED', `Query has depth of ${depth}, which exceeds max depth of ${MAX_DEPTH}`);
  if (nodes > MAX_NODES) {
    throw new GitHubGraphQLError(
      'MAX_NODE_LIMIT_EXCEEDED',
      `This query requests up to ${nodes.toLocaleString('en-US')} possible nodes which exceeds the maximum limit of ${MAX_NODES.toLocaleString('en-US')}.`,
    );
  }
  return Math.max(1, Math.round(requests / 100));
}
