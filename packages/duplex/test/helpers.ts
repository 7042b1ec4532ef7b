// Test plumbing shared by the duplex tests: real loopback sockets, real peers, nothing mocked.
import { createHook } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { ChunkedDecoder, encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import {
  createServer,
  type DuplexExchange,
  enableHijack,
  type H1Server,
  type Handler,
  type HijackedExchangeOptions,
  type ServerOptions,
} from '@h1kit/duplex';
import { afterAll, afterEach, assert, beforeAll, beforeEach } from 'vitest';
import { BOUND_MS, inTime, within } from '../../../testkit/bounded.js';

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

// ---------------------------------------------------------------------------------------------
// Fault and hostile-peer plumbing (faults.test.ts, hostile-peers.test.ts): a guard that fails a
// test leaving an unhandled error or a resource behind, both server paths behind one `start`, and
// an oracle for what a client received.

/** Live handles by type, as `process.getActiveResourcesInfo()` names them (ref'd timers only). */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo())
    counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** The types whose count rose above `before`, as `Type: before -> now`. */
export function resourcesAbove(before: Map<string, number>): string[] {
  const above: string[] = [];
  for (const [type, count] of activeResources()) {
    const was = before.get(type) ?? 0;
    if (count > was) above.push(`${type}: ${was} -> ${count}`);
  }
  return above;
}

/** What `faultGuard()` gives a test file. */
export interface FaultGuard {
  /** A raw client; destroyed after the test should the test not have closed it. */
  client(port: number): Promise<RawClient>;
  /** Runs `cleanup` after the test, before the resource check (last registered, first run). */
  onCleanup(cleanup: () => unknown): void;
  /** Unhandled rejections and uncaught exceptions seen during the current test. */
  readonly faults: unknown[];
}

/** A Timeout with the internals that say whether it is still pending. */
type TimerInternals = { _destroyed?: boolean; _onTimeout?: unknown; _idleTimeout?: number };

/**
 * Where a timer was made: the first stack frame outside Node's timers and this hook, or
 * undefined when that frame is vitest's own (its hook and test timeouts).
 */
function timerOrigin(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 20;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const frames = stack.split('\n').slice(1);
  const caller = frames.find(
    (frame) => !/\(node:|at node:|timerOrigin|[\\/]test[\\/]helpers\.ts/.test(frame),
  );
  if (caller === undefined || /node_modules[\\/](\.pnpm[\\/])?(@vitest|vitest)/.test(caller)) {
    return undefined;
  }
  return caller.trim();
}

/** Process events whose listeners a test must not leave behind. */
const PROCESS_EVENTS = ['exit', 'beforeExit', 'warning', 'SIGINT', 'SIGTERM'] as const;

/**
 * For a file of fault tests: records every 'unhandledRejection' and 'uncaughtException' of the
 * process, and after each test (its clients destroyed, its servers closed through `onCleanup`)
 * fails it if one was recorded, or if something outlived it: a socket or server (counted by type
 * with `process.getActiveResourcesInfo()`), a timer made during the test and still pending, ref'd
 * or not (tracked with async_hooks, since unref'd timers are not counted there), or a listener
 * left on `process`. Resources go away asynchronously and nothing emits an event once the last
 * one has: the check polls, bounded by BOUND_MS.
 */
export function faultGuard(): FaultGuard {
  const faults: unknown[] = [];
  const clients: RawClient[] = [];
  const cleanups: Array<() => unknown> = [];
  const record = (error: unknown): void => {
    faults.push(error);
  };
  const timers = new Map<number, { timer: TimerInternals; origin: string }>();
  let tracking = false;
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (!tracking || type !== 'Timeout') return;
      const origin = timerOrigin();
      if (origin !== undefined) timers.set(id, { timer: resource as TimerInternals, origin });
    },
    destroy(id) {
      timers.delete(id);
    },
  });
  const pendingTimers = (): string[] =>
    [...timers.values()]
      .filter(
        ({ timer }) => !timer._destroyed && timer._onTimeout != null && timer._idleTimeout !== -1,
      )
      .map(({ timer, origin }) => `Timeout of ${timer._idleTimeout} ms made ${origin}`);
  const listenerCounts = (): string =>
    PROCESS_EVENTS.map((event) => `${event}: ${process.listenerCount(event)}`).join(', ');
  const leftOver = (before: Map<string, number>, listeners: string): string[] => {
    const now = listenerCounts();
    return [
      ...resourcesAbove(before),
      ...pendingTimers(),
      ...(now === listeners ? [] : [`process listeners ${listeners} -> ${now}`]),
    ];
  };
  let before = new Map<string, number>();
  let listeners = '';
  beforeAll(() => {
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    hook.enable();
  });
  afterAll(() => {
    hook.disable();
    process.off('unhandledRejection', record);
    process.off('uncaughtException', record);
  });
  beforeEach(() => {
    faults.length = 0;
    timers.clear();
    before = activeResources();
    listeners = listenerCounts();
    tracking = true;
  });
  afterEach(async () => {
    try {
      for (const client of clients.splice(0)) client.close();
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      // A rejection left unhandled is reported after the microtasks of its turn: let a turn pass.
      await tick();
      tracking = false;
      const gone = await holdsWithin(() => leftOver(before, listeners).length === 0);
      assert.deepEqual(faults, [], 'no unhandled rejection and no uncaught exception');
      assert.ok(gone, `outlived the test: ${leftOver(before, listeners).join('; ')}`);
    } finally {
      tracking = false;
    }
  });
  return {
    faults,
    async client(port) {
      const client = new RawClient(port);
      clients.push(client);
      return client.connected();
    },
    onCleanup(cleanup) {
      cleanups.push(cleanup);
    },
  };
}

