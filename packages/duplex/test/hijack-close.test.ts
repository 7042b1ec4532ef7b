// enableHijack's control drains: close() refuses new hijacks, lets the exchanges in flight end
// (their connections then close instead of going back to node:http) and resolves when the last
// one has closed; close({ force: true }) cuts them.
import { createServer as createHttpServer, type Server } from 'node:http';
import { type DuplexExchange, enableHijack, type HijackControl, hijack } from '@h1kit/duplex';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf } from '../../../testkit/bytes.js';
import { closedWithin, closeServer, inTime, listen, rawClient, sleep } from './helpers.js';

const POST_HEAD = 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';

/** Resolves once `test()` holds, polled every 5 ms; fails, naming `what`, if it never does. */
function eventually(test: () => boolean, what: string): Promise<void> {
  return inTime(
    (async () => {
      while (!test()) await sleep(5);
    })(),
    what,
  );
}

/** Whether `promise` has settled after the event loop had `ms` to settle it. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await sleep(ms);
  return settled;
}

describe('HijackControl.close()', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });

  /** A server hijacking every request: the body is echoed back once it has ended. */
  async function echoServer(): Promise<{
    server: Server;
    control: HijackControl;
    port: number;
    errors: Error[];
  }> {
    const server = createHttpServer((_req, res) => res.end());
    servers.push(server);
    const errors: Error[] = [];
    const control = enableHijack(
      server,
      () => true,
      (hijacked) => echo(hijacked.exchange()),
      { onError: (error) => errors.push(error) },
    );
    return { server, control, port: await listen(server), errors };
  }

  async function echo(exchange: DuplexExchange): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of exchange.body) chunks.push(Buffer.from(chunk));
    const body = Buffer.concat(chunks);
    exchange.respond(200, { 'Content-Length': body.length }).end(body);
  }

  it('waits for the exchange in flight, which completes, then its connection closes', async () => {
    const { server, control, port } = await echoServer();
    const client = await rawClient(port);
    client.write(`${POST_HEAD}5\r\nhello\r\n`);
    await eventually(() => control.connections.size > 0, 'the hijack of the request');
    const drained = control.close();
    let serverClosed = false;
    server.close(() => {
      serverClosed = true;
    });
    expect(await settledWithin(drained, 50)).toBe(false);
    expect(serverClosed).toBe(false);
    client.write('0\r\n\r\n');
    const text = await client.untilEnd();
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.endsWith('\r\n\r\nhello')).toBe(true);
    expect(text).not.toMatch(/keep-alive/i);
    await inTime(drained, 'close() after the exchange ended');
    expect(control.connections.size).toBe(0);
    await eventually(() => serverClosed, "node:http's server.close()");
  });

  it('answers 503 to a request it would have taken once closing, and rejects hijack()', async () => {
    const { control, port } = await echoServer();
    await inTime(control.close(), 'close() with nothing in flight');
    const client = await rawClient(port);
    client.write(`${POST_HEAD}0\r\n\r\n`);
    expect(await client.untilEnd()).toMatch(/^HTTP\/1\.1 503 /);

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
    expect(await second.untilEnd()).toMatch(/^HTTP\/1\.1 503 /);
    expect(codeOf(rejected)).toBe('ERR_H1_SERVER_CLOSING');
  });

  it('with force, cuts the exchange in flight and resolves', async () => {
    const { control, port, errors } = await echoServer();
    const client = await rawClient(port);
    client.write(`${POST_HEAD}5\r\nhello\r\n`);
    await eventually(() => control.connections.size > 0, 'the hijack of the request');
    await inTime(control.close({ force: true }), 'close({ force: true })');
    expect(await closedWithin(client)).toBe('closed');
    expect(client.text()).toBe('');
    expect(control.connections.size).toBe(0);
    // The handler's read of the body failed with the connection, and onError was told.
    await eventually(() => errors.length > 0, 'onError');
    expect(codeOf(errors[0])).toBe('ERR_H1_CONNECTION_CLOSED');
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
