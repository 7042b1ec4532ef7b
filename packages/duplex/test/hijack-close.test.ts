// enableHijack's control drains: close() refuses new hijacks, lets the exchanges in flight end
// (their connections then close instead of going back to node:http) and resolves when the last
// one has closed; close({ force: true }) cuts them.
import { createServer as createHttpServer, type Server } from 'node:http';
import { type DuplexExchange, enableHijack, type HijackControl, hijack } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../../testkit/bytes.js';
import {
  closedWithin,
  closeServer,
  deferred,
  inTime,
  listen,
  type RawClient,
  rawClient,
} from './helpers.js';

const POST_HEAD = 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';

/** Tracks whether `promise` has settled, without waiting for it. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  const settle = (): void => {
    state.settled = true;
  };
  promise.then(settle, settle);
  return state;
}

/** Reads up to the end of the first response head and returns its status code. */
async function statusOf(client: RawClient): Promise<string> {
  const text = await client.until((t) => t.includes('\r\n\r\n'), 'a response head');
  return text.slice(9, 12);
}

describe('HijackControl.close()', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });

  /**
   * A server hijacking every request: the body is echoed back once it has ended. Its promises
   * tell when the handler began, when it read its first chunk, and the first error reported.
   */
  async function echoServer(): Promise<{
    server: Server;
    control: HijackControl;
    port: number;
    hijacked: Promise<void>;
    firstChunk: Promise<void>;
    reported: Promise<Error>;
  }> {
    const server = createHttpServer((_req, res) => res.end());
    servers.push(server);
    const hijacked = deferred();
    const firstChunk = deferred();
    const reported = deferred<Error>();
    const echo = async (exchange: DuplexExchange): Promise<void> => {
      const chunks: Buffer[] = [];
      for await (const chunk of exchange.body) {
        chunks.push(Buffer.from(chunk));
        firstChunk.resolve();
      }
      const body = Buffer.concat(chunks);
      exchange.respond(200, { 'Content-Length': body.length }).end(body);
    };
    const control = enableHijack(
      server,
      () => true,
      (request) => {
        hijacked.resolve();
        return echo(request.exchange());
      },
      { onError: reported.resolve },
    );
    return {
      server,
      control,
      port: await listen(server),
      hijacked: hijacked.promise,
      firstChunk: firstChunk.promise,
      reported: reported.promise,
    };
  }

  it('waits for the exchange in flight, which completes, then its connection closes', async () => {
    const { server, control, port, hijacked, firstChunk } = await echoServer();
    const client = await rawClient(port);
    client.write(POST_HEAD);
    await inTime(hijacked, 'the hijack of the request');
    const drained = control.close();
    const drainState = watch(drained);
    const serverClosed = deferred();
    server.close(() => serverClosed.resolve());
    const serverState = watch(serverClosed.promise);
    // A round trip through the handler: the close had time to settle, were it not waiting.
    client.write('5\r\nhello\r\n');
    await inTime(firstChunk, 'the first chunk read by the handler');
    expect(drainState.settled).toBe(false);
    expect(serverState.settled).toBe(false);
    client.write('0\r\n\r\n');
    const text = await client.untilEnd();
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.split('\r\n\r\n')[0]).toMatch(/\r\nConnection: close(\r\n|$)/i);
    expect(text.endsWith('\r\n\r\nhello')).toBe(true);
    await inTime(drained, 'close() after the exchange ended');
    expect(control.connections.size).toBe(0);
    await inTime(serverClosed.promise, "node:http's server.close()");
  });

  it('answers 503 to a request it would have taken once closing, and rejects hijack()', async () => {
    const { control, port } = await echoServer();
    await inTime(control.close(), 'close() with nothing in flight');
    const client = await rawClient(port);
    client.write(`${POST_HEAD}0\r\n\r\n`);
    expect(await statusOf(client)).toBe('503');
    expect(await closedWithin(client)).toBe('closed');
    client.close();

    let rejected: unknown;
    const server = createHttpServer((req, res) => {
      hijack(req, res).catch((error: unknown) => {
        rejected = error;
      });
    });
    servers.push(server);
    await inTime(enableHijack(server).close(), 'close() of the second server');
    const second = await rawClient(await listen(server));
    second.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await statusOf(second)).toBe('503');
    expect(await closedWithin(second)).toBe('closed');
    second.close();
    expect(codeOf(rejected)).toBe('ERR_H1_SERVER_CLOSING');
  });

  it('with force, cuts the exchange in flight and resolves', async () => {
    const { control, port, hijacked, reported } = await echoServer();
    const client = await rawClient(port);
    client.write(`${POST_HEAD}5\r\nhello\r\n`);
    await inTime(hijacked, 'the hijack of the request');
    await inTime(control.close({ force: true }), 'close({ force: true })');
    expect(await closedWithin(client)).toBe('closed');
    expect(client.text()).toBe('');
    expect(control.connections.size).toBe(0);
    // The handler's read of the body failed with the connection, and onError was told.
    expect(codeOf(await inTime(reported, 'onError'))).toBe('ERR_H1_CONNECTION_CLOSED');
  });

  it('resolves at once when the hijacked connections were handed back to node:http', async () => {
    const { control, port } = await echoServer();
    const client = await rawClient(port);
    client.write(`${POST_HEAD}2\r\nhi\r\n0\r\n\r\n`);
    await client.until((t) => t.endsWith('\r\n\r\nhi'), 'the echo');
    expect(control.connections.size).toBe(0);
    await inTime(control.close(), 'close() with the connection handed back');
    client.close();
  });
});
