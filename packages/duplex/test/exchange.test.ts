import { once } from 'node:events';
import { type DuplexExchange, request } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { collect, rawClient, standaloneServers, statusLines } from './helpers.js';

const start = standaloneServers();
const serve = async (...args: Parameters<typeof start>): Promise<number> =>
  (await start(...args)).port;

describe('DuplexExchange', () => {
  it('bounds memory when the handler does not read the body: the socket is paused, the client stalls', async () => {
    let exchange!: DuplexExchange;
    const seen = new Promise<void>((resolve) => {
      void serve((e) => {
        exchange = e;
        resolve();
      }).then((port) => {
        const client = request(`http://127.0.0.1:${port}/`, { method: 'POST' });
        const block = Buffer.alloc(64 * 1024);
        const pump = (): void => {
          while (client.body.write(block));
          client.body.once('drain', pump);
        };
        pump();
        stalled = client;
      });
    });
    let stalled: ReturnType<typeof request> | undefined;
    await seen;
    // Give the client time to push as much as TCP and both sides' buffers take.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const held = exchange.body.readableLength;
    // The body buffers up to its high-water mark plus one socket read; the rest waits in TCP.
    expect(held).toBeLessThanOrEqual(exchange.body.readableHighWaterMark + 65536);
    expect(stalled!.body.writableNeedDrain).toBe(true);
    stalled!.destroy();
  });

  it('lets the response end before the request body, keeps reading it, and serves the next request', async () => {
    const port = await serve(async (exchange) => {
      if (exchange.request.target === '/first') {
        exchange.respond(202, { 'Content-Length': 8 }).end('accepted');
        const body = await collect(exchange.body);
        exchange.respond; // the response is over; the body still arrives in full
        bodies.push(body.toString());
      } else {
        exchange.respond(200, { 'Content-Length': 6 }).end('second');
      }
    });
    const bodies: string[] = [];
    const client = await rawClient(port);
    client.write(
      'POST /first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n',
    );
    await client.until((t) => t.endsWith('accepted'));
    client.write('3\r\ndef\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = await client.until((t) => t.endsWith('second'));
    expect(statusLines(text)).toEqual(['HTTP/1.1 202 Accepted', 'HTTP/1.1 200 OK']);
    expect(bodies).toEqual(['abcdef']);
    client.close();
  });

  it('closes the connection after the response when the handler gives the body up early', async () => {
    const port = await serve(async (exchange) => {
      for await (const _first of exchange.body) break;
      exchange.respond(200, { 'Content-Length': 4 }).end('done');
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    const text = await client.untilEnd();
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    expect(text).toContain('Connection: close');
    expect(text.endsWith('\r\n\r\ndone')).toBe(true);
  });

  it('never times out an active exchange, however long it streams past headTimeout and idleTimeout', async () => {
    const port = await serve(
      async (exchange) => {
        const out = exchange.respond(200);
        for await (const chunk of exchange.body) out.write(chunk);
        out.end();
      },
      { headTimeout: 100, idleTimeout: 100 },
    );
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 120));
      client.write(`1\r\n${i}\r\n`);
      await client.until((t) => t.endsWith(`1\r\n${i}\r\n`));
    }
    client.write('0\r\n\r\n');
    await client.until((t) => t.endsWith('0\r\n\r\n'));
    client.close();
  });

  it('answers a head with more than maxFields field lines with 431', async () => {
    const port = await serve(() => {}, { maxFields: 10 });
    const client = await rawClient(port);
    const fields = Array.from({ length: 11 }, (_, i) => `X-${i}: v\r\n`).join('');
    client.write(`GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`);
    expect(await client.untilEnd()).toMatch(/^HTTP\/1.1 431 /);
  });

  it('offers both bodies as WHATWG streams', async () => {
    const port = await serve(async (exchange) => {
      exchange.respond(200);
      const writer = exchange.responseStream.getWriter();
      const reader = exchange.bodyStream.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        await writer.write(
          Buffer.from(Buffer.from(next.value).toString().split('').reverse().join('')),
        );
      }
      await writer.close();
    });
    const exchange = request(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'Content-Length': 6 },
    });
    exchange.body.end('stream');
    const response = await exchange.response;
    expect((await collect(response.body)).toString()).toBe('maerts');
  });

  it('reports request, framing and fields as received', async () => {
    let seen: DuplexExchange['request'] | undefined;
    const port = await serve((exchange) => {
      seen = exchange.request;
      exchange.respond(204).end();
    });
    const client = await rawClient(port);
    client.write('OPTIONS /a?b=c HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n');
    await client.until((t) => t.endsWith('\r\n\r\n'));
    expect(seen).toEqual({
      method: 'OPTIONS',
      target: '/a?b=c',
      version: '1.1',
      fields: [
        ['Host', 'h'],
        ['X-Dup', '1'],
        ['x-dup', '2'],
      ],
      headers: { host: 'h', 'x-dup': ['1', '2'] },
    });
    client.close();
    await once(client.socket, 'close');
  });
});
