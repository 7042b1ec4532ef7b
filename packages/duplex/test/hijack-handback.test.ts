// A hijacked exchange that ends cleanly gives its connection back to node:http for the next
// request, with the bytes read past it kept; one whose handler took the connection raw does not.
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { type DuplexExchange, enableHijack, type HijackControl } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { collect } from '../../../testkit/bytes.js';
import {
  closeServer,
  deferred,
  holdsWithin,
  inTime,
  listen,
  rawClient,
  statusLines,
} from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

/** A node:http server answering `node <url>`, with requests to /take* hijacked and echoed. */
async function server(onSocket?: (socket: Socket) => void): Promise<number> {
  const http = createHttpServer((req, res) => res.end(`node ${req.url}`));
  servers.push(http);
  enableHijack(
    http,
    (req) => req.url!.startsWith('/take'),
    async (hijacked) => {
      if (hijacked.req.url === '/take-raw') onSocket?.(hijacked.socket);
      const exchange: DuplexExchange = hijacked.exchange();
      const body = await collect(exchange.body);
      const text = `took ${body.toString('latin1')}`;
      exchange.respond(200, { 'Content-Length': text.length }).end(text);
    },
  );
  return listen(http);
}

/** A node:http server answering `node <url>`, with GET /take hijacked and answered `took`. */
function tookServer(): { http: Server; control: HijackControl } {
  const http = createHttpServer((req, res) => res.end(`node ${req.url}`));
  servers.push(http);
  const control = enableHijack(
    http,
    (req) => req.url === '/take',
    (hijacked) => {
      hijacked.exchange().respond(200, { 'Content-Length': 4 }).end('took');
    },
  );
  return { http, control };
}

describe('a hijacked connection handed back to node:http', () => {
  it('serves the next request through node:http, with the bytes read ahead kept', async () => {
    const port = await server();
    const client = await rawClient(port);
    // All four in one write: node:http reads past the first head, the hijack reads past the body.
    client.write(
      'POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
        'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxy' +
        'GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const text = await client.untilEnd();
    expect(text.match(/took [a-z]+|node \/[a-z]+/g)).toEqual([
      'took abc',
      'node /a',
      'took xy',
      'node /b',
    ]);
    expect(statusLines(text)).toHaveLength(4);
    // Only the last request asked for the connection to close.
    expect(text.match(/Connection: close/gi)).toHaveLength(1);
    client.close();
  });

  it('keeps no listener behind across many hijacked exchanges on one connection', async () => {
    const port = await server();
    const client = await rawClient(port);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 30; i++) {
        client.write(
          `POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n${i % 10}${i % 10}`,
        );
        await client.until((t) => (t.match(/took /g)?.length ?? 0) === i + 1);
      }
      client.write('GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const text = await client.untilEnd();
      expect(text.match(/took \d\d/g)).toHaveLength(30);
      expect(text.endsWith('node /last')).toBe(true);
      client.close();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('keeps for node:http what arrives while a hijacked request without a body is answered, in order', async () => {
    // A GET's exchange never reads the connection: the next request waits in the socket, behind
    // the bytes node:http read past the head, until the connection is handed back.
    const http = createHttpServer((req, res) => res.end(`node ${req.url}`));
    servers.push(http);
    const started = deferred();
    let arrived = false;
    enableHijack(
      http,
      (req) => req.url === '/take',
      async (hijacked) => {
        const exchange = hijacked.exchange();
        const socket = hijacked.req.socket;
        started.resolve();
        // Answered only once the client's second write has reached this socket, unread.
        arrived = await holdsWithin(() => socket.readableLength > 0);
        exchange.respond(200, { 'Content-Length': 4 }).end('took');
      },
    );
    const port = await listen(http);
    const client = await rawClient(port);
    client.write('GET /take HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    await inTime(started.promise, 'the hijack handler');
    client.write('GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = await client.untilEnd();
    expect(arrived).toBe(true);
    expect(text.match(/took|node \/[a-z]+/g)).toEqual(['took', 'node /a', 'node /b']);
    client.close();
  });

  it('takes no more requests of an open connection once disabled, and leaves listenerCount alone', async () => {
    const { http, control } = tookServer();
    const port = await listen(http);
    const client = await rawClient(port);
    client.write('GET /take HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.until((t) => t.endsWith('took'));
    control.disable();
    expect(http.listenerCount).toBe(EventEmitter.prototype.listenerCount);
    // The same connection, handed back before disable(): node:http answers it now.
    client.write('GET /take HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = await client.untilEnd();
    expect(text.match(/took|node \/[a-z]+/g)).toEqual(['took', 'node /take']);
    expect(http.listenerCount).toBe(EventEmitter.prototype.listenerCount);
    client.close();
  });

  it('gives a later upgrade on a handed-back connection to the upgrade listener without an error listener of its own', async () => {
    const { http } = tookServer();
    const errorListeners: number[] = [];
    http.on('upgrade', (_req, socket: Socket) => {
      errorListeners.push(socket.listenerCount('error'));
      socket.end(
        'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: chat\r\n\r\n',
      );
    });
    const port = await listen(http);
    const client = await rawClient(port);
    client.write(
      'GET /take HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: chat\r\n\r\n',
    );
    const text = await client.untilEnd();
    expect(text).toMatch(/took[\s\S]*101 Switching Protocols/);
    // node:http takes its own error listener off an upgraded socket: an error there is the
    // listener's to handle, as on a connection never hijacked.
    expect(errorListeners).toEqual([0]);
    client.close();
  });

  it('closes instead when the handler took the socket raw', async () => {
    const taken: Socket[] = [];
    const port = await server((socket) => taken.push(socket));
    const client = await rawClient(port);
    client.write(
      'POST /take-raw HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz' +
        'GET /never HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const text = await client.untilEnd();
    expect(taken).toHaveLength(1);
    expect(text).toMatch(/took z$/);
    expect(text).not.toMatch(/node \/never/);
    client.close();
  });

  it('closes after a request that asks it to (Connection: close, HTTP/1.0)', async () => {
    const port = await server();
    for (const head of [
      'POST /take HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\nq',
      'POST /take HTTP/1.0\r\nContent-Length: 1\r\n\r\nq',
    ]) {
      const client = await rawClient(port);
      client.write(`${head}GET /never HTTP/1.1\r\nHost: x\r\n\r\n`);
      const text = await client.untilEnd();
      expect(text).toMatch(/Connection: close\r\n/i);
      expect(text).toMatch(/took q$/);
      client.close();
    }
  });
});
