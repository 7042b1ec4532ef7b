// Hostile peers, on both server paths (createServer, and enableHijack on node:http): a head sent
// a byte at a time, heads and trailer sections and chunk extensions that never end, a peer that
// never reads what it asked for, a flood of pipelined requests, and a TLS peer that never
// handshakes. Each ends at its limit, with the status that says so and a closed connection, and
// the server's memory stays bounded. After each test the guard checks that nothing was left
// unhandled and nothing outlived it.
import { connect, type Socket } from 'node:net';
import type { DuplexExchange } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import { codeOf, collect } from '../../../testkit/bytes.js';
import {
  deferred,
  faultGuard,
  holdsWithin,
  inTime,
  outcome,
  type RawClient,
  responsesIn,
  selfSignedCertificate,
  serverPaths,
  sleep,
  socketClosed,
  tick,
  type WireResponse,
} from './helpers.js';

const guard = faultGuard();
const paths = serverPaths(guard);

/**
 * What `client` received once its connection closed: nothing, whole responses, or a last one
 * visibly cut. An unframed response (node:http's own refusals carry no Content-Length) counts
 * only with an empty body and `Connection: close`: the close is then its end.
 */
function judged(client: RawClient): WireResponse[] {
  expect(client.ended, 'the connection closed').toBe(true);
  const { responses, verdict } = responsesIn(client.received);
  expect(['empty', 'whole', 'cut', 'unframed'], `received ${client.text()}`).toContain(verdict);
  if (verdict === 'unframed') {
    const last = responses.at(-1)!;
    expect(last.body.length, 'an unframed response has nothing the close could cut').toBe(0);
    expect(last.head).toMatch(/\r\nConnection: close\r\n/i);
  }
  return responses;
}

/** One refusal, whole, saying the connection closes: what a peer over a limit must get. */
function expectRefusal(client: RawClient, status: number): void {
  const responses = judged(client);
  expect(responses.map((r) => r.status)).toEqual([status]);
  expect(responses[0]!.head).toMatch(/\r\nConnection: close\r\n/i);
}

/**
 * Sends `prefix`, then `filler` over and over, a turn of the event loop between writes (the
 * server is in this process), until the server answers or closes, or `cap` bytes went: a peer
 * whose message never ends. Returns the bytes sent.
 */
async function sendEndlessly(client: RawClient, prefix: string, filler: string, cap: number) {
  client.write(prefix);
  let sent = prefix.length;
  const piece = Buffer.from(filler, 'latin1');
  while (client.received.length === 0 && !client.ended && sent < cap) {
    if (!client.socket.write(piece)) {
      await inTime(
        new Promise((resolve) => {
          client.socket.once('drain', resolve);
          client.socket.once('close', resolve);
        }),
        'room to send more of the endless message',
      );
    }
    sent += piece.length;
    await tick();
  }
  return sent;
}

/**
 * True once `sample()` has not changed for `quietMs`; false if it still changes after `ms`. For
 * a state that has no event of its own: a writer, or a reader, that stopped.
 */
async function quietFor(sample: () => number, quietMs: number, ms = 10_000): Promise<boolean> {
  const deadline = performance.now() + ms;
  let last = sample();
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(20);
    const now = sample();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return true;
    }
  }
  return false;
}

/** A handler that records the requests it sees and answers 200; none should reach it here. */
function recording(seen: string[]) {
  return (exchange: DuplexExchange): void => {
    seen.push(exchange.request.target);
    exchange.respond(200, { 'Content-Length': 0 }).end();
  };
}

describe.each(paths)('%s: a slowloris head', (_name, start) => {
  it('a head sent a byte every 25 ms is cut at the head timeout with a 408, and the connection closes', async () => {
    const seen: string[] = [];
    const server = await start(recording(seen), {
      standalone: { headTimeout: 400 },
      // node:http's own deadline for a head; checked every connectionsCheckingInterval.
      http: { headersTimeout: 400, requestTimeout: 800, connectionsCheckingInterval: 50 },
    });
    const client = await guard.client(server.port);
    const began = performance.now();
    client.write('GET /slow HTTP/1.1\r\nHost: a\r\nX-Drip: ');
    let dripped = 0;
    const drip = setInterval(() => {
      if (client.received.length > 0 || client.ended) return;
      client.write('a');
      dripped++;
    }, 25);
    try {
      await client.untilEnd();
    } finally {
      clearInterval(drip);
    }
    const elapsed = performance.now() - began;
    client.close();
    expectRefusal(client, 408);
    // Each byte came in time, but the head as a whole did not: the deadline is the head's.
    expect(dripped).toBeGreaterThan(5);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(400 + 1500);
    expect(seen).toEqual([]);
  });
});

