import { Readable, Writable } from 'node:stream';
import type { ChunkedDecoderOptions } from '@h1kit/chunked';
import {
  type FieldInput,
  type Framing,
  H1Error,
  HeaderErrorCode,
  serializeResponseHead,
} from '@h1kit/headers';
import { closeGracefully } from './close.js';
import { DuplexErrorCode } from './errors.js';
import { IncomingBody } from './incoming.js';
import { type FieldPairs, fieldPairsOf, type RequestHead } from './message.js';
import { OutgoingBody, type OutgoingFraming } from './outgoing.js';
import { responseFraming } from './response-framing.js';
import type { Wire } from './wire.js';

export interface ExchangeInit {
  wire: Wire;
  request: RequestHead;
  /** How the request body is delimited, from `framing()`. */
  framing: Framing;
  /** llhttp's reading: may the connection carry another request after this one? */
  keepAlive: boolean;
  chunked?: ChunkedDecoderOptions;
  /** Request body bytes discarded after the response when nobody reads them; beyond, close. */
  maxDrainBytes?: number;
  /** Told once when the exchange is over: reuse the connection (with these bytes next) or not. */
  onDone?: (reuse: boolean, rest: Uint8Array) => void;
}

export interface RespondOptions {
  reason?: string;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const EMPTY = new Uint8Array(0);

/**
 * One HTTP/1.1 request and its response, both streaming at once: `body` yields the request body
 * while the handler writes the response returned by `respond()`, in either order, each with
 * backpressure. The exchange is over when both bodies are complete; the connection then carries
 * the next request (keep-alive) or closes.
 */
export class DuplexExchange {
  readonly request: RequestHead;
  /** The decoded request body. */
  readonly body: IncomingBody;
  readonly socket: Wire['socket'];
  /** The response body, once `respond()` was called. */
  response: OutgoingBody | undefined;
  /** Resolves when both bodies are complete; rejects when the connection failed first. */
  readonly done: Promise<void>;
  /** Aborted when the connection is lost before the exchange is complete. */
  readonly signal: AbortSignal;

  private readonly wire: Wire;
  private readonly abortController = new AbortController();
  private readonly maxDrainBytes: number;
  private keepAlive: boolean;
  private headSent = false;
  private readonly expectsContinue: boolean;
  private continueSent = false;
  private requestDone = false;
  private bodyAbandoned = false;
  /** The handler returned (or settled): an unread body will not be read by it any more. */
  private handlerSettled = false;
  /** After a 2xx to CONNECT or a 101 the connection is no longer HTTP. */
  private tunnel = false;
  private responseDone = false;
  private settled = false;
  private rest: Uint8Array = EMPTY;
  private onDone: ((reuse: boolean, rest: Uint8Array) => void) | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;

  constructor(init: ExchangeInit) {
    this.wire = init.wire;
    this.socket = init.wire.socket;
    this.request = init.request;
    this.keepAlive = init.keepAlive && init.framing.kind !== 'close';
    this.maxDrainBytes = init.maxDrainBytes ?? 1 << 20;
    this.onDone = init.onDone;
    this.signal = this.abortController.signal;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // The exchange's own rejection is for those who await it; never an unhandled one.
    this.done.catch(() => {});
    this.expectsContinue =
      typeof init.request.headers.expect === 'string' &&
      init.request.headers.expect.toLowerCase() === '100-continue' &&
      init.request.version === '1.1';
    this.body = new IncomingBody({
      framing: init.framing,
      wire: init.wire,
      chunked: init.chunked,
      onFirstRead: this.expectsContinue ? () => this.sendContinue() : undefined,
      onComplete: (rest) => {
        this.rest = rest;
        this.requestDone = true;
        this.settle();
      },
    });
    this.body.on('error', (error) => {
      if (this.body.wireError) this.fail(error);
      else this.abandonBody();
    });
    this.body.on('close', () => {
      if (!this.requestDone && !this.body.wireError) this.abandonBody();
    });
    this.socket.once('close', this.onSocketClose);
    this.body.begin();
  }

  /** Request trailer fields; complete once `body` has ended. */
  get trailers(): FieldPairs {
    return this.body.trailers;
  }

