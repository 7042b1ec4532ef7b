import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type ReadWriter, recover } from '@h1kit/bufio';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, framing, H1Error, serializeResponseHead } from '@h1kit/headers';
import { closeGracefully } from './close.js';
import { DuplexErrorCode } from './errors.js';
import { DuplexExchange } from './exchange.js';
import { pairsOf, type RequestHead, recordOf } from './message.js';
import { Wire } from './wire.js';

export interface HijackedExchangeOptions {
  chunked?: ChunkedDecoderOptions;
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
  private taken: 'readWriter' | 'exchange' | undefined;
  private rw: ReadWriter | undefined;

  constructor(req: IncomingMessage, socket: Socket, head: Uint8Array) {
    this.req = req;
    this.socket = socket;
    this.head = head;
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
   * back. A smuggling shape in the head is answered with 400 and throws `H1Error`.
   */
  exchange(options: HijackedExchangeOptions = {}): DuplexExchange {
    this.take('exchange');
    const req = this.req;
    const fields = pairsOf(req.rawHeaders);
    const request: RequestHead = {
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      version: req.httpVersion === '1.0' ? '1.0' : '1.1',
      fields,
      headers: recordOf(fields),
    };
    let decided: Framing;
    try {
      decided = framing({ method: request.method, version: request.version, headers: fields });
    } catch (error) {
      closeGracefully(
        this.socket,
        serializeResponseHead(400, { 'Content-Length': 0, Connection: 'close' }),
      );
      throw error;
    }
    return new DuplexExchange({
      wire: new Wire(this.socket, this.head),
      request,
      framing: decided,
      keepAlive: false,
      chunked: options.chunked,
    });
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
