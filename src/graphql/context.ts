/**
 * @module graphql/context
 * What every resolver receives: the application context, the authenticated caller, the public
 * URLs of this request, and per-request batch loaders (so a page of 100 releases costs one query
 * for their authors and one for their assets, not 100 each).
 */
import type { AppContext } from '../context.ts';
import type { Account, Asset } from '../db/schema.ts';
import type { RateState } from '../http/rate-limit.ts';
import type { Urls } from '../http/urls.ts';
import { accountsWithIds } from '../services/accounts.ts';
import { assetsOfReleases } from '../services/release-details.ts';
import type { Principal } from '../services/tokens.ts';
import { QueryBudget } from './limits.ts';

export interface GraphQLContext {
  app: AppContext;
  principal: Principal;
  urls: Urls;
  clientIp: string;
  accounts: BatchLoader<number, Account>;
  assetsByRelease: BatchLoader<number, Asset[]>;
  /** Git reads and lookups this request has made (see limits.ts). */
  budget: QueryBudget;
  /** What this query was charged against the caller's GraphQL budget (null: rate limits off). */
  rate: { cost: number; state: RateState } | null;
}

/**
 * Collects keys requested during one turn of the event loop and fetches them together. graphql-js
 * calls the resolvers of every item of a list before awaiting any of them, so siblings batch.
 */
export class BatchLoader<K, V> {
  private readonly cache = new Map<K, Promise<V | undefined>>();
  private pending: Array<{ key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }> = [];

  constructor(private readonly fetch: (keys: K[]) => Promise<Map<K, V>>) {}

  load(key: K): Promise<V | undefined> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const promise = new Promise<V | undefined>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.dispatch());
      this.pending.push({ key, resolve, reject });
    });
    this.cache.set(key, promise);
    return promise;
  }

  private async dispatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const found = await this.fetch([...new Set(batch.map((b) => b.key))]);
      for (const b of batch) b.resolve(found.get(b.key));
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}

export function createGraphQLContext(app: AppContext, principal: Principal, urls: Urls, clientIp: string, budget = new QueryBudget(app.config.graphqlTimeoutMs)): GraphQLContext {
  return {
    app,
    principal,
    urls,
    clientIp,
    accounts: new BatchLoader((ids) => accountsWithIds(app, ids)),
    assetsByRelease: new BatchLoader((ids) => assetsOfReleases(app, ids)),
    budget,
    rate: null,
  };
}
