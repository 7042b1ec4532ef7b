import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type ReadWriter, recover } from '@h1kit/bufio';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, H1Error } from '@h1kit/headers';
import { DuplexErrorCode, noResponse } from '../errors.js';
import { closeGracefully, refuse } from '../io/close.js';
import type { RequestHead } from '../io/message.js';
import { checkChunkedOptions, checkNumbers } from '../io/options.js';
import { Wire } from '../io/wire.js';
import { DuplexExchange } from './exchange.js';
import type { HeldResponse } from './hijacked-response.js';
import { answerFailure, type HandlerEnd, runHandler } from './response.js';

/**
 * An `enableHijack` handler: what it throws or rejects with is answered 500 (when no response
 * began; else the connection is cut) and reported to `onError`. A promise that settles having
 * taken nothing and answered nothing is answered 500 too (`ERR_H1_NO_RESPONSE`).
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack, type HijackHandler } from '@h1kit/duplex';
 * const onHijack: HijackHandler = async (hijacked) => {
 *   if (hijacked.req.headers['content-type'] !== 'application/octet-stream') {
 *     throw new Error('unsupported body'); // the client gets a 500
 *   }
 *   const exchange = hijacked.exchange();
 *   exchange.body.pipe(exchange.respond(200, { 'Content-Type': 'application/octet-stream' }));
 * };
 * enableHijack(createServer(), (req) => req.method === 'PUT', onHijack);
 * ```
 */
export type HijackHandler = (hijacked: HijackedRequest) => void | Promise<void>;

/**
 * Options of `enableHijack(server, match, onHijack, options)`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack, type HijackOptions } from '@h1kit/duplex';
 * const options: HijackOptions = { onError: (error) => logger.warn({ err: error }, 'hijack') };
 * enableHijack(createServer(), (req) => req.url === '/tunnel', onHijack, options);
 * ```
 */
export interface HijackOptions {
  /**
   * Told of every error an `onHijack` handler throws or rejects with, after the client got a 500
   * (when no response had begun) and the connection was closed. Default: `console.error`, as
   * node:http reports what it cannot answer.
   */
  onError?: (error: Error) => void;
}

/** The default `onError`. */
export function reportToConsole(error: Error): void {
  console.error(error);
}

/**
 * Options of `hijacked.exchange(options)`: limits and deadlines of the exchange on a hijacked
 * connection. Checked by `exchange()` before it takes the connection (`ERR_H1_INVALID_OPTION`,
 * `ERR_H1_INVALID_CHUNKED_OPTION`), so a corrected call can still take it.
 *
 * @example
 * ```ts
 * import { enableHijack, type HijackedExchangeOptions } from '@h1kit/duplex';
 * const options: HijackedExchangeOptions = {
 *   readTimeout: 10_000, // the request body within 10 s: else ERR_H1_READ_TIMEOUT
 *   chunked: { maxChunkSize: 1 << 20 }, // a chunk-size over 1 MiB fails the body
 * };
 * enableHijack(server, (req) => req.url === '/upload', (hijacked) => {
 *   const exchange = hijacked.exchange(options);
 *   exchange.body.pipe(exchange.respond(200));
 * });
 * ```
 */
export interface HijackedExchangeOptions {
  chunked?: ChunkedDecoderOptions;
  /** Largest response head (or 1xx head) sent, in bytes. Default 16384. */
  maxResponseHeadBytes?: number;
  /** As the standalone server's `readTimeout`: ms from now for the request body. Default none. */
  readTimeout?: number;
  /** As the standalone server's `writeTimeout`: ms from now for the response. Default none. */
  writeTimeout?: number;
}

/** How a hijacked request is tied to the hijack that took it. */
interface ConnectionLink {
  /** Gives the connection back to node:http; absent when it may not carry another request. */
  giveBack?: ((rest: Uint8Array) => void) | undefined;
  closing?: () => boolean;
  held?: HeldResponse | undefined;
  /** node:http already sent this request's 100 Continue. */
  continued?: boolean;
}

const TIMES = ['readTimeout', 'writeTimeout'] as const;
const LIMITS = ['maxResponseHeadBytes'] as const;
/** `exchange()` without options: nothing to check. */
const NO_OPTIONS: HijackedExchangeOptions = Object.freeze({});

