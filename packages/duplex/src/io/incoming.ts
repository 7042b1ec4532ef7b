import { Readable } from 'node:stream';
import { ChunkedDecoder, type ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import type { FieldPairs } from './message.js';
import { OutgoingBody } from './outgoing.js';
import { Splice } from './splice.js';
import type { Wire, WireConsumer } from './wire.js';

export interface IncomingBodyOptions {
  framing: Framing;
  wire: Wire;
  chunked?: ChunkedDecoderOptions;
  highWaterMark?: number;
  /** Called once, on the first read of the body (Expect: 100-continue is answered there). */
  onFirstRead?: () => void;
  /** Called once every byte of the body arrived; the bytes after it are back on the wire. */
  onComplete?: () => void;
}

/**
 * Where a body is: `open` while bytes may still come; `complete` once every byte arrived (the
 * stream may still hold unread data); `failed` when the wire broke it (a malformed chunk, a lost
 * connection); `destroyed` when its reader gave up first, which only means the rest is not read.
 * Tells a handler, after its read loop, whether the connection can still carry another message.
 *
 * @example
 * ```ts
 * import { createServer, type IncomingBodyState } from '@h1kit/duplex';
 * createServer(async (exchange) => {
 *   for await (const chunk of exchange.body) if (chunk.includes(0)) break; // gives up the rest
 *   const state: IncomingBodyState = exchange.body.state; // 'complete', or 'destroyed' after break
 *   exchange.respond(state === 'complete' ? 204 : 400).end(); // 400 says Connection: close
 * });
 * ```
 */
export type IncomingBodyState = 'open' | 'complete' | 'failed' | 'destroyed';

const EMPTY = new Uint8Array(0);
/** An event listener as Readable's own `on` takes it. */
type Listener = Parameters<Readable['on']>[1];

/**
 * A message body as a Node Readable, decoded from the wire as it arrives: Content-Length bodies
 * are passed through as views of the socket's own buffers, chunked ones through the zero-copy
 * decoder, so what is read is the payload, never chunk-size lines or the trailer section. When
 * the reader falls behind, the wire (and so the socket) is paused; a slow reader holds at most
 * the stream's high-water mark plus one socket read. Piped into an `OutgoingBody`, it is spliced:
 * the decoded views go straight to the other body's framing. It is `exchange.body` on a server and
 * `response.body` on a client; a body that breaks its framing fails with an `H1Error`.
 *
 * @example
 * ```ts
 * import { createServer, type IncomingBody } from '@h1kit/duplex';
 * async function readJson(body: IncomingBody): Promise<unknown> {
 *   const parts: Buffer[] = [];
 *   for await (const chunk of body) parts.push(chunk);
 *   return JSON.parse(Buffer.concat(parts).toString('utf8'));
 * }
 * createServer(async (exchange) => {
 *   const value = await readJson(exchange.body); // rejects on a malformed chunked body
 *   exchange.respond(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
 * });
 * ```
 */
export class IncomingBody extends Readable implements WireConsumer {
  /** Where the body is: open, complete, failed or destroyed (see `IncomingBodyState`). */
  state: IncomingBodyState = 'open';
  /** Trailer fields, filled when a chunked body ends (also emitted as 'trailers'). */
  trailers: FieldPairs = [];
  /** Bytes of the body received so far (decoded payload). */
  received = 0;
  private readonly wire: Wire;
  private readonly framing: Framing;
  private remaining: number;
  private readonly decoder: ChunkedDecoder | undefined;
  private onFirstRead: (() => void) | undefined;
  private onComplete: (() => void) | undefined;
  private splice: Splice | undefined;
  /** Takes the wire on the next turn unless a read comes first (see `begin`). */
  private idleStart: NodeJS.Immediate | undefined;

  constructor(options: IncomingBodyOptions) {
    super({ highWaterMark: options.highWaterMark ?? 65536 });
    this.wire = options.wire;
    this.framing = options.framing;
    this.remaining = options.framing.kind === 'length' ? options.framing.length : 0;
    this.decoder =
      options.framing.kind === 'chunked' ? new ChunkedDecoder(options.chunked) : undefined;
    this.onFirstRead = options.onFirstRead;
    this.onComplete = options.onComplete;
  }

  /** True once every byte of the body arrived (the stream may still hold unread data). */
  get complete(): boolean {
    return this.state === 'complete';
  }

  /**
   * Takes the wire; a body with nothing to read completes at once. Bytes are taken on the first
   * read, or on the next turn of the event loop if nothing read sooner: a body piped into a
   * response by the handler's synchronous part (or right after `await request.response`) is
   * spliced whole, and a body nobody reads still completes, as far as its high-water mark takes it.
   */
  begin(): void {
    if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.remaining === 0)) {
      // Nothing to read: the wire, never taken, is left alone (the next message may hold it).
      this.state = 'complete';
      this.push(null);
      const done = this.onComplete;
      this.onComplete = undefined;
      done?.();
      return;
    }
    this.wire.attach(this, false);
    this.idleStart = setImmediate(this.startIfIdle);
  }

  override _read(): void {
    this.stopIdleStart();
    if (this.onFirstRead) {
      const first = this.onFirstRead;
      this.onFirstRead = undefined;
      first();
    }
    this.resumeWire();
  }

  /** Takes more bytes off the wire, while the body is open (a splice's wake-up too). */
  resumeWire(): void {
    if (this.state === 'open') this.wire.resume();
  }

  /**
   * Reads the rest of the body and throws it away, so that the connection can carry the next
   * message; past `maxBytes` it stops and calls `tooLong`.
   */
  discard(maxBytes: number, tooLong: () => void): void {
    let discarded = 0;
    this.on('data', (chunk: Uint8Array) => {
      discarded += chunk.length;
      if (discarded > maxBytes) tooLong();
    });
    // A 'data' listener does not restart a body its handler paused (or unpiped).
    this.resume();
  }

  /** Set by a splice as it starts and stops. */
  spliceInto(splice: Splice | undefined): void {
    this.splice = splice;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    this.splice?.toOrdinaryPipe();
    if (destination instanceof OutgoingBody && Splice.begin(this, destination, options)) {
      return destination;
    }
    return super.pipe(destination, options);
  }

  override unpipe(destination?: NodeJS.WritableStream): this {
    const splice = this.splice;
    if (splice && (destination === undefined || destination === splice.sink)) splice.unpipe();
    return super.unpipe(destination);
  }

  override on(event: string | symbol, listener: Listener): this {
    this.readerComing(event);
    return super.on(event, listener);
  }

  override addListener(event: string | symbol, listener: Listener): this {
    return this.on(event, listener);
  }

  override prependListener(event: string | symbol, listener: Listener): this {
    this.readerComing(event);
    return super.prependListener(event, listener);
  }

  override pause(): this {
    this.splice?.toOrdinaryPipe();
    return super.pause();
  }

  override setEncoding(encoding: BufferEncoding): this {
    this.splice?.toOrdinaryPipe();
    return super.setEncoding(encoding);
  }

  bytes(chunk: Uint8Array): void {
    try {
      if (this.framing.kind === 'length') this.takeLength(chunk);
      else if (this.framing.kind === 'chunked') this.takeChunked(chunk);
      else this.deliver(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.splice?.flush();
  }

  end(): void {
    if (this.framing.kind === 'close') {
      this.completeWith(EMPTY);
      return;
    }
    this.fail(
      new H1Error(
        DuplexErrorCode.INCOMPLETE_BODY,
        `connection ended ${this.received} bytes into the body, before its end`,
      ),
    );
  }

  abort(error: Error): void {
    this.fail(connectionClosed(`connection lost during the body: ${error.message}`, error));
  }

  private takeLength(chunk: Uint8Array): void {
    if (chunk.length < this.remaining) {
      this.remaining -= chunk.length;
      this.deliver(chunk);
      return;
    }
    const cut = this.remaining;
    this.remaining = 0;
    if (cut > 0) this.deliver(chunk.subarray(0, cut));
    this.completeWith(chunk.subarray(cut));
  }

  private takeChunked(chunk: Uint8Array): void {
    const result = this.decoder!.push(chunk);
    const data = result.data;
    for (let i = 0; i < data.length; i++) this.deliver(data[i]!);
    if (result.done) {
      this.trailers = result.trailers;
      if (result.trailers.length > 0) this.emit('trailers', result.trailers);
      this.completeWith(result.rest);
    }
  }

  private deliver(view: Uint8Array): void {
    this.received += view.length;
    const splice = this.splice;
    if (splice === undefined ? !this.push(view) : !splice.write(view)) this.wire.pause();
  }

  private readonly startIfIdle = (): void => {
    this.idleStart = undefined;
    if (!this.destroyed) this.resumeWire();
  };

  private stopIdleStart(): void {
    if (this.idleStart === undefined) return;
    clearImmediate(this.idleStart);
    this.idleStart = undefined;
  }

  /** A 'data' or 'readable' listener reads the body too: a splice cannot share it. */
  private readerComing(event: string | symbol): void {
    if (event === 'data' || event === 'readable') this.splice?.toOrdinaryPipe();
  }

  /** Every byte arrived: `rest`, the bytes after the body, goes back on the wire. */
  private completeWith(rest: Uint8Array): void {
    this.state = 'complete';
    this.wire.leave(this, rest);
    this.push(null);
    const done = this.onComplete;
    this.onComplete = undefined;
    done?.();
  }

  private fail(error: Error): void {
    this.state = 'failed';
    this.wire.leave(this);
    this.onComplete = undefined;
    this.destroy(error);
  }

  /** A reader that gives up early (`break` in for-await destroys the stream) stops the wire. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopIdleStart();
    if (this.state === 'open') {
      this.state = 'destroyed';
      this.onComplete = undefined;
      this.wire.leave(this);
    }
    callback(error);
  }
}