describe.each(paths)('%s: a head that never ends', (_name, start) => {
  it.each([
    ['one endless field line', 'GET / HTTP/1.1\r\nHost: a\r\nX-Endless: ', 'a'.repeat(4096)],
    ['field lines without end', 'GET / HTTP/1.1\r\nHost: a\r\n', 'X-Field: value\r\n'.repeat(256)],
  ])(
    '%s: ends at the head limit with a 431, and the connection closes',
    async (_what, prefix, filler) => {
      const seen: string[] = [];
      const server = await start(recording(seen));
      const client = await guard.client(server.port);
      const sent = await sendEndlessly(client, prefix, filler, 4 * 1024 * 1024);
      await client.untilEnd();
      client.close();
      expectRefusal(client, 431);
      // The limit is 16 KiB on both paths: the answer came long before the peer had sent 1 MiB.
      expect(sent).toBeLessThan(1024 * 1024);
      expect(seen).toEqual([]);
    },
  );

  it('an endless trailer section ends at its limit: the body fails with ERR_H1_TRAILERS_TOO_LARGE, a 400, and the close', async () => {
    const failure = deferred<unknown>();
    const server = await start(async (exchange) => {
      failure.resolve(await outcome(collect(exchange.body), 'the body ended'));
    });
    const client = await guard.client(server.port);
    const sent = await sendEndlessly(
      client,
      'POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n',
      'X-Trailer: value\r\n'.repeat(256),
      4 * 1024 * 1024,
    );
    expect(codeOf(await inTime(failure.promise, 'the failure of the body read'))).toBe(
      'ERR_H1_TRAILERS_TOO_LARGE',
    );
    await client.untilEnd();
    client.close();
    expectRefusal(client, 400);
    expect(sent).toBeLessThan(1024 * 1024);
  });
});

describe.each(paths)('%s: oversized chunk extensions', (_name, start) => {
  it.each([
    ['one chunk-size line with an endless extension', '5', ';a=b'.repeat(1024)],
    ['many chunks whose extensions add up', '', `1;ext=${'x'.repeat(1000)}\r\na\r\n`.repeat(4)],
  ])(
    '%s: end at maxChunkExtBytes with ERR_H1_CHUNK_EXTENSIONS_TOO_LARGE, a 400, and the close',
    async (_what, first, filler) => {
      const failure = deferred<unknown>();
      const server = await start(async (exchange) => {
        failure.resolve(await outcome(collect(exchange.body), 'the body ended'));
      });
      const client = await guard.client(server.port);
      const sent = await sendEndlessly(
        client,
        `POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${first}`,
        filler,
        4 * 1024 * 1024,
      );
      expect(codeOf(await inTime(failure.promise, 'the failure of the body read'))).toBe(
        'ERR_H1_CHUNK_EXTENSIONS_TOO_LARGE',
      );
      await client.untilEnd();
      client.close();
      expectRefusal(client, 400);
      expect(sent).toBeLessThan(1024 * 1024);
    },
  );
});

describe.each(paths)('%s: a peer that never reads', (_name, start) => {
  it('holds a writer that honours backpressure: the server buffers at most its high-water marks plus one framed chunk, and RSS stays bounded', async () => {
    const CHUNK = 16 * 1024;
    const held = deferred();
    const ended = deferred<string>();
    const state = { writes: 0, waiting: false, maxBuffered: 0, socketMark: 0, bodyMark: 0 };
    const rssBefore = process.memoryUsage().rss;
    const server = await start(async (exchange) => {
      const socket = exchange.socket;
      const out = exchange.respond(200);
      state.socketMark = socket.writableHighWaterMark;
      state.bodyMark = out.writableHighWaterMark;
      const chunk = Buffer.alloc(CHUNK, 0x62);
      // Bounded (4 GiB): backpressure must hold the writer long before.
      for (let i = 0; i < 1 << 18; i++) {
        const room = out.write(chunk);
        state.writes++;
        state.maxBuffered = Math.max(state.maxBuffered, socket.writableLength + out.writableLength);
        if (room) continue;
        state.waiting = true;
        held.resolve();
        await new Promise((resolve) => {
          out.once('drain', resolve);
          out.once('close', resolve);
        });
        state.waiting = false;
        if (out.destroyed) {
          ended.resolve('destroyed');
          return;
        }
      }
      out.end();
      ended.resolve('wrote 4 GiB: nothing held the writer');
    });
    const client = await guard.client(server.port);
    client.socket.pause();
    client.write('GET /flood HTTP/1.1\r\nHost: a\r\n\r\n');
    await inTime(held.promise, 'the writer held by backpressure');
    // Until the kernel's buffers are full the writer is let go on each 'drain'; nothing says
    // when they are, so this waits until no write was made for 300 ms.
    expect(
      await quietFor(() => state.writes, 300),
      `the writer stopped (${state.writes} writes)`,
    ).toBe(true);
    expect(state.waiting, 'the writer waits for drain').toBe(true);
    // On the wire a chunk carries its framing (size line and CRLF), and the first one the head.
    const limit = state.socketMark + state.bodyMark + CHUNK + 1024;
    expect(
      state.maxBuffered,
      `socket queue + response queue (marks ${state.socketMark} + ${state.bodyMark})`,
    ).toBeLessThanOrEqual(limit);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    client.close();
    expect(await inTime(ended.promise, 'the end of the held writer')).toBe('destroyed');
  });
});

