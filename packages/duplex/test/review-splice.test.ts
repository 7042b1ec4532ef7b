// Regression pins from the review of the splice and the gathered writes: each test states what
// the contract (README, Node's stream semantics) asks for, on real loopback sockets.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { encodeChunk } from '@h1kit/chunked';
import { type DuplexExchange, request } from '@h1kit/duplex';
import { describe, expect, it } from 'vitest';
import {
  BOUND_MS,
  chunkedBody,
  collect,
  rawClient,
  selfSignedCertificate,
  sleep,
  standaloneServers,
  tick,
  untilChunkedBody,
  within,
} from './helpers.js';

/**
 * An uploader that does not read what the server sends back: it pumps a chunked request body of
 * 64 KiB chunks until told to `finish()`, then sends the last-chunk. Counts what it receives once
 * `read()` is called.
 */
class StallingUploader {
  readonly socket: Socket;
  received = 0;
  sentPayload = 0;
  private finishing = false;
  private finished = false;
  private readonly chunk = Buffer.concat(encodeChunk(Buffer.alloc(64 * 1024, 0x61)));

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.on('error', () => {});
    this.socket.pause();
    this.socket.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    this.pump();
  }

  read(): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
    });
    this.socket.resume();
  }

  finish(): void {
    this.finishing = true;
    this.pump();
  }

  close(): void {
    this.socket.destroy();
  }

  private readonly pump = (): void => {
    if (this.finished || this.socket.destroyed) return;
    if (this.finishing) {
      this.finished = true;
      this.socket.write('0\r\n\r\n');
      return;
    }
    // Bounded: the server's splice must stall it long before this.
    while (this.sentPayload < 512 * 1024 * 1024) {
      this.sentPayload += 64 * 1024;
      if (!this.socket.write(this.chunk)) {
        this.socket.once('drain', this.pump);
        return;
      }
    }
  };
}

/** Waits until the server stopped reading from `socket` (bytesRead stable for 150 ms). */
async function untilStalled(socket: () => Socket): Promise<void> {
  let last = -1;
  for (;;) {
    const now = socket().bytesRead;
    if (now === last && now > 0) return;
    last = now;
    await sleep(150);
  }
}

const serve = standaloneServers();

/** A handler that hands its exchange to the test. */
function exchangeHandle(): {
  handler: (e: DuplexExchange) => void;
  exchange: Promise<DuplexExchange>;
} {
  let resolve!: (e: DuplexExchange) => void;
  const exchange = new Promise<DuplexExchange>((r) => {
    resolve = r;
  });
  return { handler: (e) => resolve(e), exchange };
}

describe("review: a body unpiped from a splice reads on (the splice's outstanding read is released)", () => {
  /** An echo spliced with `{ end: false }` whose client reads nothing: the splice has paused the wire. */
  async function stalledSplice(): Promise<{ exchange: DuplexExchange; client: StallingUploader }> {
    const { handler, exchange: gotExchange } = exchangeHandle();
    const { port } = await serve((e) => {
      e.body.pipe(e.respond(200), { end: false });
      handler(e);
    });
    const client = new StallingUploader(port);
    const exchange = await gotExchange;
    await untilStalled(() => exchange.socket as Socket);
    return { exchange, client };
  }

  it('a body unpiped while the splice waits on backpressure can still be read to its end', async () => {
    const { exchange, client } = await stalledSplice();
    try {
      exchange.body.unpipe();
      // From here the body is read the ordinary way; the client reads and finishes its upload.
      const rest = collect(exchange.body).then((b) => b.length);
      client.read();
      client.finish();
      const result = await within(rest, BOUND_MS, 'hung' as const);
      expect(result).not.toBe('hung');
    } finally {
      client.close();
    }
  });

  // Fails before this change too: exchange.drain() only adds a 'data' listener, which does not
  // resume a body explicitly paused (unpipe() pauses). With the splice, resume() would not help
  // either: the Readable's state.reading, set by the splice's first _read, blocks every _read.
  it('an unread body left after unpipe() is drained once the handler is done, freeing the connection', async () => {
    const { exchange, client } = await stalledSplice();
    try {
      // Stop echoing and end the response; the handler has returned, so the exchange must drain
      // the rest of the body (or close past maxDrainBytes) — either way, the exchange settles.
      exchange.body.unpipe();
      exchange.response!.end();
      client.read();
      client.finish();
      const settled = exchange.done.then(
        () => 'settled',
        () => 'settled',
      );
      expect(await within(settled, BOUND_MS, 'hung')).toBe('settled');
    } finally {
      client.close();
    }
  });
});