/** One server for a test, on either path. */
export interface PathServer {
  port: number;
  /**
   * The server's close: `createServer`'s `close()`, or for the hijack node:http's `close()` with
   * the control's `close()`; `force` cuts the exchanges in flight. Resolves once every
   * connection is gone.
   */
  close(options?: { force?: boolean }): Promise<void>;
  /** What `onError` was told (a handler that failed). */
  errors: Error[];
  /** The server-side sockets, in the order they were accepted (TLS sockets once secure). */
  sockets: Socket[];
  /** The server-side TCP sockets as accepted, before any TLS handshake (the same as `sockets` without TLS). */
  tcpSockets: Socket[];
}

/** What to start a path's server with; each path takes the part meant for it. */
export interface PathOptions {
  /** `createServer`'s options (its `onError` is the path's own). */
  standalone?: ServerOptions;
  /** The node:http server's options, on the hijack path. */
  http?: HttpServerOptions;
  /** `hijacked.exchange()`'s options, on the hijack path. */
  exchange?: HijackedExchangeOptions;
  /** Serve TLS with these options (key, cert, ...): `tls` of createServer, or https.createServer. */
  tls?: TlsOptions;
}

export type StartServer = (handler: Handler, options?: PathOptions) => Promise<PathServer>;

/**
 * The two ways in, for `describe.each`: the standalone `createServer`, and
 * `enableHijack(nodeServer, () => true, (h) => handler(h.exchange()))`. Every server started is
 * closed after the test through `guard.onCleanup`: gracefully, which must finish within the
 * bound with the test's clients gone (a connection the server never lets go fails the test), and
 * then by force.
 */
export function serverPaths(
  guard: FaultGuard,
): Array<['createServer' | 'enableHijack', StartServer]> {
  const track = (server: PathServer): void => {
    guard.onCleanup(async () => {
      const closed = await within(server.close(), BOUND_MS, 'late' as const);
      if (closed === 'late') {
        const open = server.tcpSockets.filter((socket) => !socket.closed).length;
        // Failed already: what the server kept is let go here, so later tests start clean.
        for (const socket of server.tcpSockets) socket.destroy();
        await within(server.close({ force: true }), BOUND_MS, 'late' as const);
        assert.fail(
          `the server kept ${open} connection(s) after the test and its clients were gone: its close() did not resolve`,
        );
      }
    });
  };
  const standalone: StartServer = async (handler, options = {}) => {
    const errors: Error[] = [];
    const sockets: Socket[] = [];
    const tcpSockets: Socket[] = [];
    const server = createServer(handler, {
      onError: (error) => errors.push(error),
      ...options.standalone,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    server.on('connection', (socket: Socket) => sockets.push(socket));
    server.server.on('connection', (socket: Socket) => tcpSockets.push(socket));
    const { port } = await inTime(server.listen(), 'listen() of the h1kit server');
    const served: PathServer = {
      port,
      errors,
      sockets,
      tcpSockets,
      close: (close) => server.close({ force: close?.force === true }),
    };
    track(served);
    return served;
  };
  const hijacked: StartServer = async (handler, options = {}) => {
    const errors: Error[] = [];
    const sockets: Socket[] = [];
    const tcpSockets: Socket[] = [];
    const httpOptions = options.http ?? {};
    const server: Server = options.tls
      ? createHttpsServer({ ...httpOptions, ...options.tls })
      : createHttpServer(httpOptions);
    server.on('request', (_req, res) => res.end('node:http'));
    server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) =>
      sockets.push(socket),
    );
    server.on('connection', (socket: Socket) => {
      if (options.tls) tcpSockets.push(socket);
    });
    const control = enableHijack(
      server,
      () => true,
      (request) => handler(request.exchange(options.exchange)),
      { onError: (error) => errors.push(error) },
    );
    const port = await listen(server);
    const served: PathServer = {
      port,
      errors,
      sockets,
      tcpSockets: options.tls ? tcpSockets : sockets,
      close: async (close) => {
        const force = close?.force === true;
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        if (force) server.closeAllConnections();
        await Promise.all([control.close({ force }), httpClosed]);
      },
    };
    track(served);
    return served;
  };
  return [
    ['createServer', standalone],
    ['enableHijack', hijacked],
  ];
}

