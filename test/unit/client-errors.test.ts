/**
 * Node may raise `clientError` several times for one socket (bytes keep arriving while the
 * answer is written). The handler answers once; answering again would add a `finish` listener
 * per error and, on a busy socket, trip Node's listener-leak warning.
 */
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, expect, it } from 'vitest';
import { clientErrorHandler } from '../../src/http/client-errors.ts';

let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup) fn();
  cleanup = [];
});

async function socketPair(): Promise<{ server: net.Socket; client: net.Socket }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const [server] = (await once(listener, 'connection')) as [net.Socket];
  cleanup.push(() => {
    client.destroy();
    server.destroy();
    listener.close();
  });
  return { server, client };
}

it('answers a socket once with a GitHub-shaped error, however often Node reports it', async () => {
  const { server, client } = await socketPair();
  // Keep the write side busy so the answer cannot finish at once.
  client.pause();
  const received: Buffer[] = [];
  client.on('data', (d: Buffer) => received.push(d));
  const before = server.listenerCount('finish');
  const parseError = Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' });
  for (let i = 0; i < 20; i++) clientErrorHandler(parseError, server);
  expect(server.listenerCount('finish') - before).toBeLessThanOrEqual(1);
  client.resume();
  await once(client, 'end');
  const text = Buffer.concat(received).toString();
  expect(text.match(/^HTTP\/1\.1 400 /gm)).toHaveLength(1);
  expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ message: 'Bad Request' });
});