  /** The request body as a WHATWG ReadableStream (the same bytes as `body`: use one of them). */
  get bodyStream(): ReadableStream<Uint8Array> {
    return Readable.toWeb(this.body) as ReadableStream<Uint8Array>;
  }

  /**
   * Writes the response head and returns the response body. The body is chunked unless the
   * fields give a Content-Length (or the request was HEAD, or the status has no body), and
   * close-delimited for an HTTP/1.0 peer. Throws `H1Error` on invalid or contradictory fields.
   */
  respond(status: number, fields: FieldInput = {}, options?: RespondOptions): OutgoingBody {
    if (this.headSent || this.settled) {
      throw new H1Error(
        DuplexErrorCode.ALREADY_RESPONDED,
        this.settled ? 'the exchange is over' : 'respond() was already called',
      );
    }
    if (status < 200 && status !== 101) {
      throw new H1Error(
        HeaderErrorCode.INVALID_STATUS,
        `respond() takes a final status or 101; send ${status} with informational()`,
      );
    }
    // After 101, or a 2xx to CONNECT, the bytes that follow are another protocol's
    // (RFC 9110 sections 7.8 and 9.3.6): never parse them as a next request.
    if (status === 101 || (this.request.method === 'CONNECT' && status < 300)) {
      this.tunnel = true;
      this.keepAlive = false;
    }
    // A body its reader already gave up will not be read to its end: say the connection closes.
    if (this.body.destroyed && !this.requestDone) this.keepAlive = false;
    const plan = responseFraming(this.request, status, fieldPairsOf(fields), this.keepAlive);
    const head = serializeResponseHead(status, plan.fields, options);
    // A 2xx says the body is wanted: a client still waiting for 100 Continue is told to send it
    // (`body.pipe(respond(200))` answers before its first read). Other statuses let it refrain.
    if (this.expectsContinue && status < 300 && status !== 101 && !this.requestDone) {
      this.sendContinue();
    }
    this.keepAlive = plan.keepAlive;
    this.headSent = true;
    this.socket.write(head);
    const response = new OutgoingBody({
      socket: this.socket,
      framing: plan.framing,
      onComplete: () => {
        this.responseDone = true;
        this.afterResponse(plan.framing);
      },
    });
    response.on('error', (error) => this.fail(error));
    response.on('close', () => {
      // Destroyed before its end: the response can never be completed, so neither can the
      // connection's next message.
      if (!this.responseDone) {
        this.fail(
          new H1Error(
            DuplexErrorCode.CONNECTION_CLOSED,
            'the response body was destroyed before its end',
          ),
        );
      }
    });
    this.response = response;
    return response;
  }

  /** Sends an interim 1xx response (103 Early Hints, ...) before the final one. */
  informational(status: number, fields: FieldInput = {}): void {
    if (status < 100 || status > 199 || status === 101) {
      throw new H1Error(
        HeaderErrorCode.INVALID_STATUS,
        `informational() takes 100 or 102-199, got ${status}`,
      );
    }
    if (this.headSent)
      throw new H1Error(
        DuplexErrorCode.ALREADY_RESPONDED,
        'the final response head was already sent',
      );
    this.socket.write(serializeResponseHead(status, fields));
  }

  /** The response body as a WHATWG WritableStream; call after `respond()`. */
  get responseStream(): WritableStream<Uint8Array> {
    if (!this.response) throw new H1Error(DuplexErrorCode.ALREADY_RESPONDED, 'respond() first');
    return Writable.toWeb(this.response) as WritableStream<Uint8Array>;
  }

  /**
   * Takes the connection out of HTTP after a 101 or a 2xx answer to CONNECT: resolves nothing
   * more, and returns the socket with the bytes already read past the request head (the tunnel's
   * first bytes). The exchange is over once this returns.
   */
  detach(): { socket: Wire['socket']; head: Uint8Array } {
    if (!this.tunnel || this.settled) {
      throw new H1Error(
        DuplexErrorCode.ALREADY_RESPONDED,
        'detach() follows respond(101) or a 2xx answer to CONNECT, once',
      );
    }
    this.settled = true;
    this.socket.off('close', this.onSocketClose);
    const held = this.wire.detach();
    const head = held.length === 1 ? held[0]! : Buffer.concat(held);
    const onDone = this.onDone;
    this.onDone = undefined;
    onDone?.(false, EMPTY);
    this.resolveDone();
    return { socket: this.socket, head };
  }

