// createServer() keeps net.Server's conventions: listen() in all its forms, address(), events.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type H1Server } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { getText } from '../../../testkit/http.js';
import { BOUND_MS, forceClose, inTime, within } from './helpers.js';

const servers: H1Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(forceClose));
});

function hello(): H1Server {
  const server = createServer((exchange) => {
    exchange.respond(200, { 'Content-Length': 5 }).end('hello');
  });
  servers.push(server);
  return server;
}

describe('createServer() as a net.Server', () => {
  it('listens on a free port of 127.0.0.1 when given no arguments, and address() says where', async () => {
    const server = hello();
    expect(server.address()).toBeNull();
    const address = await inTime(server.listen(), 'listen()');
    expect(address).toEqual(server.address());
    expect(address.address).toBe('127.0.0.1');
    expect(await inTime(getText({ port: address.port }), 'the answer to a GET')).toBe('hello');
  });

  it('takes a port, a host and a callback, and emits listening', async () => {
    const server = hello();
    let called = 0;
    const listening = once(server, 'listening');
    const address = await inTime(
      server.listen(0, '127.0.0.1', () => called++),
      'listen()',
    );
    await inTime(listening, "the 'listening' event");
    expect(called).toBe(1);
    expect(await inTime(getText({ port: address.port }), 'the answer to a GET')).toBe('hello');
  });

  it('takes an options object', async () => {
    const server = hello();
    const address = (await inTime(
      server.listen({ port: 0, host: '127.0.0.1' }),
      'listen()',
    )) as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
    expect(await inTime(getText({ port: address.port }), 'the answer to a GET')).toBe('hello');
  });

  it('takes a Unix socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h1kit-listen-'));
    try {
      const path = join(dir, 'server.sock');
      const server = hello();
      expect(await inTime(server.listen(path), 'listen() on the Unix socket')).toBe(path);
      expect(await inTime(getText({ socketPath: path }), 'the answer to a GET')).toBe('hello');
      await inTime(server.close(), 'close()');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects listen() on a port in use, and tells error listeners', async () => {
    const first = hello();
    const { port } = await inTime(first.listen(), 'listen() of the first server');
    const second = hello();
    const errors: Error[] = [];
    second.on('error', (error) => errors.push(error));
    const failure = await within(
      second.listen(port, '127.0.0.1').catch((error: Error) => error),
      BOUND_MS,
      'listen() never settled',
    );
    expect((failure as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EADDRINUSE']);
  });

  it('rejects listen() on a port in use without an error listener, and nothing is thrown', async () => {
    const first = hello();
    const { port } = await inTime(first.listen(), 'listen() of the first server');
    const failure = await within(
      hello()
        .listen(port, '127.0.0.1')
        .catch((error: Error) => error),
      BOUND_MS,
      'listen() never settled',
    );
    expect((failure as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it('emits connection for each accepted socket, and close once closed', async () => {
    const server = hello();
    const { port } = await inTime(server.listen(), 'listen()');
    let connections = 0;
    server.on('connection', () => connections++);
    await inTime(getText({ port }), 'the answer to the first GET');
    await inTime(getText({ port }), 'the answer to the second GET');
    expect(connections).toBe(2);
    const closed = once(server, 'close');
    let callbackError: unknown = 'not called';
    await inTime(
      server.close((error) => {
        callbackError = error;
      }),
      'close()',
    );
    await inTime(closed, "the 'close' event");
    expect(callbackError).toBeUndefined();
  });
});