/** How the connection was taken: Go's way, or as an exchange; the first one taken owns it. */
type Use =
  | { kind: 'none' }
  | { kind: 'readWriter'; readWriter: ReadWriter }
  | { kind: 'exchange'; exchange: DuplexExchange };

/**
 * A request taken from node:http with its connection: the head as node:http parsed it, the
 * socket, and the bytes node:http read past the head. Use it Go's way through `readWriter`, or
 * as a full-duplex exchange through `exchange()`; the first one taken owns the connection.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { enableHijack, type HijackedRequest } from '@h1kit/duplex';
 * const server = createServer((req, res) => res.end());
 * enableHijack(server, (req) => req.method === 'POST', (hijacked: HijackedRequest) => {
 *   const exchange = hijacked.exchange({ readTimeout: 30_000 });
 *   exchange.body.pipe(exchange.respond(200));
 * });
 * ```
 */
export class HijackedRequest {
  /**
   * The request as node:http parsed its head: `url`, `headers` and the like, for routing and
   * authentication. Its body never comes through it; read that from `exchange().body` or
   * `readWriter`.
   */
  readonly req: IncomingMessage;
  /** Bytes node:http read after the head and did not process. */
  readonly head: Uint8Array;
  private readonly connection: Socket;
  private readonly request: RequestHead;
  private readonly framing: Framing;
  /** Gives the connection back to node:http, while nobody took it raw. */
  private giveBack: ((rest: Uint8Array) => void) | undefined;
  /** Whether the hijack began closing: then no response promises keep-alive. */
  private readonly closing: (() => boolean) | undefined;
  /** The ServerResponse, still answerable until the connection is taken (`keepResponse`). */
  private held: HeldResponse | undefined;
  private readonly continued: boolean;
  private use: Use = { kind: 'none' };
  /** The handler asked for `socket`: what it wrote there is unknown to us. */
  private raw = false;
  private handlerSettled = false;
  /** Told of what the handler threw or rejected with (set by `run`). */
  private onError: (error: Error) => void = reportToConsole;

  constructor(
    req: IncomingMessage,
    socket: Socket,
    head: Uint8Array,
    checked: { request: RequestHead; framing: Framing },
    link: ConnectionLink = {},
  ) {
    this.req = req;
    this.connection = socket;
    this.head = head;
    this.request = checked.request;
    this.framing = checked.framing;
    this.giveBack = link.giveBack;
    this.closing = link.closing;
    this.held = link.held;
    this.continued = link.continued === true;
  }

  /**
   * The connection itself, Go's `net.Conn`. Taking it means the handler owns it: it is never
   * given back to node:http. Read `head` first: those bytes are no longer in the socket.
   */
  get socket(): Socket {
    this.releaseHeld();
    this.giveBack = undefined;
    this.raw = true;
    return this.connection;
  }

  /**
   * Go's bufio.ReadWriter: the reader yields `head` first, then the socket. The connection is
   * then the handler's to speak any protocol on, and to close; it is never given back to
   * node:http. After `exchange()` it throws `ERR_H1_HIJACKED`.
   *
   * @example
   * ```ts
   * enableHijack(server, (req) => req.headers.upgrade === 'lines', async ({ readWriter }) => {
   *   const { reader, writer, socket } = readWriter;
   *   await writer.write(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n'));
   *   await writer.write(Buffer.from('Upgrade: lines\r\nConnection: Upgrade\r\n\r\n'));
   *   await writer.flush();
   *   for (let l = await reader.readLine(); l !== null; l = await reader.readLine()) {
   *     await writer.write(Buffer.from(`${l.line.length}\n`)); // each line's length back
   *     await writer.flush();
   *   }
   *   socket.end();
   * });
   * ```
   */
  get readWriter(): ReadWriter {
    if (this.use.kind === 'readWriter') return this.use.readWriter;
    this.refuseIfTaken('readWriter');
    this.releaseHeld();
    this.giveBack = undefined;
    const readWriter = recover(this.connection, this.head);
    this.use = { kind: 'readWriter', readWriter };
    return readWriter;
  }

