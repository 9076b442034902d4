/**
 * @module web/context
 * What the web pages attach to a request: the browser session, when there is one.
 */
import type { WebSession } from '../services/sessions.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in browser session (null for anonymous visitors and token-authenticated requests). */
    webSession: WebSession | null;
  }
}

export {};
