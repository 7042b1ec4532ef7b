// A handler whose promise settles with no response begun will never respond: the client gets a
// 500 and onError hears of it, on both paths, with no deadline needed.
import { createServer as createHttpServer, type Server } from 'node:http';
import { enableHijack, type HijackHandler } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServer, listen, rawClient, standaloneServers } from './helpers.js';

const serve = standaloneServers();
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

const codes = (errors: Error[]) => errors.map((e) => (e as { code?: string }).code);

/** One GET to `port`: the answer is a 500 and `errors` holds one ERR_H1_NO_RESPONSE. */
async function expectSilentAnswered(port: number, errors: Error[]): Promise<void> {
  const client = await rawClient(port);
  client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const text = await client.untilEnd();
  expect(text).toMatch(/^HTTP\/1\.1 500 /);
  expect(codes(errors)).toEqual(['ERR_H1_NO_RESPONSE']);
  client.close();
}

describe('a handler that settles without responding', () => {
  it('gets a 500 from the standalone server, and onError is told', async () => {
    const errors: Error[] = [];
    const { port } = await serve(async () => {}, { onError: (error) => errors.push(error) });
    await expectSilentAnswered(port, errors);
  });

  it('is left alone by the standalone server when it answers after its promise settles', async () => {
    const { port } = await serve((exchange) => {
      // Not a promise: the handler may answer when it likes.
      setTimeout(() => exchange.respond(200, { 'Content-Length': 4 }).end('late'), 20);
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.until((t) => t.endsWith('late'));
    expect(client.text()).toMatch(/^HTTP\/1\.1 200 /);
    client.close();
  });

  it.each([
    ['having taken nothing', async () => {}],
    [
      'having taken the exchange',
      async (hijacked) => {
        hijacked.exchange();
      },
    ],
  ] as Array<[string, HijackHandler]>)(
    'gets a 500 on the hijack path %s, and onError is told',
    async (_what, onHijack) => {
      const errors: Error[] = [];
      const server = createHttpServer((_req, res) => res.end('node'));
      servers.push(server);
      enableHijack(server, () => true, onHijack, { onError: (error) => errors.push(error) });
      await expectSilentAnswered(await listen(server), errors);
    },
  );
});
