/**
 * The webhook receiver of the events scenario: a bare Node `http` server that reads each POST's
 * body, answers 200 `ok` and counts it. `GET /stats` answers `{"count", "lastMs"}` (requests
 * received, and when the last one arrived, epoch ms). Prints `{"port": N}` once listening.
 * Its own ceiling is measured with wrk in the same run, to show it is not what limits delivery.
 *
 *   node --import tsx bench/baselines/hook-receiver.ts
 */
import { createServer } from 'node:http';

let count = 0;
let lastMs = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count, lastMs }));
    return;
  }
  req.resume();
  req.on('end', () => {
    count++;
    lastMs = Date.now();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
