import type { Socket } from 'node:net';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { H1Error, HeaderErrorCode } from '@h1kit/headers';
import { DuplexErrorCode, noResponse } from '../errors.js';
import { closeGracefully, ignore, refuse } from '../io/close.js';
import { requestFraming } from '../io/framing-plan.js';
import { HeadReader } from '../io/head-reader.js';
import type { ParsedHead } from '../io/llhttp.js';
import { requestHeadOf, versionOf } from '../io/message.js';
import { Wire } from '../io/wire.js';
import { DuplexExchange } from './exchange.js';
import { answerFailure, type HandlerEnd, runHandler } from './response.js';

/**
 * The standalone server's request handler: one call per exchange; a throw or rejection becomes a
 * 500 (if nothing was sent; 408 or 503 for a passed read or write deadline) and an `onError`
 * call, and a promise that settles with no response begun is answered 500 too
 * (`ERR_H1_NO_RESPONSE`). A handler may return before the exchange is over: the bodies go on
 * streaming after it.
 *
 * @example
 * ```ts
 * import { createServer, type Handler } from '@h1kit/duplex';
 * const handler: Handler = async (exchange) => {
 *   if (exchange.request.method !== 'POST') {
 *     exchange.respond(405, { Allow: 'POST', 'Content-Length': 0 }).end();
 *     return;
 *   }
 *   exchange.body.pipe(exchange.respond(200)); // streams on after the handler returned
 * };
 * createServer(handler, { onError: (error) => console.error(error) });
 * ```
 */
export type Handler = (exchange: DuplexExchange) => void | Promise<void>;

/** What a connection needs of the server's options, defaults applied. */
export interface ConnectionSettings {
  maxHeadBytes: number;
  maxFields: number;
  headTimeout: number;
  idleTimeout: number;
  chunked?: ChunkedDecoderOptions;
  maxDrainBytes?: number;
  maxResponseHeadBytes?: number;
  readTimeout?: number;
  writeTimeout?: number;
  sendDate?: boolean;
  onError?: (error: Error) => void;
  onClientError?: (error: Error) => void;
}

/** What a connection tells its server, and asks it. */
export interface ConnectionHost {
  /** The connection closed. */
  forget(connection: Connection): void;
  /** The server is closing: finish the exchange in progress, take no more. */
  closing(): boolean;
}

/** One connection: heads read one at a time, each starting an exchange; keep-alive and pipelining. */
export class Connection {
  private readonly wire: Wire;
  private readonly reader: HeadReader;
  private exchange: DuplexExchange | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires, and the deadline it serves (see `arm`). */
  private firesAt = 0;
  private deadline = Number.POSITIVE_INFINITY;
  private onDeadline: (() => void) | undefined;
  private closed = false;
  /** The socket is corked until the end of this tick: what the tick answers leaves in one write. */
  private corked = false;

  constructor(
    private readonly socket: Socket,
    private readonly handler: Handler,
    private readonly settings: ConnectionSettings,
    private readonly host: ConnectionHost,
  ) {
    socket.setNoDelay(true);
    this.wire = new Wire(socket);
    this.reader = new HeadReader(this.wire, 'request', settings, {
      started: () => this.arm(this.settings.headTimeout, this.headTimedOut),
      head: (head) => this.start(head),
      invalid: (error) => {
        const tooLarge =
          error instanceof H1Error &&
          (error.code === HeaderErrorCode.HEADERS_TOO_LARGE ||
            error.code === HeaderErrorCode.TOO_MANY_FIELDS);
        this.reject(tooLarge ? 431 : 400, error);
      },
      // The peer is done sending: between requests that is a clean goodbye.
      ended: () => this.socket.end(),
      aborted: () => this.socket.destroy(),
    });
    socket.once('close', () => this.cleanup());
    // Errors reach the wire's consumer; this listener only keeps an 'error' from being unhandled.
    socket.on('error', ignore);
    this.awaitHead(settings.headTimeout);
  }

  /** The server closes: an idle connection (or every one, with `force`) is destroyed now. */
  shutdown(force: boolean): void {
    if (force || !this.exchange) this.socket.destroy();
  }

  private awaitHead(timeout: number): void {
    this.arm(timeout, this.idleTimedOut);
    this.reader.read();
  }

