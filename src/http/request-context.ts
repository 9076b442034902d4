/**
 * @module http/request-context
 * What Wharf attaches to each request: the caller (null = anonymous), the URL bases for this
 * request, and the rate-limit state once counted.
 */
import type { Principal } from '../services/tokens.ts';
import type { RateState } from './rate-limit.ts';
import type { Urls } from './urls.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    urls: Urls;
    rate: RateState | null;
  }
}

export {};
