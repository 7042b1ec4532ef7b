// Test plumbing shared by the duplex tests: real loopback sockets, real peers, nothing mocked.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkedDecoder, encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import {
  createServer,
  type DuplexExchange,
  type H1Server,
  type Handler,
  type ServerOptions,
} from '@h1kit/duplex';
import { afterEach, assert } from 'vitest';
import { BOUND_MS, inTime } from '../../../testkit/bounded.js';

export { BOUND_MS, inTime, within } from '../../../testkit/bounded.js';

/**
 * True once `check()` holds, false if it has not within `ms`. Polls every millisecond or so (I/O
 * goes on between the polls): for a state that has no event of its own.
 */
export async function holdsWithin(check: () => boolean, ms = BOUND_MS): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return true;
}

/** Long received texts in failure messages: the start and the end. */
function preview(text: string): string {
  return JSON.stringify(text.length <= 400 ? text : `${text.slice(0, 200)}…${text.slice(-200)}`);
}

export async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/**
 * Closes a node:http server and every connection it still tracks. A connection the code under
 * test took and never let go keeps the server open: that fails, naming the wait, instead of hanging.
 */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await inTime(
    new Promise<void>((resolve) => server.close(() => resolve())),
    'the close of the node:http server (every connection gone)',
  );
}

/** `server.close({ force: true })`, failing the test if a connection outlives it. */
export function forceClose(server: H1Server): Promise<void> {
  return inTime(server.close({ force: true }), 'close({ force: true }) of the h1kit server');
}

/** A raw TCP client that records everything it receives. */
export class RawClient {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  ended = false;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  async connected(): Promise<this> {
    if (this.socket.connecting) await once(this.socket, 'connect');
    return this;
  }

  write(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  text(): string {
    return this.received.toString('latin1');
  }

  /**
   * Resolves once the received text satisfies `test`. Rejects, saying what it waited for and what
   * had arrived, when the peer closes first or when `ms` pass without it: never a hang.
   */
  async until(
    test: (text: string) => boolean,
    what = 'expected bytes',
    ms = BOUND_MS,
  ): Promise<string> {
    const deadline = performance.now() + ms;
    for (;;) {
      const text = this.text();
      if (test(text)) return text;
      if (this.ended) throw new Error(`connection ended before ${what}; got ${preview(text)}`);
      const left = deadline - performance.now();
      if (left <= 0 || !(await this.woken(left))) {
        assert.fail(`${what} did not come within ${ms} ms; got ${preview(text)}`);
      }
    }
  }

  /** Everything received once the peer ended the connection; fails if it has not within `ms`. */
  async untilEnd(ms = BOUND_MS): Promise<string> {
    await this.until(() => this.ended, 'the end of the connection', ms);
    return this.text();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** True when bytes or the end arrived, false when `ms` passed first. */
  private woken(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, ms);
      this.waiters.push(waiter);
    });
  }
}

export async function rawClient(port: number): Promise<RawClient> {
  return new RawClient(port).connected();
}

/** 'closed' once the peer ended the connection, 'open' if it has not within `ms`. */
export function closedWithin(client: RawClient, ms = BOUND_MS): Promise<'closed' | 'open'> {
  return client.untilEnd(ms).then(
    () => 'closed' as const,
    () => 'open' as const,
  );
}

/** A self-signed certificate for 127.0.0.1 made with openssl for this test run. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'h1kit-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The status lines found in a response stream, in order (bodies here never contain one). */
export function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.[01] \d{3}[^\r]*/g) ?? [];
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Standalone h1kit servers for one test file: `serve()` starts one on a free port, and every one
 * started is force-closed after each test.
 */
export function standaloneServers(): (
  handler: Handler,
  options?: ServerOptions,
) => Promise<{ server: H1Server; port: number }> {
  const servers: H1Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(forceClose));
  });
  return async (handler, options = {}) => {
    const server = createServer(handler, options);
    servers.push(server);
    const { port } = await inTime(server.listen(), 'listen() of the h1kit server');
    return { server, port };
  };
}

/** A promise and the function that resolves it, for an event the test awaits (Node 20 lacks Promise.withResolvers). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** The decoded body of a chunked response in `bytes`, or undefined while it is incomplete. */
export function chunkedBody(bytes: Buffer): Buffer | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const result = new ChunkedDecoder().push(bytes.subarray(end + 4));
  return result.done ? Buffer.concat(result.data) : undefined;
}

