// A close that begins while an exchange is in flight, on both server paths: the response says
// the connection closes when the close began before it was planned, and a request pipelined
// behind a response that had already promised keep-alive hears 503 instead of a silent close.
import { type DuplexExchange, enableHijack } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import {
  deferred,
  httpServers,
  inTime,
  listen,
  rawClient,
  standaloneServers,
  statusLines,
} from './helpers.js';

type ExchangeHandler = (exchange: DuplexExchange) => Promise<void>;
/** A server running `handler` for every request; `close()` starts its graceful close. */
interface Served {
  port: number;
  close: () => Promise<unknown>;
}

const serve = standaloneServers();
const httpServer = httpServers();

/** The status codes of the responses in `text`, in order. */
const statuses = (text: string): string[] => statusLines(text).map((line) => line.slice(9, 12));

const paths: Array<[string, (handler: ExchangeHandler) => Promise<Served>]> = [
  [
    'createServer',
    async (handler) => {
      const { server, port } = await serve(handler);
      return { port, close: () => server.close() };
    },
  ],
  [
    'enableHijack',
    async (handler) => {
      const server = httpServer((_req, res) => res.end());
      const control = enableHijack(
        server,
        () => true,
        (hijacked) => handler(hijacked.exchange()),
      );
      const port = await listen(server);
      return {
        port,
        close: () =>
          Promise.all([control.close(), new Promise((resolve) => server.close(resolve))]),
      };
    },
  ],
];

describe.each(paths)('%s: a close during an exchange', (_name, start) => {
  it('answers with Connection: close when the close began before the response head', async () => {
    const started = deferred();
    const gate = deferred();
    const { port, close } = await start(async (exchange) => {
      started.resolve();
      await gate.promise;
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await inTime(started.promise, 'the handler');
    const closed = close();
    gate.resolve();
    const text = await client.untilEnd();
    // The server lingers for the peer's end before it lets the socket go.
    client.close();
    const [head, body] = text.split('\r\n\r\n');
    expect(statuses(text)).toEqual(['200']);
    expect(head).toMatch(/\r\nConnection: close(\r\n|$)/i);
    expect(body).toBe('ok');
    await inTime(closed, 'the close once the exchange ended');
  });

  it('answers 503 to a request pipelined behind a keep-alive response when the close began between them', async () => {
    const targets: string[] = [];
    const { port, close } = await start(async (exchange) => {
      targets.push(exchange.request.target);
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
      for await (const _ of exchange.body);
    });
    const client = await rawClient(port);
    client.write('POST /first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    await client.until((t) => t.endsWith('\r\n\r\nok'), 'the response to /first');
    expect(client.text()).not.toMatch(/\r\nConnection: close/i);
    const closed = close();
    client.write('0\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = await client.untilEnd();
    // The server lingers for the peer's end before it lets the socket go.
    client.close();
    expect(statuses(text)).toEqual(['200', '503']);
    expect(text.slice(text.indexOf('HTTP/1.1 503'))).toMatch(/\r\nConnection: close\r\n/i);
    expect(targets).toEqual(['/first']);
    await inTime(closed, 'the close once the exchange ended');
  });
});
