import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, H1Error, HeaderErrorCode, serializeResponseHead } from '@h1kit/headers';
import { closeGracefully } from './close.js';
import { DuplexErrorCode } from './errors.js';
import { DuplexExchange } from './exchange.js';
import { HeadParser, type ParsedHead } from './llhttp.js';
import { requestFraming, requestHeadOf } from './message.js';
import { Wire, type WireConsumer } from './wire.js';

export type Handler = (exchange: DuplexExchange) => void | Promise<void>;

export interface ServerOptions {
  /** Serve TLS with these options (key, cert, ...) instead of plain TCP. */
  tls?: TlsOptions;
  /** Largest request head, in bytes. Default 16384. */
  maxHeadBytes?: number;
  /** Most field lines in a request head. Default 100. */
  maxFields?: number;
  /** Time allowed from the first byte of a request to the end of its head, in ms. Default 30 000. */
  headTimeout?: number;
  /** Time an idle keep-alive connection is kept open between requests, in ms. Default 5 000. */
  idleTimeout?: number;
  /** Limits of the chunked decoder for request bodies. */
  chunked?: ChunkedDecoderOptions;
  /** Unread request body bytes discarded after a response before the connection is closed instead. */
  maxDrainBytes?: number;
  /** Called with errors no exchange can receive (a failing handler after its response began). */
  onError?: (error: Error) => void;
  /** Called when a request is refused before any handler sees it (bad head, smuggling shape, timeout). */
  onClientError?: (error: Error) => void;
}

export interface H1Server {
  /** Starts listening; resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Stops accepting connections and closes idle ones; exchanges in progress finish first unless
   * `force`, which destroys every connection. Resolves once every connection is gone.
   */
  close(options?: { force?: boolean }): Promise<void>;
  /** Connections currently open. */
  readonly connections: number;
  /** The underlying net or tls server. */
  readonly server: NetServer;
}

const defaults = { maxHeadBytes: 16384, maxFields: 100, headTimeout: 30_000, idleTimeout: 5_000 };

/**
 * A standalone HTTP/1.1 server built from the h1kit parts: heads parsed by llhttp, bodies by the
 * chunked decoder, heads written by the serializer. Every request becomes a `DuplexExchange`
 * whose request body can be read while the response is written. No timeout ever cuts an active
 * exchange; only a slow head and an idle keep-alive connection are timed.
 */
export function createServer(handler: Handler, options: ServerOptions = {}): H1Server {
  const settings = { ...defaults, ...options };
  const connections = new Set<Connection>();
  let closing = false;
  const onSocket = (socket: Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    const connection = new Connection(
      socket,
      handler,
      settings,
      () => connections.delete(connection),
      () => closing,
    );
    connections.add(connection);
  };
  const server = options.tls
    ? createTlsServer({ ...options.tls, allowHalfOpen: true }, onSocket)
    : createNetServer({ allowHalfOpen: true }, onSocket);

  return {
    server,
    get connections() {
      return connections.size;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close({ force = false } = {}) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.shutdown(force);
      return closed;
    },
  };
}

type Settings = typeof defaults & ServerOptions;

/** One connection: heads parsed one at a time, each starting an exchange; keep-alive and pipelining. */
class Connection implements WireConsumer {
  private readonly wire: Wire;
  private readonly parser: HeadParser;
  private readonly socket: Socket;
  private exchange: DuplexExchange | undefined;
  private timer: NodeJS.Timeout | undefined;
  private headStarted = false;
  private closed = false;

  constructor(
    socket: Socket,
    private readonly handler: Handler,
    private readonly settings: Settings,
    private readonly forget: () => void,
    private readonly closing: () => boolean,
  ) {
    this.socket = socket;
    socket.setNoDelay(true);
    this.wire = new Wire(socket);
    this.parser = new HeadParser('request', {
      maxHeadBytes: settings.maxHeadBytes,
      maxFields: settings.maxFields,
    });
    socket.once('close', () => this.cleanup());
    // Errors reach the wire's consumer; this listener only keeps an 'error' from being unhandled.
    socket.on('error', () => {});
    this.awaitHead(settings.headTimeout);
  }

  shutdown(force: boolean): void {
    if (force || !this.exchange) this.socket.destroy();
  }

  bytes(chunk: Uint8Array): void {
    if (!this.headStarted) {
      this.headStarted = true;
      this.arm(this.settings.headTimeout, () =>
        this.reject(408, new H1Error(DuplexErrorCode.HEAD_TIMEOUT, 'request head timed out')),
      );
    }
    let used: number;
    try {
      used = this.parser.execute(chunk);
    } catch (error) {
      this.reject(
        error instanceof H1Error &&
          (error.code === HeaderErrorCode.HEADERS_TOO_LARGE ||
            error.code === HeaderErrorCode.TOO_MANY_FIELDS)
          ? 431
          : 400,
        error as Error,
      );
      return;
    }
    if (used === -1) return;
    this.wire.pause();
    this.wire.unshift(chunk.subarray(used));
    this.start(this.parser.head!);
  }

  end(): void {
    // The peer is done sending: between requests that is a clean goodbye.
    if (!this.exchange) this.socket.end();
  }

  abort(): void {
    this.socket.destroy();
  }

  private awaitHead(timeout: number): void {
    this.headStarted = false;
    this.parser.reset();
    this.arm(timeout, () => this.socket.destroy());
    this.wire.attach(this);
  }

  private start(head: ParsedHead): void {
    this.disarm();
    const request = requestHeadOf(head);
    let decided: Framing;
    try {
      decided = requestFraming(request);
    } catch (error) {
      this.reject(400, error as Error);
      return;
    }
    const exchange = new DuplexExchange({
      wire: this.wire,
      request,
      framing: decided,
      keepAlive: head.keepAlive && !this.closing(),
      chunked: this.settings.chunked,
      maxDrainBytes: this.settings.maxDrainBytes,
      onDone: (reuse, rest) => {
        this.exchange = undefined;
        if (!reuse || this.closed) return;
        if (this.closing()) {
          closeGracefully(this.socket);
          return;
        }
        this.wire.unshift(rest);
        this.awaitHead(this.settings.idleTimeout);
      },
    });
    this.exchange = exchange;
    let result: void | Promise<void>;
    try {
      result = this.handler(exchange);
    } catch (error) {
      this.handlerFailed(exchange, error as Error);
      exchange.handlerDone();
      return;
    }
    if (result && typeof result.then === 'function') {
      result.then(
        () => exchange.handlerDone(),
        (error: Error) => {
          this.handlerFailed(exchange, error);
          exchange.handlerDone();
        },
      );
    } else {
      exchange.handlerDone();
    }
  }

  private handlerFailed(exchange: DuplexExchange, error: Error): void {
    if (!exchange.response) {
      try {
        exchange.respond(500, { 'Content-Length': 0, Connection: 'close' }).end();
        return;
      } catch {
        // The exchange is already over; fall through to destroying it.
      }
    }
    this.settings.onError?.(error);
    exchange.destroy(error);
  }

  /** Answers a request that cannot be served (bad head, smuggling shape, timeout) and closes. */
  private reject(status: number, error: Error): void {
    this.disarm();
    this.wire.detach();
    this.settings.onClientError?.(error);
    closeGracefully(
      this.socket,
      serializeResponseHead(status, { 'Content-Length': 0, Connection: 'close' }),
    );
  }

  private arm(ms: number, onTimeout: () => void): void {
    this.disarm();
    if (ms > 0 && Number.isFinite(ms)) {
      this.timer = setTimeout(onTimeout, ms);
      this.timer.unref();
    }
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    this.parser.close();
    this.forget();
  }
}