/** One response as a client reads it off the wire. */
export interface WireResponse {
  status: number;
  /** The head, status line to the empty line. */
  head: string;
  /** The body as framed (decoded when chunked), as far as it arrived. */
  body: Buffer;
  /** How its end is known: Content-Length, the last-chunk, no body, or the close (unframed). */
  framing: 'length' | 'chunked' | 'none' | 'close';
  /** Its framing is satisfied (for `close`: the bytes up to the end of what was received). */
  complete: boolean;
}

/**
 * What a client received, judged as RFC 9112 section 6.3 frames it:
 * - `empty`: nothing;
 * - `whole`: one or more responses, each complete by its Content-Length or last-chunk;
 * - `cut`: the last response stops before its framing is satisfied (visibly incomplete);
 * - `unframed`: the last response is delimited by the close only, so wholeness is not visible;
 * - `malformed`: bytes that are no response.
 */
export type Verdict = 'empty' | 'whole' | 'cut' | 'unframed' | 'malformed';

/** Reads every response in `received`; `verdict` says how the stream ends (see `Verdict`). */
export function responsesIn(received: Uint8Array): {
  responses: WireResponse[];
  verdict: Verdict;
} {
  const bytes = Buffer.from(received.buffer, received.byteOffset, received.byteLength);
  const responses: WireResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at, 'latin1');
    const head = bytes.toString('latin1', at, end === -1 ? bytes.length : end + 4);
    const status = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(head);
    if (end === -1) {
      const prefix = 'HTTP/1.1 '.slice(0, head.length);
      const plausible = head.startsWith(prefix) || status !== null;
      return { responses, verdict: plausible ? 'cut' : 'malformed' };
    }
    if (status === null) return { responses, verdict: 'malformed' };
    const code = Number(status[1]);
    const fields = head.toLowerCase();
    const length = /\r\ncontent-length: *(\d+) *\r\n/.exec(fields);
    const chunked = /\r\ntransfer-encoding: *[^\r]*chunked *\r\n/.test(fields);
    at = end + 4;
    if (code < 200 || code === 204 || code === 304) {
      responses.push({
        status: code,
        head,
        body: Buffer.alloc(0),
        framing: 'none',
        complete: true,
      });
    } else if (chunked) {
      let result: ReturnType<ChunkedDecoder['push']>;
      try {
        result = new ChunkedDecoder().push(bytes.subarray(at));
      } catch {
        return { responses, verdict: 'malformed' };
      }
      const body = Buffer.concat(result.data);
      responses.push({ status: code, head, body, framing: 'chunked', complete: result.done });
      if (!result.done) return { responses, verdict: 'cut' };
      at = bytes.length - result.rest.length;
    } else if (length) {
      const size = Number(length[1]);
      const body = bytes.subarray(at, at + size);
      const complete = body.length === size;
      responses.push({ status: code, head, body, framing: 'length', complete });
      if (!complete) return { responses, verdict: 'cut' };
      at += size;
    } else {
      responses.push({
        status: code,
        head,
        body: bytes.subarray(at),
        framing: 'close',
        complete: true,
      });
      return { responses, verdict: 'unframed' };
    }
  }
  return { responses, verdict: responses.length === 0 ? 'empty' : 'whole' };
}

/**
 * `socket` has closed; fails the test, naming `what`, if it has not within the bound. (Not
 * `once(socket, 'close')`, which rejects on the 'error' a reset emits first.)
 */
export async function socketClosed(socket: Socket, what: string, ms = BOUND_MS): Promise<void> {
  if (socket.closed) return;
  await inTime(new Promise<void>((resolve) => socket.once('close', () => resolve())), what, ms);
}

/** What `work` ended with: `done` when it resolved, else what it rejected with. */
export function outcome(work: Promise<unknown>, done: string): Promise<unknown> {
  return work.then(
    () => done,
    (error: unknown) => error,
  );
}
