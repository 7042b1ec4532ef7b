// createServer() keeps net.Server's conventions: listen() in all its forms, address(), events.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type H1Server } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { getText } from '../../../testkit/http.js';
import { BOUND_MS, within } from './helpers.js';

const servers: H1Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close({ force: true })));
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
    const address = await server.listen();
    expect(address).toEqual(server.address());
    expect(address.address).toBe('127.0.0.1');
    expect(await getText({ port: address.port })).toBe('hello');
  });

  it('takes a port, a host and a callback, and emits listening', async () => {
    const server = hello();
    let called = 0;
    const listening = once(server, 'listening');
    const address = await server.listen(0, '127.0.0.1', () => called++);
    await listening;
    expect(called).toBe(1);
    expect(await getText({ port: address.port })).toBe('hello');
  });

  it('takes an options object', async () => {
    const server = hello();
    const address = (await server.listen({ port: 0, host: '127.0.0.1' })) as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
    expect(await getText({ port: address.port })).toBe('hello');
  });

  it('takes a Unix socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'h1kit-listen-'));
    try {
      const path = join(dir, 'server.sock');
      const server = hello();
      expect(await server.listen(path)).toBe(path);
      expect(await getText({ socketPath: path })).toBe('hello');
      await server.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects listen() on a port in use, and tells error listeners', async () => {
    const first = hello();
    const { port } = await first.listen();
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
    const { port } = await first.listen();
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
    const { port } = await server.listen();
    let connections = 0;
    server.on('connection', () => connections++);
    await getText({ port });
    await getText({ port });
    expect(connections).toBe(2);
    const closed = once(server, 'close');
    let callbackError: unknown = 'not called';
    await server.close((error) => {
      callbackError = error;
    });
    await closed;
    expect(callbackError).toBeUndefined();
  });
});
