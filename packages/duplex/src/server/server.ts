import { EventEmitter } from 'node:events';
import {
  type AddressInfo,
  createServer as createNetServer,
  type ListenOptions,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { DEFAULT_HEAD_LIMITS } from '../io/llhttp.js';
import { checkChunkedOptions, checkNumbers } from '../io/options.js';
import { Connection, type Handler } from './connection.js';

export type { Handler } from './connection.js';

/**
 * Options of `createServer(handler, options)`: TLS, limits and timeouts. Each is checked by the
 * constructor (`ERR_H1_INVALID_OPTION`), not at the first request.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createServer, type ServerOptions } from '@h1kit/duplex';
 * const options: ServerOptions = {
 *   tls: { key: readFileSync('key.pem'), cert: readFileSync('cert.pem') },
 *   headTimeout: 10_000, // a slow head is answered 408
 *   readTimeout: 60_000, // the request body within a minute of its head
 *   onError: (error) => console.error('handler failed', error),
 *   onClientError: (error) => console.warn('refused', error.message), // a bad head: 400, 431
 * };
 * createServer((exchange) => {
 *   exchange.body.pipe(exchange.respond(200));
 * }, options);
 * ```
 */
export interface ServerOptions {
  /** Serve TLS with these options (key, cert, ...) instead of plain TCP. */
  tls?: TlsOptions;
  /** Largest request head, in bytes. Default 16384. */
  maxHeadBytes?: number;
  /** Most field lines in a request head. Default 128. */
  maxFields?: number;
  /** Time allowed from the first byte of a request to the end of its head, in ms. Default 30 000. */
  headTimeout?: number;
  /** Time an idle keep-alive connection is kept open between requests, in ms. Default 5 000. */
  idleTimeout?: number;
  /** Limits of the chunked decoder for request bodies. */
  chunked?: ChunkedDecoderOptions;
  /** Send a Date field (RFC 9110 section 6.6.1) with every response that lacks one. Default true. */
  sendDate?: boolean;
  /** Largest response head (or 1xx head) a handler may send, in bytes. Default 16384. */
  maxResponseHeadBytes?: number;
  /**
   * Time allowed for a request body to arrive, in ms from the end of its head (Go's ReadTimeout,
   * less the head). Reading it later fails with ERR_H1_READ_TIMEOUT; a handler that fails with
   * that before responding answers 408. Default 0: none. `exchange.setReadDeadline()` moves it.
   */
  readTimeout?: number;
  /**
   * Time allowed for the whole response, in ms from the end of the request head (Go's
   * WriteTimeout): past it a response not begun is answered 503 and one in progress is cut, with
   * ERR_H1_WRITE_TIMEOUT. Default 0: none, since a full-duplex exchange may last for hours.
   * `exchange.setWriteDeadline()` moves it.
   */
  writeTimeout?: number;
  /** Unread request body bytes discarded after a response before the connection is closed instead. */
  maxDrainBytes?: number;
  /**
   * Told of every handler that throws or rejects (after the client got a 500 when no response had
   * begun, or the exchange was cut), and of a handler whose promise settled without responding.
   */
  onError?: (error: Error) => void;
  /** Called when a request is refused before any handler sees it (bad head, smuggling shape, timeout). */
  onClientError?: (error: Error) => void;
}

/** `listen()`'s arguments: those of `net.Server.listen`, its callback last. */
type ListenArgs = Parameters<NetServer['listen']>;

const defaults = { ...DEFAULT_HEAD_LIMITS, headTimeout: 30_000, idleTimeout: 5_000 };

/**
 * A standalone HTTP/1.1 server built from the h1kit parts: heads parsed by llhttp, bodies by the
 * chunked decoder, heads written by the serializer. Every request becomes a `DuplexExchange`
 * whose request body can be read while the response is written. No timeout cuts an active
 * exchange unless given one (readTimeout, writeTimeout); a slow head and an idle keep-alive
 * connection are timed. Unusable options throw `H1Error` here, not at the first request. It keeps `net.Server`'s
 * conventions: `listen()` in all its forms, `address()`, and the 'listening', 'connection',
 * 'error' and 'close' events, and it works under `node:cluster` as any `net.Server` does.
 *
 * @example
 * ```ts
 * import { H1Server } from '@h1kit/duplex';
 * const server = new H1Server(
 *   (exchange) => {
 *     exchange.respond(204).end();
 *   },
 *   { idleTimeout: 10_000 },
 * );
 * server.on('error', (error) => console.error(error));
 * const { port } = await server.listen(0, '127.0.0.1'); // 0: a free port
 * await server.close(); // exchanges in progress finish; close({ force: true }) cuts them
 * ```
 */
export class H1Server extends EventEmitter {
  /** The underlying net or tls server (for `ref()`, `unref()`, `maxConnections` and the like). */
  readonly server: NetServer;
  private readonly live = new Set<Connection>();
  /** TLS only: accepted sockets whose handshake has not finished (they are not connections yet). */
  private readonly handshaking = new Set<Socket>();
  private closing = false;

  constructor(handler: Handler, options: ServerOptions = {}) {
    super();
    checkNumbers(options, [
      'headTimeout',
      'idleTimeout',
      'readTimeout',
      'writeTimeout',
      'maxDrainBytes',
    ]);
    checkNumbers(options, ['maxHeadBytes', 'maxFields', 'maxResponseHeadBytes'], 1);
    checkChunkedOptions(options.chunked);
    const settings = { ...defaults, ...options };
    const host = {
      forget: (connection: Connection) => this.live.delete(connection),
      closing: () => this.closing,
    };
    const onSocket = (socket: Socket): void => {
      // The TLS socket wraps the one accepted: its handshake is over.
      const accepted = (socket as Socket & { _parent?: Socket })._parent;
      if (accepted) this.handshaking.delete(accepted);
      // Half-open from here on (a client may end its side after its request): during the
      // handshake a peer that ended its side would have held the socket until the timeout.
      socket.allowHalfOpen = true;
      if (this.closing) {
        socket.destroy();
        return;
      }
      try {
        this.live.add(new Connection(socket, handler, settings, host));
      } catch (error) {
        // A line without llhttp's binding serves nothing: said once per connection, loudly.
        socket.destroy();
        this.emit('error', error);
      }
    };
    this.server = options.tls
      ? createTlsServer({ ...options.tls, allowHalfOpen: false }, onSocket)
      : createNetServer({ allowHalfOpen: true }, onSocket);
    if (options.tls) {
      // A handshake that fails or never finishes would hold its socket (and close()) for good:
      // node:https ends those itself; a bare tls.Server only says so.
      this.server.on('tlsClientError', (_error: Error, socket: Socket) => socket.destroy());
      this.server.on('connection', (socket: Socket) => {
        this.handshaking.add(socket);
        socket.once('close', () => this.handshaking.delete(socket));
      });
    }
    const connectionEvent = options.tls ? 'secureConnection' : 'connection';
    this.server.on(connectionEvent, (socket: Socket) => this.emit('connection', socket));
    this.server.on('listening', () => this.emit('listening'));
    this.server.on('close', () => this.emit('close'));
    // As net.Server does: an 'error' nobody listens for throws, unless a listen() promise takes it.
    this.server.on('error', (error) => {
      if (!this.listenTakes(error)) this.emit('error', error);
    });
  }

  /** Connections currently open (TLS: those past their handshake). */
  get connections(): number {
    return this.live.size;
  }

  /**
   * Starts listening, with `net.Server.listen`'s arguments (port and host, an options object, a
   * Unix socket path, a callback); with none, on a free port of 127.0.0.1. Resolves with
   * `address()` once listening; rejects if listening fails (with an 'error' listener, that
   * listener hears it too).
   *
   * @example
   * ```ts
   * const server = createServer((exchange) => {
   *   exchange.respond(204).end();
   * });
   * const { port } = await server.listen(); // a free port of 127.0.0.1
   * await server.listen(8080, '0.0.0.0').catch((error) => console.error(error.code)); // EADDRINUSE
   * ```
   */
  listen(): Promise<AddressInfo>;
  listen(
    port: number,
    host?: string,
    backlog?: number,
    callback?: () => void,
  ): Promise<AddressInfo>;
  listen(port: number, host: string, callback?: () => void): Promise<AddressInfo>;
  listen(port: number, callback?: () => void): Promise<AddressInfo>;
  listen(path: string, backlog?: number, callback?: () => void): Promise<string>;
  listen(options: ListenOptions, callback?: () => void): Promise<AddressInfo | string>;
  listen(...args: unknown[]): Promise<AddressInfo | string> {
    let resolve!: (address: AddressInfo | string) => void;
    let reject!: (error: Error) => void;
    const listening = new Promise<AddressInfo | string>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const onError = (error: Error): void => {
      this.pendingListens.delete(onError);
      this.server.off('listening', onListening);
      // With an 'error' listener the error is theirs, awaited or not; without one, a promise
      // nobody awaits rejects unhandled: as loud as net.Server's throw.
      if (this.listenerCount('error') > 0) {
        listening.catch(() => {});
        this.emit('error', error);
      }
      reject(error);
    };
    const onListening = (): void => {
      this.pendingListens.delete(onError);
      resolve(this.server.address() as AddressInfo | string);
    };
    this.pendingListens.add(onError);
    this.server.once('listening', onListening);
    const forwarded = (args.length === 0 ? [0, '127.0.0.1'] : args) as ListenArgs;
    this.server.listen(...forwarded);
    return listening;
  }

  /** The bound address, as `net.Server.address()`: null before listening. */
  address(): AddressInfo | string | null {
    return this.server.address();
  }

  /**
   * Stops accepting connections and closes idle ones; exchanges in progress finish first unless
   * `force`, which destroys every connection. Resolves once every connection is gone; a callback,
   * as `net.Server.close` takes, is called then too. A response begun during the close says
   * `Connection: close`; a request already received pipelined behind a response that promised
   * keep-alive is answered 503, and the connection then closes.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', async () => {
   *   const timer = setTimeout(() => server.close({ force: true }), 10_000); // then cut the rest
   *   await server.close();
   *   clearTimeout(timer);
   * });
   * ```
   */
  close(options?: { force?: boolean } | ((error?: Error) => void)): Promise<void> {
    const force = typeof options === 'object' && options.force === true;
    this.closing = true;
    const closed = new Promise<void>((resolve) =>
      this.server.close((error) => {
        if (typeof options === 'function') options(error);
        resolve();
      }),
    );
    for (const connection of this.live) connection.shutdown(force);
    // A connection still in its TLS handshake has no exchange to finish.
    for (const socket of this.handshaking) socket.destroy();
    return closed;
  }

  private readonly pendingListens = new Set<(error: Error) => void>();

  /** A listen() call waiting on this error takes it: its promise rejects instead. */
  private listenTakes(error: Error): boolean {
    if (this.pendingListens.size === 0) return false;
    for (const reject of [...this.pendingListens]) reject(error);
    return true;
  }
}

/**
 * Creates an `H1Server` (see there) that runs `handler` for every request; unusable options
 * throw `H1Error` here.
 *
 * @example
 * ```ts
 * import { createServer } from '@h1kit/duplex';
 * const server = createServer((exchange) => {
 *   exchange.body.pipe(exchange.respond(200, { 'Content-Type': 'text/plain' }));
 * });
 * const { port } = await server.listen(8080, '127.0.0.1');
 * ```
 */
export function createServer(handler: Handler, options: ServerOptions = {}): H1Server {
  return new H1Server(handler, options);
}