/** Waits for the whole chunked response body on `client` and returns it decoded. */
export async function untilChunkedBody(client: RawClient): Promise<Buffer> {
  let body: Buffer | undefined;
  await client.until(() => {
    body = chunkedBody(client.received);
    return body !== undefined;
  }, 'the whole response body');
  return body!;
}

/** A POST request carrying `parts` as its body: chunked (with `trailers`) or Content-Length. */
export function requestWire(
  parts: Uint8Array[],
  chunked: boolean,
  trailers: Array<[string, string]> = [],
): { wire: Buffer; body: Buffer } {
  const body = Buffer.concat(parts);
  if (!chunked) {
    const head = `POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`;
    return { wire: Buffer.concat([Buffer.from(head), body]), body };
  }
  const pieces: Uint8Array[] = [
    Buffer.from('POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'),
  ];
  for (const part of parts) pieces.push(...encodeChunk(part));
  pieces.push(encodeLastChunk(trailers));
  return { wire: Buffer.concat(pieces), body };
}

/** A handler that hands its exchange to the test. */
export function exchangeHandle(): {
  handler: (e: DuplexExchange) => void;
  exchange: Promise<DuplexExchange>;
} {
  let resolve!: (e: DuplexExchange) => void;
  const exchange = new Promise<DuplexExchange>((r) => {
    resolve = r;
  });
  return { handler: (e) => resolve(e), exchange };
}

/**
 * An uploader that does not read what the server sends back: it pumps a chunked request body of
 * 64 KiB chunks until told to `finish()`, then sends the last-chunk. Counts what it receives once
 * `read()` is called.
 */
export class StallingUploader {
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

/**
 * Waits until the server stopped reading from `socket` (bytesRead stable for 150 ms); fails the
 * test if it still reads after `ms`, which means nothing held the upload back.
 */
export async function untilStalled(socket: () => Socket, ms = BOUND_MS): Promise<void> {
  const deadline = performance.now() + ms;
  let last = -1;
  for (;;) {
    const now = socket().bytesRead;
    if (now === last && now > 0) return;
    if (performance.now() > deadline) {
      assert.fail(`the server still read the upload after ${ms} ms (${now} bytes so far)`);
    }
    last = now;
    await sleep(150);
  }
}

/**
 * node:http servers for one test file: `httpServer()` creates one (with `listener` for
 * 'request'), and every one created is closed, connections and all, after each test.
 */
export function httpServers(): (listener?: RequestListener) => Server {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });
  return (listener) => {
    const server = listener ? createHttpServer(listener) : createHttpServer();
    servers.push(server);
    return server;
  };
}

/**
 * The text a stream yields (strings, or bytes read as latin1), read piece by piece with every
 * wait bounded: a stream that stalls or ends too soon fails the test, saying what was awaited.
 */
export class TextReader {
  text = '';
  private readonly pieces: AsyncIterator<unknown>;

  constructor(stream: AsyncIterable<unknown>) {
    this.pieces = stream[Symbol.asyncIterator]();
  }

  /** Reads until the text includes `wanted`; returns all of it. */
  async until(wanted: string, ms = BOUND_MS): Promise<string> {
    while (!this.text.includes(wanted)) {
      if (await this.next(`${JSON.stringify(wanted)}`, ms)) {
        assert.fail(`the stream ended before ${JSON.stringify(wanted)}; got ${preview(this.text)}`);
      }
    }
    return this.text;
  }

  /** Reads to the end of the stream; returns all of it. */
  async end(ms = BOUND_MS): Promise<string> {
    while (!(await this.next('the end of the stream', ms)));
    return this.text;
  }

  /** Reads one piece; true at the end of the stream. */
  private async next(what: string, ms: number): Promise<boolean> {
    const next = await inTime(this.pieces.next(), `${what} (after ${preview(this.text)})`, ms);
    if (next.done) return true;
    const piece = next.value;
    this.text +=
      typeof piece === 'string' ? piece : Buffer.from(piece as Uint8Array).toString('latin1');
    return false;
  }
}
