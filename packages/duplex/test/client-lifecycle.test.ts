// A client exchange ends when its response body is given up: the connection does not wait for
// the server to close it.
import { once } from 'node:events';
import { request } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { inTime, standaloneServers } from './helpers.js';

const serve = standaloneServers();

describe('request() when the response body is given up', () => {
  it.each([
    [
      'a break in for-await',
      async (body: AsyncIterable<unknown>) => {
        for await (const _chunk of body) break;
      },
    ],
    [
      'destroy() without an error',
      async (body: { destroy(): unknown }) => {
        body.destroy();
      },
    ],
  ] as Array<[string, (body: never) => Promise<void>]>)(
    'closes the connection after %s',
    async (how, giveUp) => {
      const { port } = await serve((exchange) => {
        const out = exchange.respond(200);
        // Streams on until the connection goes.
        const timer = setInterval(() => out.write('tick\n'), 5);
        out.on('close', () => clearInterval(timer));
      });
      const exchange = request(`http://127.0.0.1:${port}/`);
      const response = await inTime(exchange.response, 'the response head');
      await inTime(giveUp(response.body as never), `giving the body up by ${how}`);
      await inTime(once(exchange.socket!, 'close'), 'the client connection closing');
      expect(exchange.socket!.destroyed).toBe(true);
    },
  );
});
