// A connection handed back to node:http after a hijacked exchange idles under the server's
// keep-alive timeout, and that timeout is lifted once the next request arrives, as node:http
// does for connections it answered itself.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { enableHijack } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, listen, rawClient } from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

/** A node:http server with `keepAliveTimeout`, whose GET /h is hijacked and answered "ok". */
async function serve(keepAliveTimeout: number, onRequest: RequestListener): Promise<number> {
  const server = createHttpServer(onRequest);
  server.keepAliveTimeout = keepAliveTimeout;
  servers.push(server);
  enableHijack(
    server,
    (req) => req.url === '/h',
    (hijacked) => {
      hijacked.exchange().respond(200, { 'Content-Length': 2 }).end('ok');
    },
  );
  return listen(server);
}

describe('the keep-alive timeout of a connection handed back', () => {
  it('does not cut a slow request node:http serves next', async () => {
    const port = await serve(500, (req, res) => {
      setTimeout(() => res.end(`node ${req.url}`), 1500);
    });
    const client = await rawClient(port);
    client.write('GET /h HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.until((t) => t.endsWith('ok'));
    client.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    const text = await client.until((t) => t.endsWith('node /slow'), 'the slow answer', 4000);
    expect(text.endsWith('node /slow')).toBe(true);
    client.close();
  });

  it('closes a handed-back connection that stays idle past it', async () => {
    const port = await serve(300, (_req, res) => res.end('node'));
    const client = await rawClient(port);
    client.write('GET /h HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = Date.now();
    const text = await client.untilEnd();
    expect(text.endsWith('ok')).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    client.close();
  });
});
