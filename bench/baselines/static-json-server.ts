/**
 * The read-API baseline: a bare Fastify route per path that returns JSON bytes held in memory
 * (the very bytes Wharf returned for that path). Prints `{"port": N}` once listening.
 *
 *   node --import tsx bench/baselines/static-json-server.ts <routes.json>
 *
 * routes.json maps a URL path to the file holding its response body.
 */
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const routesFile = process.argv[2];
if (!routesFile) throw new Error('usage: static-json-server.ts <routes.json>');
const routes = JSON.parse(readFileSync(routesFile, 'utf8')) as Record<string, string>;

const app = Fastify({ logger: false });
for (const [url, file] of Object.entries(routes)) {
  const body = readFileSync(file);
  app.get(url, (_request, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8').send(body);
  });
}
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
