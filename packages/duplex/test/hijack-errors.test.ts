// An onHijack handler that throws or rejects never reaches the host: the client gets a 500
// when no response began, the connection closes, and onError hears of it.
import { createServer as createHttpServer, type Server } from 'node:http';
import { enableHijack, type HijackHandler, type HijackOptions } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, inTime, listen, rawClient } from './helpers.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

async function serve(onHijack: HijackHandler, options?: HijackOptions): Promise<number> {
  const server = createHttpServer((_req, res) => res.end('node'));
  servers.push(server);
  enableHijack(server, (req) => req.url === '/take', onHijack, options);
  return listen(server);
}

const REQUEST = 'GET /take HTTP/1.1\r\nHost: x\r\n\r\n';

describe('an onHijack handler that fails', () => {
  it.each([
    [
      'throws before taking anything',
      () => {
        throw new Error('boom');
      },
    ],
    [
      'rejects after taking the exchange',
      async (hijacked: Parameters<HijackHandler>[0]) => {
        hijacked.exchange();
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('boom');
      },
    ],
  ] as Array<[string, HijackHandler]>)(
    '%s: a 500, the connection closed, onError told',
    async (_what, handler) => {
      const errors: Error[] = [];
      const port = await serve(handler, { onError: (error) => errors.push(error) });
      const client = await rawClient(port);
      client.write(REQUEST);
      const text = await client.untilEnd();
      expect(text).toMatch(/^HTTP\/1\.1 500 /);
      expect(text).toMatch(/Connection: close\r\n/i);
      expect(errors.map((e) => e.message)).toEqual(['boom']);
      client.close();
    },
  );

  it('after the response began: the connection is cut, onError told, the process lives on', async () => {
    const errors: Error[] = [];
    const port = await serve(
      async (hijacked) => {
        hijacked.exchange().respond(200).write('partial');
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('late');
      },
      { onError: (error) => errors.push(error) },
    );
    const client = await rawClient(port);
    client.write(REQUEST);
    const text = await client.untilEnd();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    // Chunked and never ended: the client can tell the response was cut.
    expect(text.endsWith('0\r\n\r\n')).toBe(false);
    expect(errors.map((e) => e.message)).toEqual(['late']);
  });

  it('reports to console.error when no onError is given', async () => {
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => {
      logged.push(args[0]);
    };
    try {
      const port = await serve(() => {
        throw new Error('to the console');
      });
      const client = await rawClient(port);
      client.write(REQUEST);
      expect(await client.untilEnd()).toMatch(/^HTTP\/1\.1 500 /);
      await inTime(
        (async () => {
          while (logged.length === 0) await new Promise((resolve) => setImmediate(resolve));
        })(),
        'the console report',
      );
      expect((logged[0] as Error).message).toBe('to the console');
      client.close();
    } finally {
      console.error = original;
    }
  });
});
