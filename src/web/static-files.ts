/**
 * @module web/static-files
 * The stylesheet and the one script, read once at start-up and served from `/static/` with a
 * content hash in the query string, so browsers may cache them for a year.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

interface StaticFile {
  body: Buffer;
  type: string;
  hash: string;
}

function load(name: string, type: string): StaticFile {
  const body = readFileSync(new URL(`./static/${name}`, import.meta.url));
  return { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

const FILES = {
  'wharf.css': load('wharf.css', 'text/css; charset=utf-8'),
  'wharf.js': load('wharf.js', 'text/javascript; charset=utf-8'),
} satisfies Record<string, StaticFile>;

/** The versioned URL of a static file, for `<link>` and `<script>`. */
export function staticUrl(name: keyof typeof FILES): string {
  return `/static/${name}?v=${FILES[name].hash}`;
}

export function staticRoutes(app: FastifyInstance): void {
  app.get<{ Params: { file: string } }>('/static/:file', async (request, reply) => {
    const name = request.params.file;
    // The not-found handler answers browsers with the HTML page and other clients with JSON.
    if (!Object.hasOwn(FILES, name)) return reply.callNotFound();
    const file = FILES[name as keyof typeof FILES];
    reply.header('content-type', file.type);
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('etag', `"${file.hash}"`);
    if (request.headers['if-none-match'] === `"${file.hash}"`) return reply.code(304).send();
    return reply.send(file.body);
  });
}