/**
 * A raw connection that parses responses as they come (each `200` with `X-Seq` and a 1 KiB
 * Content-Length body), keeping only what a response still needs: a flood's megabytes are never
 * joined into one buffer.
 */
class ResponseCounter {
  readonly socket: Socket;
  readonly seqs: number[] = [];
  malformed: string | undefined;
  ended = false;
  private pending: Buffer = Buffer.alloc(0);

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => this.push(chunk));
    this.socket.on('end', () => {
      this.ended = true;
    });
    this.socket.on('close', () => {
      this.ended = true;
    });
  }

  private push(chunk: Buffer): void {
    const bytes = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (this.malformed === undefined) {
      const end = bytes.indexOf('\r\n\r\n', at, 'latin1');
      if (end === -1) break;
      const head = bytes.toString('latin1', at, end + 4);
      const length = /\r\nContent-Length: (\d+)\r\n/i.exec(head);
      const seq = /\r\nX-Seq: (\d+)\r\n/i.exec(head);
      if (!head.startsWith('HTTP/1.1 200 ') || !length || !seq) {
        this.malformed = head;
        break;
      }
      const next = end + 4 + Number(length[1]);
      if (bytes.length < next) break;
      this.seqs.push(Number(seq[1]));
      at = next;
    }
    this.pending = Buffer.from(bytes.subarray(at));
  }
}

describe.each(paths)('%s: a flood of pipelined requests', (_name, start) => {
  it('10,000 GETs in one write: the server stops reading while its responses back up, then answers every one, in order', async () => {
    const N = 10_000;
    const body = Buffer.alloc(1024, 0x63);
    const state = { handled: 0, maxQueued: 0, socketMark: 0 };
    const rssBefore = process.memoryUsage().rss;
    const server = await start((exchange) => {
      const socket = exchange.socket;
      state.socketMark = socket.writableHighWaterMark;
      state.maxQueued = Math.max(state.maxQueued, socket.writableLength);
      state.handled++;
      exchange
        .respond(200, { 'Content-Length': body.length, 'X-Seq': exchange.request.target.slice(1) })
        .end(body);
      state.maxQueued = Math.max(state.maxQueued, socket.writableLength);
    });
    const client = new ResponseCounter(server.port);
    guard.onCleanup(() => client.socket.destroy());
    client.socket.pause();
    let requests = '';
    for (let i = 0; i < N; i++) requests += `GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`;
    client.socket.write(requests);
    // Nothing says the server stopped reading: wait until no request was served for 300 ms.
    expect(
      await quietFor(() => state.handled, 300),
      `the server stopped serving (${state.handled} served)`,
    ).toBe(true);
    // The kernel's buffers hold some megabytes; past them, an unread response is queued in the
    // server only until the socket's queue passes a mark, and then the server reads no more.
    const bound = 256 * 1024;
    expect(
      state.maxQueued,
      `the server socket's queue while the client read nothing (${state.handled} of ${N} served)`,
    ).toBeLessThanOrEqual(bound);
    // 10 MiB of responses do not fit in the kernel's buffers: the server stopped before the end.
    expect(state.handled).toBeLessThan(N);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    client.socket.resume();
    expect(
      await holdsWithin(
        () => client.seqs.length === N || client.malformed !== undefined || client.ended,
        15_000,
      ),
      `every response (${client.seqs.length} of ${N})`,
    ).toBe(true);
    expect(client.malformed).toBeUndefined();
    expect(client.seqs.length).toBe(N);
    expect(
      client.seqs.every((seq, i) => seq === i),
      'the responses in request order',
    ).toBe(true);
    client.socket.destroy();
  });
});

const certificate = selfSignedCertificate();

describe.each(paths)('%s over TLS: a peer that never handshakes', (_name, start) => {
  it('is cut at handshakeTimeout, and its server-side socket closes', async () => {
    const seen: string[] = [];
    const server = await start(recording(seen), {
      tls: { ...certificate, handshakeTimeout: 300 },
    });
    const client = await guard.client(server.port);
    const began = performance.now();
    expect(await holdsWithin(() => server.tcpSockets.length > 0), 'the server accepted').toBe(true);
    await socketClosed(
      server.tcpSockets[0]!,
      'the close of the server-side socket of a peer that never sent a TLS handshake',
      300 + 1000,
    );
    await client.untilEnd();
    client.close();
    expect(performance.now() - began).toBeGreaterThanOrEqual(250);
    expect(client.text()).not.toMatch(/HTTP\/1\./);
    expect(seen).toEqual([]);
  });
});