  /**
   * The request as a `DuplexExchange`: body decoded per its framing, response written with
   * `respond()`. When the exchange ends cleanly on a connection that may carry another request,
   * and the handler took neither `socket` nor `readWriter`, node:http gets the connection back for
   * its next request, with the bytes read past this one; otherwise it closes. A second call
   * returns the same exchange; after `readWriter` it throws `ERR_H1_HIJACKED`.
   *
   * @example
   * ```ts
   * enableHijack(server, (req) => req.url === '/echo', (hijacked) => {
   *   const exchange = hijacked.exchange({ writeTimeout: 60_000 });
   *   exchange.body.pipe(exchange.respond(200)); // read while the response is written
   * });
   * ```
   */
  exchange(options: HijackedExchangeOptions = NO_OPTIONS): DuplexExchange {
    if (this.use.kind === 'exchange') return this.use.exchange;
    this.refuseIfTaken('exchange');
    // Refused before anything takes the connection, so that a corrected call can still take it.
    if (options !== NO_OPTIONS) {
      checkNumbers(options, TIMES);
      checkNumbers(options, LIMITS, 1);
      checkChunkedOptions(options.chunked);
    }
    this.releaseHeld();
    const wire = new Wire(this.connection, this.head);
    const exchange = new DuplexExchange({
      wire,
      request: this.request,
      framing: this.framing,
      keepAlive: this.giveBack !== undefined,
      closing: this.closing,
      chunked: options.chunked,
      continued: this.continued,
      maxResponseHeadBytes: options.maxResponseHeadBytes,
      readTimeout: options.readTimeout,
      writeTimeout: options.writeTimeout,
      onDone: (reuse) => {
        const giveBack = this.giveBack;
        if (!giveBack) {
          // Taken raw after the response promised keep-alive: close after all.
          if (reuse) closeGracefully(this.connection);
          return;
        }
        if (reuse) giveBack(wire.detach());
      },
    });
    this.use = { kind: 'exchange', exchange };
    if (this.handlerSettled) exchange.handlerDone();
    return exchange;
  }

  /**
   * Runs `onHijack` for this request. What it throws or rejects with never reaches the host: the
   * client gets a 500 when no response began, the connection closes, and `onError` is told.
   */
  run(onHijack: HijackHandler, onError: (error: Error) => void): void {
    this.onError = onError;
    runHandler(onHijack, this, HijackedRequest.handlerEnd);
  }

  /** Where every handler run ends, made once: a handler that returns costs its request nothing. */
  private static readonly handlerEnd: HandlerEnd<HijackedRequest> = {
    returned: (hijacked) => hijacked.handlerDone(),
    settled: (hijacked) => hijacked.settledSilent(),
    failed: (hijacked, error) => hijacked.failed(error),
  };

  /**
   * The handler's promise settled: if it took nothing and answered nothing, nobody will, so the
   * client hears 500 (a connection taken raw, or through readWriter, is the handler's own).
   */
  private settledSilent(): void {
    const use = this.use;
    const silent =
      (use.kind === 'none' && !this.raw) || (use.kind === 'exchange' && !use.exchange.response);
    if (silent) this.failed(noResponse('the onHijack handler'));
    else this.handlerDone();
  }

  private failed(error: Error): void {
    this.giveBack = undefined;
    const use = this.use;
    // Answered through the held ServerResponse: the connection closes after that answer.
    if (this.held?.answered) {
      this.handlerDone();
      this.onError(error);
      return;
    }
    this.releaseHeld();
    if (use.kind === 'exchange') answerFailure(use.exchange, error);
    else if (use.kind === 'none' && !this.raw) refuse(this.connection, 500);
    else this.connection.destroy();
    this.handlerDone();
    this.onError(error);
  }

  /** The onHijack handler returned or settled (see `DuplexExchange.handlerDone`). */
  handlerDone(): void {
    this.handlerSettled = true;
    if (this.use.kind === 'exchange') this.use.exchange.handlerDone();
  }

  /**
   * Whether the request was already answered through its ServerResponse (hijacked with
   * `keepResponse`, by a framework hook say): then nothing can take the connection.
   */
  get answered(): boolean {
    return this.held?.answered === true;
  }

  private releaseHeld(): void {
    this.held?.release();
    this.held = undefined;
  }

  private refuseIfTaken(how: 'readWriter' | 'exchange'): void {
    if (this.use.kind !== 'none') {
      throw new H1Error(
        DuplexErrorCode.HIJACKED,
        `the connection is already taken through ${this.use.kind}, not available as ${how}`,
      );
    }
  }
}
