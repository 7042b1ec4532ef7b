// Faults, on both server paths (createServer, and enableHijack on node:http): a peer that resets
// or half-closes at each stage of an exchange, a server that ends its response while the peer
// still sends, a handler that fails before, during and after its response, a reset while a write
// waits on backpressure, a close with exchanges in flight, and TLS handshakes that fail. After
// each test the guard checks that nothing was left unhandled and nothing outlived it (sockets,
// servers, ref'd timers), and each test parses what its client received: nothing, a whole
// response, or one visibly cut, never a truncated message that looks complete.
import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { DuplexExchange } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { codeOf, collect } from '../../../testkit/bytes.js';
import {
  deferred,
  faultGuard,
  holdsWithin,
  inTime,
  outcome,
  type PathServer,
  type RawClient,
  responsesIn,
  selfSignedCertificate,
  serverPaths,
  socketClosed,
  tick,
  type WireResponse,
} from './helpers.js';

const guard = faultGuard();
const paths = serverPaths(guard);

/**
 * The law every test here ends on, once `client` saw the connection close: it received nothing,
 * whole responses, or a last response visibly cut (its Content-Length or last-chunk never came).
 * An unframed response (node:http's own refusals carry no Content-Length) counts only with an
 * empty body and `Connection: close`: the close is then its end. Returns the responses and how
 * the stream ended.
 */
function judged(client: RawClient): { responses: WireResponse[]; verdict: string } {
  expect(client.ended, 'the connection closed').toBe(true);
  const { responses, verdict } = responsesIn(client.received);
  expect(['empty', 'whole', 'cut', 'unframed'], `received ${client.text()}`).toContain(verdict);
  if (verdict === 'unframed') {
    const last = responses.at(-1)!;
    expect(last.body.length, 'an unframed response has nothing the close could cut').toBe(0);
    expect(last.head).toMatch(/\r\nConnection: close\r\n/i);
  }
  return { responses, verdict };
}

const statuses = (responses: WireResponse[]): number[] => responses.map((r) => r.status);

/** The server-side socket of the `index`th connection (there is no event for it on every path). */
async function serverSocket(server: PathServer, index = 0): Promise<PathServer['sockets'][0]> {
  expect(await holdsWithin(() => server.sockets.length > index), 'the server accepted').toBe(true);
  return server.sockets[index]!;
}

