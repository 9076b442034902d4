/**
 * The read-API baseline: a bare Fastify route per path that returns JSON bytes held in memory
 * (the very bytes Wharf returned for that path) and, when the routes file gives them, the very
 * headers Wharf sent with them (names and values captured from Wharf's answer, less those Node
 * sets itself: date, connection, keep-alive, content-length, transfer-encoding), so that the
 * baseline's response is Wharf's response, not only its body. Prints `{"port": N}` once listening.
 *
 *   node --import tsx bench/baselines/static-json-server.ts <routes.json>
 *
 * routes.json maps a URL path to the file holding its response body, or to
 * `{ "body": file, "headers": { name: value, … } }`.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

type Route = string | { body: string; headers: Record<string, string> };

const routesFile = process.argv[2];
if (!routesFile) throw new Error('usage: static-json-server.ts <routes.json>');
const routes = JSON.parse(readFileSync(routesFile, 'utf8')) as Record<string, Route>;

const app = Fastify({ logger: false });
for (const [url, route] of Object.entries(routes)) {
  const body = readFileSync(typeof route === 'string' ? route : route.body);
  const headers = typeof route === 'string' ? { 'content-type': 'application/json; charset=utf-8' } : route.headers;
  app.get(url, (_request, reply) => {
    reply.headers(headers).send(body);
  });
}
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
