/**
 * @module web/context
 * What the web pages attach to a request: the browser session, when there is one.
 */
import type { WebSession } from '../services/sessions.ts';
import type { ImageProxySigner } from './image-proxy.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in browser session (null for anonymous visitors and token-authenticated requests). */
    webSession: WebSession | null;
    /** Signs proxy URLs for images on other hosts in notes (`web/image-proxy.ts`). */
    imageProxy: ImageProxySigner | null;
  }
}

export {};
