// Options are refused where they are given, with an H1Error, rather than deep in a socket's
// 'data' handler as an uncaught exception; and a few failures that are ours, not the client's,
// are no longer answered 400.
import { createServer as createHttpServer } from 'node:http';
import {
  createServer,
  type DuplexExchange,
  enableHijack,
  type HijackedExchangeOptions,
  request,
} from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { codeOf, thrown } from '../../../testkit/bytes.js';
import {
  closedWithin,
  deferred,
  httpServers,
  inTime,
  listen,
  rawClient,
  standaloneServers,
} from './helpers.js';

const serve = standaloneServers();
const httpServer = httpServers();
const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';

describe('options refused where they are given', () => {
  it.each([
    [{ readTimeout: Number.POSITIVE_INFINITY }, 'ERR_H1_INVALID_OPTION'],
    [{ headTimeout: Number.NaN }, 'ERR_H1_INVALID_OPTION'],
    [{ maxFields: 0 }, 'ERR_H1_INVALID_OPTION'],
    [{ chunked: { maxChunkSize: -1 } }, 'ERR_H1_INVALID_CHUNKED_OPTION'],
  ])('createServer(%o) throws %s', (options, code) => {
    expect(codeOf(thrown(() => createServer(() => {}, options)))).toBe(code);
  });

  it.each([
    [{ bodyTimeout: -1 }, 'ERR_H1_INVALID_OPTION'],
    [{ expectContinue: { timeout: Number.NaN } }, 'ERR_H1_INVALID_OPTION'],
    [{ chunked: { maxChunkSize: Number.NaN } }, 'ERR_H1_INVALID_CHUNKED_OPTION'],
  ])('request(url, %o) throws %s before it connects', (options, code) => {
    expect(codeOf(thrown(() => request('http://127.0.0.1:1/', options)))).toBe(code);
  });

  it('a hijacked exchange() refuses bad options and leaves the connection for a corrected call', async () => {
    const refused = deferred<unknown>();
    const server = httpServer((_req, res) => res.end());
    enableHijack(
      server,
      () => true,
      (hijacked) => {
        refused.resolve(
          thrown(() => hijacked.exchange({ writeTimeout: Number.NaN } as HijackedExchangeOptions)),
        );
        hijacked.exchange().respond(200, { 'Content-Length': 2 }).end('ok');
      },
    );
    const client = await rawClient(await listen(server));
    client.write(GET);
    const text = await client.until((t) => t.endsWith('\r\n\r\nok'), 'the corrected answer');
    client.close();
    expect(codeOf(await refused.promise)).toBe('ERR_H1_INVALID_OPTION');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('enableHijack refuses a match without onHijack, and a second installation, at once', () => {
    const server = createHttpServer();
    expect(codeOf(thrown(() => enableHijack(server, () => true)))).toBe('ERR_H1_INVALID_OPTION');
    enableHijack(server).disable();
    const control = enableHijack(server);
    expect(codeOf(thrown(() => enableHijack(server)))).toBe('ERR_H1_INVALID_OPTION');
    control.disable();
  });

  it('a refused deadline leaves the one already set in place', async () => {
    const caught = deferred<unknown>();
    const { port } = await serve(
      (exchange) => {
        caught.resolve(thrown(() => exchange.setWriteDeadline('soon' as unknown as number)));
        return new Promise(() => {});
      },
      { writeTimeout: 50 },
    );
    const client = await rawClient(port);
    client.write(GET);
    expect(codeOf(await inTime(caught.promise, 'the handler'))).toBe('ERR_H1_INVALID_DEADLINE');
    const text = await client.untilEnd();
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
  });
});

describe('failures that are the server’s own get no 400', () => {
  it('exchange.destroy() before any response cuts the connection without an answer', async () => {
    const { port } = await serve((exchange: DuplexExchange) => exchange.destroy());
    const client = await rawClient(port);
    client.write(GET);
    expect(await closedWithin(client)).toBe('closed');
    client.close();
    expect(client.text()).toBe('');
  });

  it('a handler failure whose 500 cannot be sent (over maxResponseHeadBytes) cuts, not 400', async () => {
    const { port } = await serve(
      (exchange) => {
        // The handler's own mistake, an H1Error: still not the client's fault.
        exchange.respond(200, { 'X-Bad': 'a\nb' });
      },
      { maxResponseHeadBytes: 40, onError: () => {} },
    );
    const client = await rawClient(port);
    client.write(GET);
    expect(await closedWithin(client)).toBe('closed');
    client.close();
    expect(client.text()).toBe('');
  });

  it('respond() takes a reason from its options and nothing else (no version slips through)', async () => {
    const { port } = await serve((exchange) => {
      exchange
        .respond(200, { 'Content-Length': 0 }, { reason: 'Fine', version: '1.0' } as never)
        .end();
    });
    const client = await rawClient(port);
    client.write(GET);
    const text = await client.until((t) => t.includes('\r\n\r\n'), 'the head');
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 200 Fine\r\n/);
  });
});