  private start(head: ParsedHead): void {
    this.disarm();
    // Pipelined requests answered in this tick, and each response's pieces, share one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    const request = requestHeadOf(head.method, head.target, versionOf(head), head.rawFields);
    let framing: ReturnType<typeof requestFraming>;
    try {
      framing = requestFraming(request);
    } catch (error) {
      this.reject(400, error as Error);
      return;
    }
    const exchange = new DuplexExchange({
      wire: this.wire,
      request,
      framing,
      keepAlive: head.keepAlive && !this.host.closing(),
      closing: this.host.closing,
      chunked: this.settings.chunked,
      maxDrainBytes: this.settings.maxDrainBytes,
      sendDate: this.settings.sendDate,
      maxResponseHeadBytes: this.settings.maxResponseHeadBytes,
      readTimeout: this.settings.readTimeout,
      writeTimeout: this.settings.writeTimeout,
      onDone: this.next,
    });
    this.exchange = exchange;
    runHandler(this.handler, exchange, this.handlerEnd);
  }

  /** Made once per connection: a handler that returns costs its request no closure. */
  private readonly handlerEnd: HandlerEnd<DuplexExchange> = {
    returned: (exchange) => exchange.handlerDone(),
    // A handler whose promise settled without responding will not respond.
    settled: (exchange) => {
      if (exchange.response) exchange.handlerDone();
      else this.handlerFailed(exchange, noResponse('the handler'), true);
    },
    failed: (exchange, error) => this.handlerFailed(exchange, error, false),
  };

  /** The exchange is over: read the next head (its bytes, if any, are on the wire) or stop. */
  private readonly next = (reuse: boolean): void => {
    this.exchange = undefined;
    if (!reuse || this.closed) return;
    if (this.host.closing()) {
      // The response promised keep-alive before the close began: a request already sent behind
      // it hears that it was not served, rather than a silent close.
      const pipelined = this.wire.detach().length > 0;
      if (pipelined) refuse(this.socket, 503);
      else closeGracefully(this.socket);
      return;
    }
    this.awaitHead(this.settings.idleTimeout);
  };

  /**
   * The handler failed, or settled leaving its exchange unanswered (`silent`): the client hears
   * 500 where it still can, and onError is told (of a silent handler, only when a 500 went out).
   */
  private handlerFailed(exchange: DuplexExchange, error: Error, silent: boolean): void {
    const answered = answerFailure(exchange, error);
    if (answered || !silent) this.settings.onError?.(error);
    exchange.handlerDone();
  }

  /** Answers a request that cannot be served (bad head, smuggling shape, timeout) and closes. */
  private reject(status: number, error: Error): void {
    this.disarm();
    this.wire.detach();
    this.settings.onClientError?.(error);
    refuse(this.socket, status);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private readonly headTimedOut = (): void => {
    this.reject(408, new H1Error(DuplexErrorCode.HEAD_TIMEOUT, 'request head timed out'));
  };

  private readonly idleTimedOut = (): void => {
    this.socket.destroy();
  };

  /**
   * Sets the one deadline a connection has at a time (head or idle). One timer serves them all:
   * moving a deadline later, or clearing it, leaves the timer as it is, and when it fires early it
   * sleeps again for the rest; only a deadline earlier than the timer starts a new one. So a
   * request costs no timer of its own.
   */
  private arm(ms: number, onTimeout: () => void): void {
    if (!(ms > 0 && Number.isFinite(ms))) {
      this.disarm();
      return;
    }
    const now = performance.now();
    this.deadline = now + ms;
    this.onDeadline = onTimeout;
    if (this.timer === undefined || this.firesAt > this.deadline) this.schedule(ms, now);
  }

  private disarm(): void {
    this.deadline = Number.POSITIVE_INFINITY;
    this.onDeadline = undefined;
  }

  private schedule(ms: number, now: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(this.tick, ms);
    this.timer.unref();
    this.firesAt = now + ms;
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.onDeadline === undefined) return;
    const now = performance.now();
    if (now < this.deadline) {
      this.schedule(this.deadline - now, now);
      return;
    }
    const onTimeout = this.onDeadline;
    this.disarm();
    onTimeout();
  };

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.reader.close();
    this.host.forget(this);
  }
}