describe('review: a spliced body still behaves as a piped Readable', () => {
  it("'data' listeners added after pipe(response) see every byte, as with any pipe", async () => {
    let counted!: Promise<number>;
    const { port } = await serve((exchange) => {
      exchange.body.pipe(exchange.respond(200));
      counted = new Promise((resolve) => {
        let n = 0;
        exchange.body.on('data', (chunk: Uint8Array) => {
          n += chunk.length;
        });
        exchange.body.on('end', () => resolve(n));
      });
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    expect((await untilChunkedBody(client)).toString()).toBe('hello');
    expect(await within(counted, BOUND_MS, -1)).toBe(5);
    client.close();
  });

  it('a second destination piped after the response gets every byte too (tee)', async () => {
    let copy!: Promise<string>;
    const { port } = await serve((exchange) => {
      exchange.body.pipe(exchange.respond(200));
      const mirror = new PassThrough();
      exchange.body.pipe(mirror);
      copy = collect(mirror).then((b) => b.toString());
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    expect((await untilChunkedBody(client)).toString()).toBe('hello');
    expect(await within(copy, BOUND_MS, 'hung')).toBe('hello');
    client.close();
  });

  it("emits 'unpipe' on the response when a { end: false } splice finishes, as Readable.pipe does", async () => {
    const { port } = await serve(async (exchange) => {
      const response = exchange.respond(200);
      exchange.body.pipe(response, { end: false });
      const unpiped = once(response, 'unpipe').then(() => 'unpipe');
      const result = await within(unpiped, BOUND_MS, 'no unpipe');
      response.end(`|${result}`);
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    expect((await untilChunkedBody(client)).toString()).toBe('hello|unpipe');
    client.close();
  });

  it('pause() on a piped body stops the flow until resume(), as with any pipe', async () => {
    let exchange!: DuplexExchange;
    const { port } = await serve((e) => {
      exchange = e;
      e.body.pipe(e.respond(200));
      e.body.pause();
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await client.until((t) => t.includes('\r\n\r\n'));
    await sleep(100);
    const whilePaused = client.text().slice(client.text().indexOf('\r\n\r\n') + 4);
    exchange.body.resume();
    client.write('0\r\n\r\n');
    expect((await untilChunkedBody(client)).toString()).toBe('hello');
    expect(whilePaused).toBe('');
    client.close();
  });

  it('pipe() after a partial read() splices the rest with no byte lost or repeated', async () => {
    const { port } = await serve(async (exchange) => {
      const body = exchange.body;
      const response = exchange.respond(200);
      let first: Buffer | null = null;
      while (first === null) {
        await once(body, 'readable');
        first = body.read(3) as Buffer | null;
      }
      response.write(first);
      body.pipe(response);
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await client.until((t) => t.includes('abc'));
    client.write('3\r\ndef\r\n');
    await tick();
    client.write('2\r\ngh\r\n0\r\n\r\n');
    expect((await untilChunkedBody(client)).toString()).toBe('abcdefgh');
    client.close();
  });
});

describe('review: OutgoingBody calls back a held write when destroyed', () => {
  it('a write held on backpressure is called back (with an error) when the client goes away', async () => {
    // Boxed: a promise resolved with a promise would wait for it.
    let resolveHeld!: (box: { callback: Promise<string> }) => void;
    const held = new Promise<{ callback: Promise<string> }>((resolve) => {
      resolveHeld = resolve;
    });
    const { port } = await serve(async (exchange) => {
      const response = exchange.respond(200);
      const block = Buffer.alloc(1 << 20, 0x61);
      for (let i = 0; i < 512; i++) {
        const called = new Promise<unknown>((resolve) => response.write(block, resolve));
        if ((await within(called, 300, 'held')) === 'held') {
          resolveHeld({
            callback: called.then((error) => (error ? 'called back with an error' : 'called back')),
          });
          return;
        }
      }
    });
    const client = await rawClient(port);
    client.socket.pause(); // never reads the response
    client.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const { callback } = await held;
    client.close();
    expect(await within(callback, BOUND_MS, 'never called back')).toBe('called back with an error');
  });
});

describe('review: bodies read lazily still complete when nobody reads them', () => {
  it('a handler that answers and awaits exchange.done without reading a small body is not deadlocked', async () => {
    let outcome!: Promise<string>;
    const { port } = await serve(async (exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
      outcome = within(
        exchange.done.then(
          () => 'done',
          () => 'rejected',
        ),
        BOUND_MS,
        'pending',
      );
      await outcome;
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    await client.until((t) => t.endsWith('ok'));
    expect(await outcome).toBe('done');
    client.close();
  });

  it('a body the handler paused and never read is drained after the response: the next pipelined request is served', async () => {
    const { port } = await serve((exchange) => {
      if (exchange.request.method === 'POST') exchange.body.pause();
      exchange.respond(200, { 'Content-Length': 2 }).end('ok');
    });
    const client = await rawClient(port);
    client.write(
      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const both = client
      .until((t) => t.split('HTTP/1.1 200').length === 3 && t.endsWith('ok'))
      .then(() => 'both answered', String);
    expect(await within(both, BOUND_MS, 'second request never answered')).toBe('both answered');
    client.close();
  });

  it('client: a response whose small body is not read still completes, and the connection closes', async () => {
    const { port } = await serve((exchange) => {
      exchange.respond(200, { 'Content-Length': 2 }).end('hi');
    });
    const exchange = request(`http://127.0.0.1:${port}/`);
    try {
      const response = await exchange.response;
      expect(response.status).toBe(200);
      const closed = once(exchange.socket, 'close').then(() => 'closed');
      expect(await within(closed, BOUND_MS, 'still open')).toBe('closed');
      expect(response.body.complete).toBe(true);
    } finally {
      exchange.destroy();
    }
  });
});

describe('review: corner cases pinned (correct today)', () => {
  it('zero-length writes between spliced and direct writes never end a chunked body early', async () => {
    const { port } = await serve(async (exchange) => {
      const response = exchange.respond(200);
      response.write('');
      response.write(Buffer.alloc(0));
      response.write('<');
      exchange.body.pipe(response, { end: false });
      response.write(new Uint8Array(0));
      await once(exchange.body, 'end');
      response.write('');
      response.end('>');
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody');
    const text = await client.until((t) => t.endsWith('0\r\n\r\n'));
    const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
    // Exactly one last-chunk, at the very end.
    expect(payload.indexOf('\r\n0\r\n\r\n')).toBe(payload.length - 7);
    expect(chunkedBody(client.received)!.toString()).toBe('<body>');
    client.close();
  });

  it('cork() by the user mid-splice: what is written while corked keeps its place among the spliced bytes', async () => {
    let exchange!: DuplexExchange;
    const { port } = await serve(async (e) => {
      exchange = e;
      const response = e.respond(200);
      response.write('<');
      e.body.pipe(response, { end: false });
      await once(e.body, 'end');
      response.end('>');
    });
    const client = await rawClient(port);
    client.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await client.until((t) => t.includes('abc'));
    const response = exchange.response!;
    response.cork();
    response.write('|');
    client.write('3\r\ndef\r\n');
    await sleep(50);
    response.uncork();
    client.write('0\r\n\r\n');
    expect((await untilChunkedBody(client)).toString()).toBe('<abc|def>');
    client.close();
  });

  it("keep-alive: responses held on backpressure leave no 'drain'/'close' listener behind on the socket", async () => {
    const size = 16 << 20;
    const counts: number[] = [];
    let heldSeen = 0;
    const { port } = await serve(async (exchange) => {
      const socket = exchange.socket;
      const base = socket.listenerCount('drain');
      counts.push(base + socket.listenerCount('close'));
      const response = exchange.respond(200, { 'Content-Length': size });
      const block = Buffer.alloc(1 << 20, 0x62);
      for (let sent = 0; sent < size; sent += block.length) {
        if (!response.write(block)) {
          const drained = once(response, 'drain');
          await tick();
          if (socket.listenerCount('drain') > base) heldSeen++;
          await drained;
        }
      }
      response.end();
    });
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => {});
    try {
      await once(socket, 'connect');
      for (let i = 0; i < 4; i++) {
        let head = Buffer.alloc(0);
        let body = -1;
        const done = new Promise<void>((resolve) => {
          const onData = (chunk: Buffer): void => {
            if (body < 0) {
              head = Buffer.concat([head, chunk]);
              const end = head.indexOf('\r\n\r\n');
              if (end === -1) return;
              body = head.length - end - 4;
            } else body += chunk.length;
            if (body >= size) {
              socket.off('data', onData);
              resolve();
            }
          };
          socket.on('data', onData);
        });
        socket.pause(); // read late, so that the response is held at least once
        socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
        await sleep(100);
        socket.resume();
        await done;
      }
      // The held path ran (the body listened to the socket), and the same count at the start of
      // every exchange: nothing accumulates.
      expect(heldSeen).toBeGreaterThan(0);
      expect(counts).toHaveLength(4);
      expect(new Set(counts).size).toBe(1);
    } finally {
      socket.destroy();
    }
  });

  it('TLS: a large spliced echo under backpressure arrives whole and in order', async () => {
    const { key, cert } = selfSignedCertificate();
    const { port } = await serve((exchange) => void exchange.body.pipe(exchange.respond(200)), {
      tls: { key, cert },
    });
    const client = request(`https://127.0.0.1:${port}/`, {
      method: 'POST',
      tls: { ca: cert },
    });
    const sent: Buffer[] = [];
    for (let i = 0; i < 96; i++) sent.push(Buffer.alloc(37 * 1024 + i, i));
    const pump = (async () => {
      for (const block of sent) {
        if (!client.body.write(block)) await once(client.body, 'drain');
      }
      client.body.end();
    })();
    const response = await client.response;
    // Read slowly at first so the server's splice meets a full TLS socket.
    await sleep(200);
    const echoed = await collect(response.body);
    await pump;
    expect(echoed.equals(Buffer.concat(sent))).toBe(true);
  });
});
