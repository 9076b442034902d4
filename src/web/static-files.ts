/**
 * @module web/static-files
 * The stylesheet, the scripts (Wharf's own and the tus client's) and the icon, read once at start-up and served from `/static/` with a
 * content hash in the query string, so browsers may cache them for a year.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

interface StaticFile {
  body: Buffer;
  type: string;
  hash: string;
}

function fromBytes(body: Buffer, type: string): StaticFile {
  return { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

function load(name: string, type: string): StaticFile {
  return fromBytes(readFileSync(new URL(`./static/${name}`, import.meta.url)), type);
}

/**
 * tus-js-client's browser bundle, served from Wharf's own origin (the pages' CSP allows no other
 * script source, and a page must work without any CDN). Its source-map comment is dropped: the
 * map is not served, and a browser asking for it would only get a 404.
 */
function tusClientBundle(): StaticFile {
  const file = createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js');
  const text = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return fromBytes(Buffer.from(text, 'utf8'), 'text/javascript; charset=utf-8');
}

const FILES = {
  'wharf.css': load('wharf.css', 'text/css; charset=utf-8'),
  'dom.js': load('dom.js', 'text/javascript; charset=utf-8'),
  'wharf.js': load('wharf.js', 'text/javascript; charset=utf-8'),
  'release-editor.js': load('release-editor.js', 'text/javascript; charset=utf-8'),
  'uploader.js': load('uploader.js', 'text/javascript; charset=utf-8'),
  'tus.js': tusClientBundle(),
  'favicon.svg': load('favicon.svg', 'image/svg+xml'),
} satisfies Record<string, StaticFile>;

/** The versioned URL of a static file, for `<link>` and `<script>`. */
export function staticUrl(name: keyof typeof FILES): string {
  return `/static/${name}?v=${FILES[name].hash}`;
}

/**
 * What crawlers may fetch: pages, not the generated or expensive ones (archives, comparisons,
 * histories, avatars), the API, or the forms.
 */
const ROBOTS_TXT = `User-agent: *
Disallow: /api/
Disallow: /login
Disallow: /*/*/archive/
Disallow: /*/*/compare/
Disallow: /*/*/commits/
Disallow: /*/*/releases/download/
Disallow: /*/*/releases/new
Disallow: /*/*/releases/edit/
Disallow: /*/*/settings/
Disallow: /_image-proxy/
`;

export function staticRoutes(app: FastifyInstance): void {
  // Browsers ask for `/favicon.ico` on their own (feeds, downloads, pages that failed to load).
  app.get('/favicon.ico', async (_request, reply) => reply.header('cache-control', 'public, max-age=86400').redirect(staticUrl('favicon.svg'), 301));
  app.get('/robots.txt', async (_request, reply) => reply.header('cache-control', 'public, max-age=86400').type('text/plain; charset=utf-8').send(ROBOTS_TXT));
  app.get<{ Params: { file: string } }>('/static/:file', async (request, reply) => {
    const name = request.params.file;
    // The not-found handler answers browsers with the HTML page and other clients with JSON.
    if (!Object.hasOwn(FILES, name)) return reply.callNotFound();
    const file = FILES[name as keyof typeof FILES];
    reply.header('content-type', file.type);
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('etag', `"${file.hash}"`);
    // Wharf's own icon, but an SVG opened as a document must still run nothing.
    if (name.endsWith('.svg')) reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    if (request.headers['if-none-match'] === `"${file.hash}"`) return reply.code(304).send();
    return reply.send(file.body);
  });
}
