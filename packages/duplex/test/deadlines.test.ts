// Per-exchange deadlines in the manner of Go's ResponseController, and the server-wide
// readTimeout / writeTimeout that set them, on both server paths: a request body late past its
// read deadline fails its read (408 when nothing was answered); a response not complete by its
// write deadline is answered 503, or cut when it had begun.
import { type DuplexExchange, enableHijack, type HijackedRequest } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { codeOf, thrown } from '../../../testkit/bytes.js';
import {
  closedWithin,
  deferred,
  httpServers,
  inTime,
  listen,
  rawClient,
  sleep,
  standaloneServers,
} from './helpers.js';

type ExchangeHandler = (exchange: DuplexExchange) => void | Promise<void>;
interface Timeouts {
  readTimeout?: number;
  writeTimeout?: number;
}

const serve = standaloneServers();
const httpServer = httpServers();

/** A node:http server handing every request to `onHijack`; resolves with its port. */
function hijackOn(onHijack: (hijacked: HijackedRequest) => void | Promise<void>): Promise<number> {
  const server = httpServer((_req, res) => res.end());
  // The handlers that fail here fail on purpose: nothing to report.
  enableHijack(server, () => true, onHijack, { onError: () => {} });
  return listen(server);
}

const paths: Array<[string, (handler: ExchangeHandler, timeouts?: Timeouts) => Promise<number>]> = [
  ['createServer', async (handler, timeouts) => (await serve(handler, timeouts)).port],
  ['enableHijack', (handler, timeouts) => hijackOn((h) => handler(h.exchange(timeouts)))],
];

const POST_HEAD = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';

/** Reads the whole request body, rejecting with the read's error. */
async function drain(exchange: DuplexExchange): Promise<number> {
  let n = 0;
  for await (const chunk of exchange.body) n += chunk.length;
  return n;
}

describe.each(paths)('%s: deadlines', (_name, start) => {
  it('a body late past readTimeout fails its read with READ_TIMEOUT and is answered 408', async () => {
    const failed = deferred<unknown>();
    const port = await start(
      async (exchange) => {
        try {
          await drain(exchange);
        } catch (error) {
          failed.resolve(error);
          throw error;
        }
      },
      { readTimeout: 50 },
    );
    const client = await rawClient(port);
    client.write(`${POST_HEAD}3\r\nabc\r\n`);
    expect(codeOf(await inTime(failed.promise, 'the failed read'))).toBe('ERR_H1_READ_TIMEOUT');
    const text = await client.untilEnd();
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('setReadDeadline(null) clears the read deadline readTimeout set', async () => {
    const port = await start(
      async (exchange) => {
        exchange.setReadDeadline(null);
        const n = await drain(exchange);
        exchange.respond(200, { 'Content-Length': String(n).length }).end(String(n));
      },
      { readTimeout: 30 },
    );
    const client = await rawClient(port);
    client.write(`${POST_HEAD}3\r\nabc\r\n`);
    // A timer that must not fire has no event: the body is held well past the cleared deadline.
    await sleep(120);
    client.write('0\r\n\r\n');
    const text = await client.until((t) => t.endsWith('\r\n\r\n3'), 'the answer');
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('a handler that never responds is answered 503 at writeTimeout; done rejects, respond() refuses', async () => {
    const held = deferred<DuplexExchange>();
    const port = await start(
      (exchange) => {
        held.resolve(exchange);
        return new Promise(() => {});
      },
      { writeTimeout: 50 },
    );
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const exchange = await inTime(held.promise, 'the handler');
    const outcome = await inTime(
      exchange.done.then(
        () => 'resolved',
        (e) => e,
      ),
      'done',
    );
    expect(codeOf(outcome)).toBe('ERR_H1_WRITE_TIMEOUT');
    expect(exchange.signal.aborted).toBe(true);
    const text = await client.untilEnd();
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(codeOf(thrown(() => exchange.respond(200)))).toBe('ERR_H1_ALREADY_RESPONDED');
  });

  it('a response begun and not finished by its write deadline is cut, its body visibly unfinished', async () => {
    const port = await start((exchange) => {
      exchange.setWriteDeadline(new Date(Date.now() + 50));
      exchange.respond(200).write('partial');
      return new Promise(() => {});
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await closedWithin(client)).toBe('closed');
    const text = client.text();
    client.close();
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/\r\nTransfer-Encoding: chunked\r\n/i);
    expect(text).toContain('7\r\npartial\r\n');
    expect(text).not.toContain('0\r\n\r\n');
  });

  it('a deadline already passed fires at once; setWriteDeadline(null) lets a long exchange outlive writeTimeout', async () => {
    const late = await start((exchange) => {
      exchange.setWriteDeadline(Date.now() - 1);
      return new Promise(() => {});
    });
    const first = await rawClient(late);
    first.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(await first.untilEnd()).toMatch(/^HTTP\/1\.1 503 /);
    first.close();

    const long = await start(
      async (exchange) => {
        exchange.setWriteDeadline(null);
        const out = exchange.respond(200, { 'Content-Length': 4 });
        out.write('lo');
        // Held past the writeTimeout that was cleared: no event marks a timer that never fires.
        await sleep(120);
        out.end('ng');
      },
      { writeTimeout: 30 },
    );
    const second = await rawClient(long);
    second.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const text = await second.until((t) => t.endsWith('\r\n\r\nlong'), 'the whole response');
    second.close();
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('refuses a deadline that is not a time, with INVALID_DEADLINE', async () => {
    const caught = deferred<unknown[]>();
    const port = await start((exchange) => {
      caught.resolve([
        thrown(() => exchange.setReadDeadline(Number.NaN)),
        thrown(() => exchange.setWriteDeadline(new Date('soon'))),
        thrown(() => exchange.setWriteDeadline('1000' as unknown as number)),
      ]);
      exchange.respond(204).end();
    });
    const client = await rawClient(port);
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const errors = await inTime(caught.promise, 'the handler');
    await client.until((t) => t.includes('\r\n\r\n'), 'the 204');
    client.close();
    expect(errors.map(codeOf)).toEqual([
      'ERR_H1_INVALID_DEADLINE',
      'ERR_H1_INVALID_DEADLINE',
      'ERR_H1_INVALID_DEADLINE',
    ]);
  });
});