/** A GET that ends its connection, answered by the server at `port`: the server still serves. */
async function stillServes(port: number): Promise<void> {
  const client = await guard.client(port);
  client.write('GET /next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await client.untilEnd();
  client.close();
  const { responses, verdict } = judged(client);
  expect(verdict).toBe('whole');
  expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 next']);
}

/** Answers /next with "next"; anything else goes to `rest`. */
function orNext(rest: (exchange: DuplexExchange) => unknown) {
  return (exchange: DuplexExchange) => {
    if (exchange.request.target === '/next') {
      exchange.respond(200, { 'Content-Length': 4 }).end('next');
      return;
    }
    return rest(exchange) as void | Promise<void>;
  };
}

describe.each(paths)('%s: a peer that resets the connection', (_name, start) => {
  it('mid-head: no handler runs, the server socket closes, and the server serves on', async () => {
    const seen: string[] = [];
    const server = await start(
      orNext((exchange) => {
        seen.push(exchange.request.target);
        exchange.respond(200, { 'Content-Length': 0 }).end();
      }),
    );
    const client = await guard.client(server.port);
    client.write('GET /cut HTTP/1.1\r\nHost: a\r\nX-Half: ');
    const socket = await serverSocket(server);
    // Nothing says when the server has read the bytes but its socket's count of them.
    expect(await holdsWithin(() => socket.bytesRead > 0), 'the server read the head').toBe(true);
    client.socket.resetAndDestroy();
    await socketClosed(socket, 'the close of the server-side socket after the reset');
    expect(seen).toEqual([]);
    await stillServes(server.port);
  });

  it('mid-body: the body read fails with ERR_H1_CONNECTION_CLOSED, done rejects, signal aborts', async () => {
    const firstBytes = deferred();
    const failure = deferred<unknown>();
    let exchange!: DuplexExchange;
    const server = await start(
      orNext(async (e) => {
        exchange = e;
        try {
          for await (const _ of e.body) firstBytes.resolve();
          failure.resolve('the body ended');
        } catch (error) {
          failure.resolve(error);
        }
      }),
    );
    const client = await guard.client(server.port);
    client.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
    await inTime(firstBytes.promise, 'the first body bytes at the handler');
    const done = exchange.done.then(
      () => 'resolved',
      (error: unknown) => codeOf(error),
    );
    client.socket.resetAndDestroy();
    expect(codeOf(await inTime(failure.promise, 'the failure of the body read'))).toBe(
      'ERR_H1_CONNECTION_CLOSED',
    );
    expect(await inTime(done, 'exchange.done')).toBe('ERR_H1_CONNECTION_CLOSED');
    expect(exchange.signal.aborted).toBe(true);
    await socketClosed(await serverSocket(server), 'the close of the server-side socket');
    await stillServes(server.port);
  });
});

describe.each(paths)('%s: a peer that half-closes (ends its sending side)', (_name, start) => {
  it('before its head is complete: nothing is served; it hears nothing or a whole 400, then the close', async () => {
    const seen: string[] = [];
    const server = await start((exchange) => {
      seen.push(exchange.request.target);
      exchange.respond(200, { 'Content-Length': 0 }).end();
    });
    const client = await guard.client(server.port);
    client.write('GET /partial HTTP/1.1\r\nHost: a\r\n');
    client.socket.end();
    await client.untilEnd();
    client.close();
    const { responses } = judged(client);
    expect(statuses(responses).filter((status) => status !== 400)).toEqual([]);
    expect(responses.length).toBeLessThanOrEqual(1);
    expect(seen).toEqual([]);
  });

  it('mid-body: the body fails with ERR_H1_INCOMPLETE_BODY, the peer hears a whole 400, then the close', async () => {
    const failure = deferred<unknown>();
    const server = await start(async (exchange) => {
      failure.resolve(await outcome(collect(exchange.body), 'the body ended'));
    });
    const client = await guard.client(server.port);
    client.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    client.socket.end();
    expect(codeOf(await inTime(failure.promise, 'the failure of the body read'))).toBe(
      'ERR_H1_INCOMPLETE_BODY',
    );
    await client.untilEnd();
    client.close();
    const { responses, verdict } = judged(client);
    expect(verdict).toBe('whole');
    expect(statuses(responses)).toEqual([400]);
    expect(responses[0]!.head).toMatch(/\r\nConnection: close\r\n/i);
  });

  it('mid-body while the response streams: the response is visibly cut, then the close', async () => {
    const failure = deferred<unknown>();
    const server = await start(async (exchange) => {
      const out = exchange.respond(200);
      out.write('streaming ');
      try {
        for await (const chunk of exchange.body) out.write(chunk);
        out.end();
        failure.resolve('the body ended');
      } catch (error) {
        failure.resolve(error);
      }
    });
    const client = await guard.client(server.port);
    client.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await client.until((t) => t.includes('abc'), 'the echo of the first chunk');
    client.socket.end();
    expect(codeOf(await inTime(failure.promise, 'the failure of the body read'))).toBe(
      'ERR_H1_INCOMPLETE_BODY',
    );
    await client.untilEnd();
    client.close();
    const { responses, verdict } = judged(client);
    expect(verdict).toBe('cut');
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 streaming abc']);
  });

  it('after its body, before the response: the response comes whole, then the close', async () => {
    const bodyRead = deferred();
    const gate = deferred();
    const server = await start(async (exchange) => {
      const body = await collect(exchange.body);
      bodyRead.resolve();
      await gate.promise;
      exchange.respond(200, { 'Content-Length': body.length }).end(body);
    });
    const client = await guard.client(server.port);
    // The end follows the body on the wire: the server has it by the time the body is read.
    client.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    client.socket.end();
    await inTime(bodyRead.promise, 'the body read by the handler');
    gate.resolve();
    await client.untilEnd();
    client.close();
    const { responses, verdict } = judged(client);
    expect(verdict).toBe('whole');
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 hello']);
  });

  it('mid-response: the response completes whole, then the close', async () => {
    const gate = deferred();
    const server = await start(async (exchange) => {
      const out = exchange.respond(200);
      out.write('first ');
      await gate.promise;
      out.end('last');
    });
    const client = await guard.client(server.port);
    client.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
    await client.until((t) => t.includes('first '), 'the first part of the response');
    client.socket.end();
    gate.resolve();
    await client.untilEnd();
    client.close();
    const { responses, verdict } = judged(client);
    expect(verdict).toBe('whole');
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 first last']);
  });
});

describe.each(paths)(
  '%s: a server that ends its response while the peer still sends',
  (_name, start) => {
    it('with keep-alive: the response is whole, the rest of the body is drained, the connection serves on', async () => {
      const server = await start((exchange) => {
        exchange
          .respond(200, { 'Content-Length': 2, 'X-Target': exchange.request.target })
          .end('ok');
      });
      const client = await guard.client(server.port);
      client.write('POST /first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
      await client.until((t) => t.endsWith('\r\n\r\nok'), 'the response to /first');
      const chunk = `400\r\n${'x'.repeat(1024)}\r\n`;
      for (let i = 0; i < 8; i++) {
        client.write(chunk);
        await tick();
      }
      client.write('0\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      await client.untilEnd();
      client.close();
      const { responses, verdict } = judged(client);
      expect(verdict).toBe('whole');
      expect(responses.map((r) => /X-Target: (\S+)/.exec(r.head)?.[1])).toEqual([
        '/first',
        '/second',
      ]);
    });

    it('with Connection: close: the response is whole, the peer finishes sending unharmed, and the connection then closes', async () => {
      const server = await start((exchange) => {
        exchange.respond(200, { 'Content-Length': 2, Connection: 'close' }).end('ok');
      });
      const client = await guard.client(server.port);
      const errors: Error[] = [];
      client.socket.on('error', (error) => errors.push(error));
      client.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
      await client.until((t) => t.endsWith('\r\n\r\nok'), 'the response');
      for (let i = 0; i < 4; i++) {
        client.write(`400\r\n${'y'.repeat(1024)}\r\n`);
        await tick();
      }
      client.write('0\r\n\r\n');
      // The server's end: at once, or once it has read the rest of the body.
      await client.untilEnd();
      client.socket.end();
      await socketClosed(client.socket, 'the close once both sides ended');
      // Bytes the server never read would have made its close a reset.
      expect(errors.map((e) => (e as Error & { code?: string }).code)).toEqual([]);
      const { responses, verdict } = judged(client);
      expect(verdict).toBe('whole');
      expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 ok']);
    });
  },
);

/** Handlers that fail at a stage of their exchange; `visible` is what the peer may see. */
const failures: Array<
  [string, (exchange: DuplexExchange) => unknown, { statuses: number[]; verdicts: string[] }]
> = [
  [
    'throws before respond()',
    () => {
      throw new Error('boom');
    },
    { statuses: [500], verdicts: ['whole'] },
  ],
  [
    'rejects before respond()',
    async () => {
      await tick();
      throw new Error('boom');
    },
    { statuses: [500], verdicts: ['whole'] },
  ],
  [
    'rejects between respond() and end() (chunked)',
    async (exchange) => {
      exchange.respond(200).write('partial');
      await tick();
      throw new Error('boom');
    },
    { statuses: [200], verdicts: ['cut'] },
  ],
  [
    'rejects between respond() and end() (Content-Length)',
    async (exchange) => {
      exchange.respond(200, { 'Content-Length': 10 }).write('part');
      await tick();
      throw new Error('boom');
    },
    { statuses: [200], verdicts: ['cut'] },
  ],
  [
    'throws right after respond() and a write, in the same tick',
    (exchange) => {
      exchange.respond(200).write('partial');
      throw new Error('boom');
    },
    { statuses: [200], verdicts: ['empty', 'cut'] },
  ],
  [
    'throws right after end()',
    (exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
      throw new Error('boom');
    },
    { statuses: [200], verdicts: ['whole'] },
  ],
  [
    'rejects after end()',
    async (exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
      await tick();
      throw new Error('boom');
    },
    { statuses: [200], verdicts: ['whole'] },
  ],
];

describe.each(paths)('%s: a handler that fails', (_name, start) => {
  it.each(failures)(
    '%s: the peer sees a whole answer or a visibly cut one, onError is told, the server serves on',
    async (_what, handler, expected) => {
      const server = await start(orNext(handler));
      const client = await guard.client(server.port);
      client.write('GET /fail HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      await client.untilEnd();
      client.close();
      const { responses, verdict } = judged(client);
      expect(expected.verdicts).toContain(verdict);
      if (verdict !== 'empty') expect(statuses(responses)).toEqual(expected.statuses);
      if (expected.statuses[0] === 500) {
        expect(responses[0]!.head).toMatch(/\r\nConnection: close\r\n/i);
      }
      expect(await holdsWithin(() => server.errors.length > 0), 'onError told').toBe(true);
      expect(server.errors.map((e) => e.message)).toEqual(['boom']);
      await stillServes(server.port);
    },
  );
});

describe.each(paths)('%s: a reset while a write waits on backpressure', (_name, start) => {
  it('releases the held writer with the connection gone, fails done, and leaves nothing', async () => {
    const held = deferred();
    const ended = deferred<string>();
    let exchange!: DuplexExchange;
    const server = await start(
      orNext(async (e: DuplexExchange) => {
        exchange = e;
        const out = e.respond(200);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        // Bounded (4 GiB): backpressure must hold the writer long before.
        for (let i = 0; i < 65536; i++) {
          if (out.write(chunk)) continue;
          held.resolve();
          await new Promise((resolve) => {
            out.once('drain', resolve);
            out.once('close', resolve);
          });
          if (out.destroyed) {
            ended.resolve('destroyed');
            return;
          }
        }
        out.end();
        ended.resolve('wrote everything');
      }),
    );
    const client = await guard.client(server.port);
    // The client reads nothing: the server's socket fills and the writer is held.
    client.socket.pause();
    client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n');
    await inTime(held.promise, 'the writer held by backpressure');
    const done = exchange.done.then(
      () => 'resolved',
      (error: unknown) => codeOf(error),
    );
    client.socket.resetAndDestroy();
    expect(await inTime(ended.promise, 'the end of the held writer')).toBe('destroyed');
    expect(await inTime(done, 'exchange.done')).toBe('ERR_H1_CONNECTION_CLOSED');
    expect(exchange.signal.aborted).toBe(true);
    await socketClosed(await serverSocket(server), 'the close of the server-side socket');
    await stillServes(server.port);
  });
});

describe.each(paths)('%s: a server closed with exchanges in flight', (_name, start) => {
  it('gracefully: an idle connection closes at once, the exchange in flight completes whole, then close() resolves', async () => {
    const started = deferred();
    const gate = deferred();
    const server = await start(async (exchange) => {
      if (exchange.request.target === '/idle') {
        exchange.respond(200, { 'Content-Length': 4 }).end('idle');
        return;
      }
      const out = exchange.respond(200);
      out.write('first ');
      started.resolve();
      await gate.promise;
      out.end('last');
    });
    const idle = await guard.client(server.port);
    idle.write('GET /idle HTTP/1.1\r\nHost: a\r\n\r\n');
    await idle.until((t) => t.endsWith('\r\n\r\nidle'), 'the idle connection answered');
    const busy = await guard.client(server.port);
    busy.write('GET /busy HTTP/1.1\r\nHost: a\r\n\r\n');
    await inTime(started.promise, 'the handler of /busy');
    await busy.until((t) => t.includes('first '), 'the first part of /busy');
    const closed = server.close();
    let closedYet = false;
    closed.then(() => {
      closedYet = true;
    });
    try {
      // node:http and createServer close an idle keep-alive connection at once.
      await idle.untilEnd(1000);
      idle.close();
      expect(closedYet, 'close() waits for the exchange in flight').toBe(false);
    } finally {
      gate.resolve();
    }
    await busy.untilEnd();
    busy.close();
    await inTime(closed, 'close() once the exchange in flight ended');
    expect(judged(idle).verdict).toBe('whole');
    const { responses, verdict } = judged(busy);
    expect(verdict).toBe('whole');
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 first last']);
  });

  it('with force: the exchange in flight is visibly cut, its writer fails, close() resolves', async () => {
    const started = deferred();
    const gate = deferred();
    const after = deferred<boolean>();
    let exchange!: DuplexExchange;
    const server = await start(async (e) => {
      exchange = e;
      const out = e.respond(200);
      out.write('first ');
      started.resolve();
      await gate.promise;
      out.write('more');
      out.end();
      after.resolve(out.destroyed);
    });
    const client = await guard.client(server.port);
    client.write('GET /busy HTTP/1.1\r\nHost: a\r\n\r\n');
    await inTime(started.promise, 'the handler');
    await client.until((t) => t.includes('first '), 'the first part of the response');
    await inTime(server.close({ force: true }), 'close({ force: true })');
    await client.untilEnd();
    client.close();
    expect(exchange.signal.aborted).toBe(true);
    gate.resolve();
    expect(await inTime(after.promise, 'the handler after the close')).toBe(true);
    const { responses, verdict } = judged(client);
    expect(verdict).toBe('cut');
    expect(responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 first ']);
  });
});

const certificate = selfSignedCertificate();

/** A GET over TLS that trusts the test certificate: the server still serves TLS. */
async function stillServesTls(port: number): Promise<void> {
  const req = httpsRequest({
    port,
    host: '127.0.0.1',
    path: '/next',
    ca: certificate.cert,
    agent: false,
  });
  req.end();
  const [res] = (await inTime(once(req, 'response'), 'the response over TLS')) as [
    import('node:http').IncomingMessage,
  ];
  expect(res.statusCode).toBe(200);
  expect((await inTime(collect(res), 'the body over TLS')).toString()).toBe('next');
  await socketClosed(res.socket, 'the close of the TLS socket');
}

describe.each(paths)('%s over TLS: a handshake that fails', (_name, start) => {
  it.each([
    ['garbage', Buffer.from('\x00\x01\x02garbage that is no TLS record\r\n\r\n', 'latin1')],
    ['a plain HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1')],
  ])(
    'from %s: the connection closes with no HTTP answer, no handler runs, TLS is served on',
    async (_what, bytes) => {
      const seen: string[] = [];
      const server = await start(
        orNext((exchange) => {
          seen.push(exchange.request.target);
        }),
        { tls: certificate },
      );
      const client = await guard.client(server.port);
      client.write(bytes);
      await client.untilEnd();
      client.close();
      // A TLS alert may come back; an HTTP response may not, in plain text or otherwise.
      expect(client.text()).not.toMatch(/HTTP\/1\./);
      expect(seen).toEqual([]);
      await stillServesTls(server.port);
    },
  );

  it('when the client rejects the certificate: the client fails, no handler runs, TLS is served on', async () => {
    const seen: string[] = [];
    const server = await start(
      orNext((exchange) => {
        seen.push(exchange.request.target);
      }),
      { tls: certificate },
    );
    const socket = tlsConnect({ port: server.port, host: '127.0.0.1', servername: 'localhost' });
    guard.onCleanup(() => socket.destroy());
    const [error] = (await inTime(
      once(socket, 'error'),
      'the client refusing the certificate',
    )) as [Error & { code?: string }];
    expect(error.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/);
    await socketClosed(socket, 'the close of the client socket');
    // The client hung up during the handshake: the server's side of it must go too.
    expect(await holdsWithin(() => server.tcpSockets.length > 0), 'the server accepted').toBe(true);
    await socketClosed(
      server.tcpSockets[0]!,
      'the close of the server-side socket whose client hung up during the TLS handshake',
    );
    expect(seen).toEqual([]);
    await stillServesTls(server.port);
  });
});