  /**
   * Told by the server (or the hijack hook) when the handler returned or settled: from then on
   * a body nobody reads will not be read, so it can be drained and the connection freed.
   */
  handlerDone(): void {
    this.handlerSettled = true;
    this.maybeFinish();
  }

  /** Gives up the exchange: the connection is destroyed, pending reads and writes fail. */
  destroy(error?: Error): void {
    this.fail(error ?? new H1Error(DuplexErrorCode.CONNECTION_CLOSED, 'exchange destroyed'));
  }

  private sendContinue(): void {
    if (this.headSent || this.continueSent) return;
    this.continueSent = true;
    this.socket.write(CONTINUE);
  }

  /**
   * The body was destroyed by its reader before its end (`break` in for-await does that): the
   * rest of the request will never be read, so the connection cannot carry another one.
   */
  private abandonBody(): void {
    if (this.bodyAbandoned) return;
    this.bodyAbandoned = true;
    this.keepAlive = false;
    this.settle(true);
  }

  private afterResponse(framing: OutgoingFraming): void {
    if (framing.kind === 'close') this.keepAlive = false;
    this.maybeFinish();
  }

  /**
   * Decides what happens once the response is complete. The request body may still be coming:
   * in a full-duplex exchange a handler may read it after ending its response, so an unread body
   * is drained only once the handler has settled and still nobody reads it.
   */
  private maybeFinish(): void {
    if (this.settled || !this.responseDone) return;
    if (this.requestDone || this.bodyAbandoned || this.tunnel) {
      this.settle(true);
      return;
    }
    const body = this.body;
    const beingRead =
      body.listenerCount('data') > 0 ||
      body.listenerCount('readable') > 0 ||
      body.readableFlowing === true;
    if (beingRead || !this.handlerSettled) return;
    // A client told to wait for 100 Continue that never got it may never send the body.
    if (this.request.headers.expect !== undefined && !this.continueSent) {
      this.keepAlive = false;
      this.settle(true);
      return;
    }
    this.drain();
  }

  private drain(): void {
    let discarded = 0;
    this.body.on('data', (chunk: Uint8Array) => {
      discarded += chunk.length;
      if (discarded > this.maxDrainBytes) {
        this.keepAlive = false;
        this.settle(true);
      }
    });
    // A 'data' listener does not restart a body its handler paused (or unpiped).
    this.body.resume();
  }

  private settle(force = false): void {
    if (this.settled || !this.responseDone || (!this.requestDone && !force)) return;
    this.settled = true;
    this.socket.off('close', this.onSocketClose);
    const reuse = this.keepAlive && this.requestDone && !this.tunnel;
    if (!reuse) {
      this.wire.detach();
      closeGracefully(this.socket);
    }
    if (!this.requestDone && !this.body.destroyed) {
      this.body.destroy(
        new H1Error(
          DuplexErrorCode.CONNECTION_CLOSED,
          'the exchange ended before the request body did',
        ),
      );
    }
    const onDone = this.onDone;
    this.onDone = undefined;
    onDone?.(reuse, this.rest);
    this.resolveDone();
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.socket.off('close', this.onSocketClose);
    this.wire.detach();
    if (!this.headSent && error instanceof H1Error && !this.socket.destroyed) {
      // The request itself was bad (a broken chunked body): say so before closing.
      this.headSent = true;
      closeGracefully(
        this.socket,
        serializeResponseHead(400, { 'Content-Length': 0, Connection: 'close' }),
      );
    } else if (this.responseDone && !this.socket.destroyed) {
      // The response went out whole before the fault: let it reach the peer, then close.
      closeGracefully(this.socket);
    } else {
      this.socket.destroy();
    }
    if (!this.body.destroyed) this.body.destroy(error);
    if (this.response && !this.response.destroyed) this.response.destroy(error);
    this.abortController.abort(error);
    const onDone = this.onDone;
    this.onDone = undefined;
    onDone?.(false, EMPTY);
    this.rejectDone(error);
  }

  private readonly onSocketClose = (): void => {
    this.fail(
      new H1Error(
        DuplexErrorCode.CONNECTION_CLOSED,
        'connection closed before the exchange was complete',
      ),
    );
  };
}
