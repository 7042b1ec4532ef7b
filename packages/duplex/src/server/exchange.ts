import { Readable, Writable } from 'node:stream';
import { type FieldInput, type Framing, H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import { closeAfterFailure, closeGracefully } from '../io/close.js';
import { checkFinalStatus, checkInterimStatus, isTunnel } from '../io/framing-plan.js';
import { IncomingBody } from '../io/incoming.js';
import { DEFAULT_HEAD_LIMITS } from '../io/llhttp.js';
import { type FieldPairs, fieldValueOf, type RequestHead } from '../io/message.js';
import type { OutgoingBody } from '../io/outgoing.js';
import { Outcome } from '../io/settled.js';
import type { Wire } from '../io/wire.js';
import {
  type Deadline,
  type DeadlineOwner,
  Deadlines,
  readTimedOut,
  writeTimedOut,
} from './deadlines.js';
import {
  DEFAULT_MAX_DRAIN_BYTES,
  type ExchangeInit,
  type Reading,
  type Writing,
} from './exchange-types.js';
import { ExpectContinue } from './expect-continue.js';
import { interimHead, openResponse, type RespondOptions } from './response.js';

export type { Deadline } from './deadlines.js';
export type { ExchangeInit } from './exchange-types.js';
export type { RespondOptions } from './response.js';

/**
 * One HTTP/1.1 request and its response, both streaming at once: `body` yields the request body
 * while the handler writes the response returned by `respond()`, in either order, each with
 * backpressure. The exchange is over when both bodies are complete; the connection then carries
 * the next request (keep-alive) or closes.
 *
 * @example
 * ```ts
 * import { createServer } from '@h1kit/duplex';
 * createServer(async (exchange) => {
 *   exchange.setReadDeadline(Date.now() + 5000);
 *   const out = exchange.respond(200, { 'Content-Type': 'text/plain' });
 *   for await (const chunk of exchange.body) out.write(chunk); // echo while the body comes
 *   out.end();
 *   await exchange.done;
 * });
 * ```
 */
export class DuplexExchange implements DeadlineOwner {
  /** The request head: method, request-target, version and field lines. */
  readonly request: RequestHead;
  /**
   * The connection. Reading or writing it directly bypasses the exchange; it is for its address,
   * `setNoDelay()` and the like, or for what `detach()` hands over.
   */
  readonly socket: Wire['socket'];
  /** The response body, once `respond()` was called. */
  response: OutgoingBody | undefined;

  private readonly wire: Wire;
  private readonly framing: Framing;
  /** What the exchange was made with: its limits and options are read from here. */
  private readonly init: ExchangeInit;
  private readonly maxResponseHeadBytes: number;
  /** The request body; made when first asked for where the request has none. */
  private incoming: IncomingBody | undefined;
  private reading: Reading = 'body';
  private writing: Writing = 'init';
  private keepAlive: boolean;
  /** Made only for a request that carries Expect. */
  private readonly expect: ExpectContinue | undefined;
  /** The handler returned (or settled): an unread body will not be read by it any more. */
  private handlerSettled = false;
  private over = false;
  private readonly outcome = new Outcome();
  /** Made when a deadline is first set. */
  private deadlines: Deadlines | undefined;
  private onDone: ((reuse: boolean) => void) | undefined;

  constructor(init: ExchangeInit) {
    this.wire = init.wire;
    this.socket = init.wire.socket;
    this.request = init.request;
    this.framing = init.framing;
    this.keepAlive = init.keepAlive;
    this.init = init;
    this.maxResponseHeadBytes = init.maxResponseHeadBytes ?? DEFAULT_HEAD_LIMITS.maxHeadBytes;
    this.onDone = init.onDone;
    const expect = fieldValueOf(init.request.rawFields, 'expect');
    if (expect !== undefined) {
      this.expect = new ExpectContinue(
        expect,
        init.request.version,
        this.socket,
        init.continued === true,
      );
    }
    const framing = init.framing;
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)) {
      this.reading = 'done';
    } else {
      this.incoming = this.openBody();
    }
    // After the body's wire listens: a close under the body fails the body first, with its cause.
    // `on` rather than `once`, which wraps the listener anew for every exchange: finish() removes it.
    this.socket.on('close', this.onSocketClose);
    const now = init.readTimeout || init.writeTimeout ? Date.now() : 0;
    if (init.readTimeout && this.reading === 'body') this.setReadDeadline(now + init.readTimeout);
    if (init.writeTimeout) this.setWriteDeadline(now + init.writeTimeout);
  }

  /**
   * Go's `ResponseController.SetReadDeadline`: when `deadline` passes before the request body has
   * all arrived, reading it fails with `ERR_H1_READ_TIMEOUT` (a handler that fails with that
   * before responding answers 408) and the connection closes after the response. `null` clears it.
   */
  setReadDeadline(deadline: Deadline): void {
    if (this.over) return;
    this.deadlines ??= new Deadlines(this);
    this.deadlines.setRead(deadline);
  }

  /**
   * Go's `ResponseController.SetWriteDeadline`: when `deadline` passes before the response is
   * complete, the exchange fails with `ERR_H1_WRITE_TIMEOUT`: a 503 when no response began, else
   * the connection is cut (the peer sees the body unfinished). `null` clears it.
   */
  setWriteDeadline(deadline: Deadline): void {
    if (this.over) return;
    this.deadlines ??= new Deadlines(this);
    this.deadlines.setWrite(deadline);
  }

  /** @internal The read deadline passed. */
  readDeadlinePassed(): void {
    if (this.over || this.reading !== 'body') return;
    this.body.destroy(readTimedOut());
  }

  /** @internal The write deadline passed. */
  writeDeadlinePassed(): void {
    if (this.over || this.writing === 'done') return;
    this.finish(false, writeTimedOut(), 503);
  }

  /**
   * The decoded request body (chunked framing undone), readable while the response is written.
   * Its first read answers `Expect: 100-continue`. A request without a body has it already ended.
   */
  get body(): IncomingBody {
    this.incoming ??= this.openBody();
    return this.incoming;
  }

  /**
   * Resolves when both bodies are complete; rejects when the connection failed first (or a
   * deadline passed). Awaited by a handler, it keeps the handler's promise open until then.
   */
  get done(): Promise<void> {
    return this.outcome.done;
  }

  /**
   * Aborted when the connection is lost (reset, or closed) before the exchange is complete, with
   * the `H1Error` as its reason: hand it to work done for the request, so that work stops when
   * nobody is left to answer. A client's FIN alone is not a loss: a full-duplex peer may end its
   * side after its request and still read the response.
   *
   * @example
   * ```ts
   * createServer(async (exchange) => {
   *   const upstream = await fetch('http://127.0.0.1:9000/slow', { signal: exchange.signal });
   *   exchange.respond(upstream.status).end(Buffer.from(await upstream.arrayBuffer()));
   * });
   * ```
   */
  get signal(): AbortSignal {
    return this.outcome.signal;
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
   * close-delimited for an HTTP/1.0 peer. A Date field is added unless given (`sendDate`), and
   * `Connection: close` when the connection will not carry another request. The head leaves
   * with the first bytes of the body, or at the end of the tick. Throws `H1Error` on invalid or
   * contradictory fields, a status below 200 other than 101 (`informational()` sends those), or a
   * second call (`ERR_H1_ALREADY_RESPONDED`), having sent nothing.
   *
   * @example
   * ```ts
   * createServer((exchange) => {
   *   const body = JSON.stringify({ ok: true });
   *   exchange
   *     .respond(200, { 'Content-Type': 'application/json', 'Content-Length': body.length })
   *     .end(body); // head and body in one write
   * });
   * ```
   */
  respond(status: number, fields: FieldInput = {}, options?: RespondOptions): OutgoingBody {
    if (this.writing !== 'init' || this.over) {
      throw new H1Error(
        DuplexErrorCode.ALREADY_RESPONDED,
        this.over ? 'the exchange is over' : 'respond() was already called',
      );
    }
    checkFinalStatus(status);
    const tunnel = isTunnel(this.request.method, status);
    // A body its reader already gave up will not be read to its end: say the connection closes.
    const bodyGivenUp = this.incoming?.destroyed === true && this.incoming.state !== 'complete';
    const opened = openResponse(
      this.socket,
      this.request,
      status,
      fields,
      this.keepAlive && !tunnel && !bodyGivenUp && this.init.closing?.() !== true,
      this.init.sendDate !== false,
      this.maxResponseHeadBytes,
      options,
      {
        beforeHead: () => {
          // `body.pipe(respond(200))` answers before its first read: a 2xx wants the body.
          if (status < 300 && status !== 101 && this.reading === 'body') this.expect?.answer(false);
          if (tunnel) this.reading = 'tunnel';
          this.writing = 'head';
        },
        complete: () => {
          this.writing = 'done';
          this.deadlines?.setWrite(null);
          this.advance();
        },
        failed: (error) => this.finish(false, error),
      },
    );
    const response = opened.body;
    this.keepAlive = opened.keepAlive;
    // What follows a tunnel's head is the caller's to write, maybe at once: the head goes now.
    if (tunnel) response.flush();
    this.response = response;
    this.writing = 'body';
    return response;
  }

  private openBody(): IncomingBody {
    const expect = this.expect;
    const body = new IncomingBody({
      framing: this.framing,
      wire: this.wire,
      chunked: this.init.chunked,
      onFirstRead:
        expect?.state === 'waiting' ? () => expect.answer(this.writing !== 'init') : undefined,
      onComplete: () => {
        if (this.reading === 'body') this.reading = 'done';
        this.deadlines?.setRead(null);
        this.advance();
      },
    });
    body.on('error', (error) => {
      // A request body that broke its framing is the client's fault: 400 if nothing was answered.
      if (body.state === 'failed')
        this.finish(false, error, error instanceof H1Error ? 400 : undefined);
      else this.abandonBody();
    });
    body.on('close', () => {
      if (body.state === 'destroyed') this.abandonBody();
    });
    body.begin();
    return body;
  }

  /**
   * Sends an interim 1xx response (103 Early Hints, ...) before the final one, written at once.
   * 101 is a final status (`respond(101)`); after the final head this throws
   * `ERR_H1_ALREADY_RESPONDED`.
   *
   * @example
   * ```ts
   * createServer(async (exchange) => {
   *   exchange.informational(103, { Link: '</app.css>; rel=preload; as=style' });
   *   const page = await render(); // the client fetches app.css meanwhile
   *   exchange.respond(200, { 'Content-Type': 'text/html' }).end(page);
   * });
   * ```
   */
  informational(status: number, fields: FieldInput = {}): void {
    checkInterimStatus(status);
    if (this.writing !== 'init') {
      throw new H1Error(
        DuplexErrorCode.ALREADY_RESPONDED,
        'the final response head was already sent',
      );
    }
    this.socket.write(interimHead(status, fields, this.maxResponseHeadBytes));
  }

  /**
   * The response body as a WHATWG WritableStream; call after `respond()`, else it throws
   * `ERR_H1_NOT_RESPONDED`.
   */
  get responseStream(): WritableStream<Uint8Array> {
    if (!this.response) {
      throw new H1Error(DuplexErrorCode.NOT_RESPONDED, 'call respond() before responseStream');
    }
    return Writable.toWeb(this.response) as WritableStream<Uint8Array>;
  }

  /**
   * Takes the connection out of HTTP after a 101 or a 2xx answer to CONNECT: resolves nothing
   * more, and returns the socket with the bytes already read past the request head (the tunnel's
   * first bytes). The exchange is over once this returns. Called at any other time, or twice, it
   * throws `ERR_H1_ALREADY_RESPONDED`.
   *
   * @example
   * ```ts
   * import { connect } from 'node:net';
   * createServer((exchange) => {
   *   if (exchange.request.method !== 'CONNECT') {
   *     exchange.respond(405, { Allow: 'CONNECT', 'Content-Length': 0 }).end();
   *     return;
   *   }
   *   const [host, port] = exchange.request.target.split(':'); // authority-form
   *   exchange.respond(200);
   *   const { socket, head } = exchange.detach();
   *   const upstream = connect(Number(port), host);
   *   upstream.write(head); // what the client sent after its head goes first
   *   socket.pipe(upstream).pipe(socket);
   * });
   * ```
   */
  detach(): { socket: Wire['socket']; head: Uint8Array } {
    if (this.reading !== 'tunnel' || this.over) {
      throw new H1Error(
        DuplexErrorCode.ALREADY_RESPONDED,
        'detach() follows respond(101) or a 2xx answer to CONNECT, once',
      );
    }
    this.reading = 'detached';
    const head = this.wire.detach();
    this.finish(false);
    // As node:http hands over an upgraded socket: neither paused nor flowing, so the new owner's
    // first 'data' listener starts it.
    (this.socket as Wire['socket'] & { readableFlowing: boolean | null }).readableFlowing = null;
    return { socket: this.socket, head };
  }

  /**
   * Told by the server (or the hijack hook) when the handler returned or settled: from then on
   * a body nobody reads will not be read, so it can be drained and the connection freed.
   */
  handlerDone(): void {
    this.handlerSettled = true;
    this.advance();
  }

  /**
   * Gives up the exchange: the connection is destroyed, pending reads and writes fail with
   * `error` (`ERR_H1_CONNECTION_CLOSED` without one), `done` rejects and `signal` aborts.
   */
  destroy(error?: Error): void {
    this.finish(false, error ?? connectionClosed('exchange destroyed'));
  }

  /**
   * The body was destroyed by its reader before its end (`break` in for-await does that): the
   * rest of the request will never be read, so the connection cannot carry another one.
   */
  private abandonBody(): void {
    if (this.reading !== 'body') return;
    this.reading = 'abandoned';
    this.advance();
  }

  /**
   * Decides what happens once the response is complete. The request body may still be coming:
   * in a full-duplex exchange a handler may read it after ending its response, so an unread body
   * is drained only once the handler has settled and still nobody reads it.
   */
  private advance(): void {
    if (this.over || this.writing !== 'done') return;
    if (this.reading !== 'body') {
      this.finish(this.keepAlive && this.reading === 'done');
      return;
    }
    const body = this.body;
    const beingRead =
      body.listenerCount('data') > 0 ||
      body.listenerCount('readable') > 0 ||
      body.readableFlowing === true;
    if (beingRead || !this.handlerSettled) return;
    // A client told to wait for 100 Continue that never got it may never send the body.
    if (this.expect?.bodyMayNeverCome) {
      this.finish(false);
      return;
    }
    this.body.discard(this.init.maxDrainBytes ?? DEFAULT_MAX_DRAIN_BYTES, () => this.finish(false));
  }

  /**
   * The one way out, taken once: with `reuse` the connection carries the next request; without,
   * it closes (gracefully when what was sent should still reach the peer) or, after `detach()`,
   * belongs to the caller. An `error` fails whatever is still pending.
   */
  private finish(reuse: boolean, error?: Error, refuseWith?: number): void {
    if (this.over) return;
    this.over = true;
    this.deadlines?.clear();
    this.socket.off('close', this.onSocketClose);
    if (error) {
      this.wire.detach();
      const answered =
        this.writing === 'init' ? 'nothing' : this.writing === 'done' ? 'whole' : 'partly';
      closeAfterFailure(this.socket, answered, refuseWith);
    } else if (!reuse && this.reading !== 'detached') {
      this.wire.detach();
      closeGracefully(this.socket);
    }
    const body = this.incoming;
    if (
      body &&
      !body.destroyed &&
      this.reading !== 'detached' &&
      (error || body.state === 'open')
    ) {
      body.destroy(error ?? connectionClosed('the exchange ended before the request body did'));
    }
    if (error && this.response && !this.response.destroyed) this.response.destroy(error);
    const onDone = this.onDone;
    this.onDone = undefined;
    onDone?.(reuse && !error);
    this.outcome.end(error);
  }

  private readonly onSocketClose = (): void => {
    this.finish(false, connectionClosed('connection closed before the exchange was complete'));
  };
}
