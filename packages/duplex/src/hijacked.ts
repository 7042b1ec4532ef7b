import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type ReadWriter, recover } from '@h1kit/bufio';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, H1Error, HeaderErrorCode, serializeResponseHead } from '@h1kit/headers';
import { closeGracefully } from './close.js';
import { DuplexErrorCode } from './errors.js';
import { DuplexExchange } from './exchange.js';
import { pairsOf, type RequestHead, recordOf, requestFraming } from './message.js';
import { Wire } from './wire.js';

export interface HijackedExchangeOptions {
  chunked?: ChunkedDecoderOptions;
}

/**
 * What node:http has not checked of a request it was made to hand over: its parser stopped
 * right after the head, before llhttp's own framing checks and before node:http's Host check.
 * Returns the request head and its body framing, or the status to refuse it with and why.
 */
export function checkHijackedRequest(
  req: IncomingMessage,
  server: { requireHostHeader?: boolean; maxHeadersCount?: number | null },
): { request: RequestHead; framing: Framing } | { status: number; error: H1Error } {
  // node:http stops collecting field lines at maxHeaderPairs entries of the flat list: 2000 (1000
  // lines) by default, maxHeadersCount * 2 when set (0: no limit). A framing field past them is
  // lost, so a head that reached the limit cannot be framed safely.
  const flatLimit = typeof server.maxHeadersCount === 'number' ? server.maxHeadersCount * 2 : 2000;
  if (flatLimit > 0 && req.rawHeaders.length >= flatLimit) {
    return {
      status: 431,
      error: new H1Error(
        HeaderErrorCode.TOO_MANY_FIELDS,
        `the head reached node:http's limit of ${flatLimit / 2} field lines`,
      ),
    };
  }
  const fields = pairsOf(req.rawHeaders);
  const request: RequestHead = {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    version: req.httpVersion === '1.0' ? '1.0' : '1.1',
    fields,
    headers: recordOf(fields),
  };
  try {
    return { request, framing: requestFraming(request, server.requireHostHeader !== false) };
  } catch (error) {
    return { status: 400, error: error as H1Error };
  }
}

/** Answers a request that cannot be served and closes its connection. */
export function refuse(socket: Socket, status: number): void {
  closeGracefully(
    socket,
    serializeResponseHead(status, { 'Content-Length': 0, Connection: 'close' }),
  );
}

/**
 * A request taken from node:http with its connection: the head as node:http parsed it, the
 * socket, and the bytes node:http read past the head. Use it Go's way through `readWriter`, or
 * as a full-duplex exchange through `exchange()`; the first one taken owns the connection.
 */
export class HijackedRequest {
  readonly req: IncomingMessage;
  readonly socket: Socket;
  /** Bytes node:http read after the head and did not process. */
  readonly head: Uint8Array;
  private readonly request: RequestHead;
  private readonly framing: Framing;
  private taken: 'readWriter' | 'exchange' | undefined;
  private rw: ReadWriter | undefined;
  private made: DuplexExchange | undefined;
  private handlerSettled = false;

  constructor(
    req: IncomingMessage,
    socket: Socket,
    head: Uint8Array,
    checked: { request: RequestHead; framing: Framing },
  ) {
    this.req = req;
    this.socket = socket;
    this.head = head;
    this.request = checked.request;
    this.framing = checked.framing;
  }

  /** Go's bufio.ReadWriter: the reader yields `head` first, then the socket. */
  get readWriter(): ReadWriter {
    this.take('readWriter');
    this.rw ??= recover(this.socket, this.head);
    return this.rw;
  }

  /**
   * The request as a `DuplexExchange`: body decoded per its framing, response written with
   * `respond()`. The connection closes when the exchange is over, since node:http cannot take it
   * back.
   */
  exchange(options: HijackedExchangeOptions = {}): DuplexExchange {
    this.take('exchange');
    if (this.made) return this.made;
    this.made = new DuplexExchange({
      wire: new Wire(this.socket, this.head),
      request: this.request,
      framing: this.framing,
      keepAlive: false,
      chunked: options.chunked,
    });
    if (this.handlerSettled) this.made.handlerDone();
    return this.made;
  }

  /** The onHijack handler returned or settled (see `DuplexExchange.handlerDone`). */
  handlerDone(): void {
    this.handlerSettled = true;
    this.made?.handlerDone();
  }

  private take(how: 'readWriter' | 'exchange'): void {
    if (this.taken !== undefined && this.taken !== how) {
      throw new H1Error(
        DuplexErrorCode.HIJACKED,
        `the connection is already taken through ${this.taken}`,
      );
    }
    this.taken = how;
  }
}
