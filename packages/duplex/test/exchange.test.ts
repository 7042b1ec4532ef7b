import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { type DuplexExchange, request } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { collect } from '../../../testkit/bytes.js';
import {
  BOUND_MS,
  chunkedBody,
  closedWithin,
  holdsWithin,
  inTime,
  rawClient,
  sleep,
  standaloneServers,
  statusLines,
  tick,
  untilStalled,
  within,
} from './helpers.js';

const serve = standaloneServers();

describe('DuplexExchange', () => {
  it('bounds memory when the handler does not read the body: the socket is paused, the client stalls', async () => {
    let exchange!: DuplexExchange;
    const seen = new Promise<void>((resolve) => {
      void serve((e) => {
        exchange = e;
        resolve();
      }).then(({ port }) => {
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
    await inTime(seen, 'the handler call');
    const body = exchange.body;
    const mark = body.readableHighWaterMark;
    // Backpressure engages: the unread body fills to its high-water mark, then pauses the socket.
    const engaged = await holdsWithin(
      () => body.readableLength >= mark && exchange.socket.isPaused(),
    );
    expect(engaged, 'the body filled to its high-water mark and paused the socket').toBe(true);
    const held = body.readableLength;
    // The body buffers up to its high-water mark plus one socket read; the rest waits in TCP.
    expect(held).toBeGreaterThanOrEqual(mark);
    expect(held).toBeLessThanOrEqual(mark + 65536);
    // And it stays so: the server stops reading, the client is left waiting for 'drain', and
    // the body has taken nothing more.
    await untilStalled(() => exchange.socket as Socket);
    expect(exchange.socket.isPaused()).toBe(true);
    expect(body.readableLength).toBe(held);
    expect(stalled!.body.writableNeedDrain).toBe(true);
    stalled!.destroy();
  });

  it('lets the response end before the request body, keeps reading it, and serves the next request', async () => {
    const { port } = await serve(async (exchange) => {
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
    const { port } = await serve(async (exchange) => {
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
    const { port } = await serve(
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
      // Idle past both timeouts before each piece.
      await new Promise((resolve) => setTimeout(resolve, 120));
      client.write(`1\r\n${i}\r\n`);
      await client.until((t) => t.endsWith(`1\r\n${i}\r\n`), `the echo of piece ${i}`);
    }
    client.write('0\r\n\r\n');
    const text = await client.until((t) => t.endsWith('0\r\n\r\n'), 'the end of the echo');
    // One answer, no 408, and every piece echoed in order.
    expect(statusLines(text)).toEqual(['HTTP/1.1 200 OK']);
    expect(chunkedBody(client.received)?.toString()).toBe('01234');
    client.close();
  });

  it('answers a head with more than maxFields field lines with 431', async () => {
    const { port } = await serve(() => {}, { maxFields: 10 });
    const client = await rawClient(port);
    const fields = Array.from({ length: 11 }, (_, i) => `X-${i}: v\r\n`).join('');
    client.write(`GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`);
    expect(await client.untilEnd()).toMatch(/^HTTP\/1.1 431 /);
  });

  it('offers both bodies as WHATWG streams', async () => {
    const { port } = await serve(async (exchange) => {
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
    const response = await inTime(exchange.response, 'the response head');
    expect((await inTime(collect(response.body), 'the response body')).toString()).toBe('maerts');
  });

  it('reports request, framing and fields as received', async () => {
    let seen: DuplexExchange['request'] | undefined;
    const { port } = await serve((exchange) => {
      seen = exchange.request;
      exchange.respond(204).end();
    });
    const client = await rawClient(port);
    client.write('OPTIONS /a?b=c HTTP/1.1\r\nHost: h\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n');
    await client.until((t) => t.endsWith('\r\n\r\n'));
    // Fields and headers are built when first read (getters), so they are read out one by one.
    const { method, target, version, fields, headers, rawFields } = seen!;
    expect({ method, target, version, fields, headers, rawFields }).toEqual({
      method: 'OPTIONS',
      target: '/a?b=c',
      version: '1.1',
      fields: [
        ['Host', 'h'],
        ['X-Dup', '1'],
        ['x-dup', '2'],
      ],
      headers: { host: 'h', 'x-dup': ['1', '2'] },
      rawFields: ['Host', 'h', 'X-Dup', '1', 'x-dup', '2'],
    });
    // JSON and util.inspect show the whole head, getters included.
    expect(JSON.parse(JSON.stringify(seen))).toEqual({
      method,
      target,
      version,
      fields,
      headers: { ...headers },
      rawFields,
    });
    const shown = inspect(seen, { depth: 4 });
    expect(shown).toMatch(/^RequestHead \{/);
    expect(shown).toContain("'x-dup': [ '1', '2' ]");
    expect(shown).toContain("[ 'X-Dup', '1' ]");
    client.close();
    await once(client.socket, 'close');
  });

  it('keeps a response the handler completed when the request body fails after it', async () => {
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 5 }).end('early');
    });
    const client = await rawClient(port);
    // The chunk-size line is not hex: the body fails right after the head.
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    const text = await client.untilEnd();
    client.close();
    // The answer was complete before the fault: it goes out whole, then the connection closes.
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\nearly')).toBe(true);
  });

  it('gives a handler that reads the body after ending its response all of it, or an error, never a silently cut body', async () => {
    let outcome: string | undefined;
    const { port } = await serve(async (exchange) => {
      exchange.respond(200, { 'Content-Length': 4 }).end('done');
      await tick();
      try {
        outcome = `body ${(await collect(exchange.body)).toString()}`;
      } catch (error) {
        outcome = `error ${(error as Error).message}`;
      }
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello');
    await client.until((t) => t.endsWith('done'));
    client.write('world');
    const settled = await holdsWithin(() => outcome !== undefined);
    client.close();
    expect(settled, 'the handler read the body to its end or to an error').toBe(true);
    expect(outcome).toMatch(/^(body helloworld|error .*)$/);
  });

  it('ends or fails the request body of a handler that answered before reading it, under Expect', async () => {
    let read: Promise<string> | undefined;
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 5 }).end('early');
      // Full duplex: the answer first, then the body (the client sends it regardless).
      read = collect(exchange.body).then(
        (body) => `body ${body.toString()}`,
        (error: Error) => `error ${error.message}`,
      );
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await client.until((t) => t.endsWith('early'));
    client.write('hello');
    while (read === undefined) await tick();
    const outcome = await within(read, BOUND_MS, 'the body neither ended nor failed');
    client.close();
    expect(outcome).toMatch(/^(body hello|error .*)$/);
  });

  it('closes the connection when the handler destroys its response body', async () => {
    const { port } = await serve((exchange) => {
      const out = exchange.respond(200, { 'Content-Length': 10 });
      out.write('hello');
      out.destroy();
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.until((t) => t.endsWith('hello'));
    // The response can never be completed: the client must not wait for the other 5 bytes.
    expect(await closedWithin(client)).toBe('closed');
    client.close();
  });
});

describe('bodies read lazily still complete when nobody reads them', () => {
  it('a handler that answers and awaits exchange.done without reading a small body is not deadlocked', async () => {
    let outcome!: Promise<string>;
    const { port } = await serve(async (exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
      outcome = within(
        exchange.done.then(
          () => 'done',
          () => 'rejected',
        ),
        BOUND_MS,
        'pending',
      );
      await outcome;
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    await client.until((t) => t.endsWith('ok'));
    expect(await outcome).toBe('done');
    client.close();
  });

  it('a body the handler paused and never read is drained after the response: the next pipelined request is served', async () => {
    const { port } = await serve((exchange) => {
      if (exchange.request.method === 'POST') exchange.body.pause();
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
    });
    const client = await rawClient(port);
    client.write(
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const both = client
      .until((t) => t.split('HTTP/1.1 200').length === 3 && t.endsWith('ok'))
      .then(() => 'both answered', String);
    expect(await within(both, BOUND_MS, 'second request never answered')).toBe('both answered');
    client.close();
  });
});

describe('response bodies held on backpressure', () => {
  it('a write held on backpressure is called back (with an error) when the client goes away', async () => {
    // Boxed: a promise resolved with a promise would wait for it.
    let resolveHeld!: (box: { callback: Promise<string> }) => void;
    const held = new Promise<{ callback: Promise<string> }>((resolve) => {
      resolveHeld = resolve;
    });
    const { port } = await serve(async (exchange) => {
      const response = exchange.respond(200);
      const block = Buffer.alloc(1 << 20, 0x61);
      for (let i = 0; i < 512; i++) {
        const called = new Promise<unknown>((resolve) => response.write(block, resolve));
        if ((await within(called, 300, 'held')) === 'held') {
          resolveHeld({
            callback: called.then((error) => (error ? 'called back with an error' : 'called back')),
          });
          return;
        }
      }
    });
    const client = await rawClient(port);
    client.socket.pause(); // never reads the response
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const { callback } = await inTime(held, 'a write held on backpressure');
    client.close();
    expect(await within(callback, BOUND_MS, 'never called back')).toBe('called back with an error');
  });

  it("keep-alive: responses held on backpressure leave no 'drain'/'close' listener behind on the socket", async () => {
    const size = 16 << 20;
    const counts: number[] = [];
    let heldSeen = 0;
    const { port } = await serve(async (exchange) => {
      const socket = exchange.socket;
      const base = socket.listenerCount('drain');
      counts.push(base + socket.listenerCount('close'));
      const response = exchange.respond(200, { 'Content-Length': size });
      const block = Buffer.alloc(1 << 20, 0x62);
      for (let sent = 0; sent < size; sent += block.length) {
        if (!response.write(block)) {
          const drained = once(response, 'drain');
          await tick();
          if (socket.listenerCount('drain') > base) heldSeen++;
          await drained;
        }
      }
      response.end();
    });
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => {});
    try {
      await once(socket, 'connect');
      for (let i = 0; i < 4; i++) {
        let head = Buffer.alloc(0);
        let body = -1;
        const done = new Promise<void>((resolve) => {
          const onData = (chunk: Buffer): void => {
            if (body < 0) {
              head = Buffer.concat([head, chunk]);
              const end = head.indexOf('\r\n\r\n');
              if (end === -1) return;
              body = head.length - end - 4;
            } else body += chunk.length;
            if (body >= size) {
              socket.off('data', onData);
              resolve();
            }
          };
          socket.on('data', onData);
        });
        socket.pause(); // read late, so that the response is held at least once
        socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        await sleep(100);
        socket.resume();
        await inTime(done, `response ${i + 1} in full`);
      }
      // The held path ran (the body listened to the socket), and the same count at the start of
      // every exchange: nothing accumulates.
      expect(heldSeen).toBeGreaterThan(0);
      expect(counts).toHaveLength(4);
      expect(new Set(counts).size).toBe(1);
    } finally {
      socket.destroy();
    }
  });
});
