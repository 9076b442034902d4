/**
 * @module http/request-context
 * What Wharf attaches to each request: the caller (null = anonymous), the URL bases for this
 * request, the rate-limit state once counted, and the generations a remembered read was read at.
 */
import type { FoundWriteTarget } from '../services/generations.ts';
import type { Principal } from '../services/tokens.ts';
import type { RateState } from './rate-limit.ts';
import type { Urls } from './urls.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    urls: Urls;
    rate: RateState | null;
    /** For a remembered read: its repository's and the credentials' generations, read together first (`http/cached-reads.ts`). */
    generations: { repositoryId: number; generation: number; credentials: number } | null;
    /** For a write to one repository: its row, its owner's and its read-only sources, read with the generations (`http/cached-reads.ts`). */
    writeTarget: Omit<FoundWriteTarget, 'generations'> | null;
  }
}

export {};
