import { createServer as createHttpServer, type Server } from 'node:http';
import { fc, test } from '@fast-check/vitest';
import { createServer, type DuplexExchange, enableHijack, type H1Server } from '@h1kit/duplex';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { segment } from '../../../testkit/arbitraries/http.js';
import { collect } from '../../../testkit/bytes.js';
import {
  closeServer,
  forceClose,
  inTime,
  listen,
  rawClient,
  requestWire,
  tick,
} from './helpers.js';

/** Echoes the decoded body back with a Content-Length, and the trailers in a field. */
async function echo(exchange: DuplexExchange): Promise<void> {
  const body = await collect(exchange.body);
  const trailers = exchange.trailers.map(([n, v]) => `${n}=${v}`).join(';');
  exchange.respond(200, { 'Content-Length': body.length, 'X-Trailers': trailers }).end(body);
}

let standalone: H1Server;
let hijackServer: Server;
const ports: Record<'standalone' | 'hijack', number> = { standalone: 0, hijack: 0 };

beforeAll(async () => {
  standalone = createServer(echo);
  ports.standalone = (await inTime(standalone.listen(), 'listen() of the h1kit server')).port;
  hijackServer = createHttpServer((_req, res) => res.end());
  enableHijack(
    hijackServer,
    () => true,
    (hijacked) => void echo(hijacked.exchange()),
  );
  ports.hijack = await listen(hijackServer);
});

afterAll(async () => {
  await forceClose(standalone);
  await closeServer(hijackServer);
});

const payloads = fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 8 });
const trailers = fc.array(
  fc.tuple(fc.constantFrom('Checksum', 'X-Tail', 'Expires'), fc.stringMatching(/^[a-z0-9]{0,8}$/)),
  { maxLength: 2 },
);

describe.each(['standalone', 'hijack'] as const)('the %s path', (path) => {
  test.prop([payloads, trailers, fc.boolean(), fc.array(fc.nat(), { maxLength: 12 })], {
    numRuns: 60,
  })(
    'round trip for every re-segmentation: the body arrives byte-exact, trailers too',
    async (parts, tail, chunked, cuts) => {
      const { wire, body } = requestWire(parts, chunked, tail);
      const client = await rawClient(ports[path]);
      try {
        for (const piece of segment(wire, cuts)) {
          client.write(piece);
          await tick();
        }
        const head = `Content-Length: ${body.length}\r\n`;
        const text = await client.until(
          (t) =>
            t.includes(head) &&
            t.indexOf('\r\n\r\n') !== -1 &&
            t.length >= t.indexOf('\r\n\r\n') + 4 + body.length,
        );
        const start = client.received.indexOf('\r\n\r\n') + 4;
        expect(client.received.subarray(start, start + body.length).equals(body)).toBe(true);
        const expectedTrailers = chunked ? tail.map(([n, v]) => `${n}=${v}`).join(';') : '';
        expect(text).toContain(`X-Trailers: ${expectedTrailers}\r\n`);
      } finally {
        client.close();
      }
    },
  );
});
