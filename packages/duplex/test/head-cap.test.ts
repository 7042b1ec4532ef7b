// Outgoing heads are capped (16 KiB by default, what node:http accepts): a head over the cap is
// refused where it is made, with HEADERS_TOO_LARGE, and none of it reaches the wire.
import { createServer as createHttpServer, type Server } from 'node:http';
import {
  type DuplexExchange,
  enableHijack,
  type HijackedExchangeOptions,
  request,
  type ServerOptions,
} from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, collect, thrown } from '../../../testkit/bytes.js';
import { closeServer, inTime, listen, rawClient, standaloneServers } from './helpers.js';

/** A field whose line alone passes the default cap of 16 384 bytes. */
const BIG = { 'X-Big': 'a'.repeat(17_000) };
const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

/**
 * Runs `use` on the exchange of one GET; when it throws, the exchange answers 204. Returns what
 * was thrown and every byte the client got.
 */
type Serve = (
  use: (exchange: DuplexExchange) => void,
) => Promise<{ port: number; caught: () => unknown }>;

function answered(run: (use: (exchange: DuplexExchange) => void) => Promise<number>): Serve {
  return async (use) => {
    let caught: unknown = 'nothing thrown';
    const port = await run((exchange) => {
      try {
        use(exchange);
      } catch (error) {
        caught = error;
      }
      if (!exchange.response) exchange.respond(204).end();
    });
    return { port, caught: () => caught };
  };
}

async function exchangeOnce(serve: Serve, use: (exchange: DuplexExchange) => void) {
  const { port, caught } = await serve(use);
  const client = await rawClient(port);
  client.write(GET);
  // Up to the end of the first head, whatever it is: a leaked 103 fails the status check at once.
  const text = await client.until((t) => t.includes('\r\n\r\n'), 'a response head');
  client.close();
  return { text, caught: caught() };
}

describe('the cap on outgoing heads', () => {
  const standalone = standaloneServers();
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });
  const onStandalone = (options?: ServerOptions) =>
    answered(async (handle) => (await standalone(handle, options)).port);
  const onHijack = (options?: HijackedExchangeOptions) =>
    answered(async (handle) => {
      const server = createHttpServer((_req, res) => res.end());
      servers.push(server);
      enableHijack(
        server,
        () => true,
        (hijacked) => handle(hijacked.exchange(options)),
      );
      return listen(server);
    });

  it.each([
    ['the standalone server', onStandalone()],
    ['a hijacked exchange', onHijack()],
  ])('refuses a response head over 16 KiB on %s, sending none of it', async (_where, serve) => {
    const { text, caught } = await exchangeOnce(serve, (exchange) => {
      exchange.respond(200, BIG).end('x');
    });
    expect(codeOf(caught)).toBe('ERR_H1_HEADERS_TOO_LARGE');
    expect((caught as Error).message).toMatch(/over the cap of 16384 \(maxResponseHeadBytes\)/);
    expect(text).toMatch(/^HTTP\/1\.1 204 /);
    expect(text).not.toContain('X-Big');
  });

  it.each([
    ['the standalone server', onStandalone],
    ['a hijacked exchange', onHijack],
  ])('sends a head of exactly 16384 bytes on %s and refuses one byte more', async (_where, on) => {
    const padded = (pad: number) => (exchange: DuplexExchange) => {
      exchange.respond(200, { 'Content-Length': 0, 'X-Pad': 'a'.repeat(pad) }).end();
    };
    // The server adds fields of its own (Date): measure them on a small head first.
    const small = await exchangeOnce(on(), padded(10));
    const pad = 10 + 16_384 - small.text.length;
    const exact = await exchangeOnce(on(), padded(pad));
    expect(exact.caught).toBe('nothing thrown');
    expect(exact.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(exact.text.length).toBe(16_384);
    const over = await exchangeOnce(on(), padded(pad + 1));
    expect(codeOf(over.caught)).toBe('ERR_H1_HEADERS_TOO_LARGE');
    expect(over.text).toMatch(/^HTTP\/1\.1 204 /);
  });

  it.each([
    ['the standalone server', onStandalone()],
    ['a hijacked exchange', onHijack()],
  ])('refuses an interim head over the cap too on %s', async (_where, serve) => {
    const { text, caught } = await exchangeOnce(serve, (exchange) => {
      exchange.informational(103, BIG);
    });
    expect(codeOf(caught)).toBe('ERR_H1_HEADERS_TOO_LARGE');
    expect(text).toMatch(/^HTTP\/1\.1 204 /);
    expect(text).not.toContain('X-Big');
  });

  it.each([
    ['the standalone server', onStandalone({ maxResponseHeadBytes: 32_768 })],
    ['a hijacked exchange', onHijack({ maxResponseHeadBytes: 32_768 })],
  ])('sends a bigger head whole on %s when the cap is raised', async (_where, serve) => {
    const { text, caught } = await exchangeOnce(serve, (exchange) => {
      exchange.respond(200, { ...BIG, 'Content-Length': 1 }).end('x');
    });
    expect(caught).toBe('nothing thrown');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain(`X-Big: ${BIG['X-Big']}\r\n`);
  });

  it('refuses a client request head over the cap before connecting', async () => {
    let connections = 0;
    // node:http refuses a 17 KB head (431) at its default maxHeaderSize: this one is raised.
    const server = createHttpServer({ maxHeaderSize: 32_768 }, (_req, res) => res.end());
    server.on('connection', () => connections++);
    servers.push(server);
    const port = await listen(server);
    const caught = thrown(() => request(`http://127.0.0.1:${port}/`, { headers: BIG }));
    expect(codeOf(caught)).toBe('ERR_H1_HEADERS_TOO_LARGE');
    expect((caught as Error).message).toMatch(/\(maxRequestHeadBytes\)/);
    // A request that does connect proves the server counts connections.
    const allowed = request(`http://127.0.0.1:${port}/`, {
      maxRequestHeadBytes: 32_768,
      headers: BIG,
    });
    const response = await inTime(allowed.response, 'the response to the allowed request');
    expect(response.status).toBe(200);
    expect((await inTime(collect(response.body), 'the allowed response body')).length).toBe(0);
    allowed.socket?.destroy();
    expect(connections).toBe(1);
  });
});
