import { Readable } from 'node:stream';
import { ChunkedDecoder, type ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from './errors.js';
import type { FieldPairs } from './message.js';
import { OutgoingBody } from './outgoing.js';
import type { Wire, WireConsumer } from './wire.js';

export interface IncomingBodyOptions {
  framing: Framing;
  wire: Wire;
  chunked?: ChunkedDecoderOptions;
  highWaterMark?: number;
  /** Called once, on the first read of the body (Expect: 100-continue is answered there). */
  onFirstRead?: () => void;
  /** Called once the body ended, with the bytes that followed it (the next message). */
  onComplete?: (rest: Uint8Array) => void;
}

/** No bytes; a Buffer, so that pushing it is an empty push to a Node Readable. */
const EMPTY = Buffer.alloc(0);
/** An event listener as Readable's own `on` takes it. */
type Listener = Parameters<Readable['on']>[1];

/**
 * A message body as a Node Readable, decoded from the wire as it arrives: Content-Length bodies
 * are passed through as views of the socket's own buffers, chunked ones through the zero-copy
 * decoder. When the reader falls behind, the wire (and so the socket) is paused; a slow reader
 * holds at most the stream's high-water mark plus one socket read.
 *
 * Piped into an `OutgoingBody` (`body.pipe(response)`, or `pipeline(body, response)`), the body
 * is spliced: decoded views go straight to the outgoing framing, the way Go's io.Copy hands
 * over to a ReaderFrom, with no trip through the Readable and Writable queues. The streams
 * still behave as piped ones ('pipe', 'unpipe', 'end', the destination ended unless
 * `{ end: false }`, backpressure from the destination's socket to this one's).
 */
export class IncomingBody extends Readable implements WireConsumer {
  /** Trailer fields, filled when a chunked body ends (also emitted as 'trailers'). */
  trailers: FieldPairs = [];
  /** Bytes of the body received so far (decoded payload). */
  received = 0;
  /**
   * Set when the body failed on the wire (a malformed chunk, a lost connection), as opposed to
   * being destroyed by its reader, which only means the rest will not be read.
   */
  wireError: Error | undefined;
  private readonly wire: Wire;
  private readonly kind: Framing['kind'];
  private remaining: number;
  private readonly decoder: ChunkedDecoder | undefined;
  private onFirstRead: (() => void) | undefined;
  private onComplete: ((rest: Uint8Array) => void) | undefined;
  private finished = false;
  /** The response this body is spliced into, if any (see `pipe`). */
  private spliced: OutgoingBody | undefined;
  private spliceEnds = false;
  /** Takes the wire on the next turn unless a read comes first (see `begin`). */
  private idleStart: NodeJS.Immediate | undefined;

  constructor(options: IncomingBodyOptions) {
    super({ highWaterMark: options.highWaterMark ?? 65536 });
    this.wire = options.wire;
    this.kind = options.framing.kind;
    this.remaining = options.framing.length ?? 0;
    this.decoder = this.kind === 'chunked' ? new ChunkedDecoder(options.chunked) : undefined;
    this.onFirstRead = options.onFirstRead;
    this.onComplete = options.onComplete;
  }

  /** True once every byte of the body arrived (the stream may still hold unread data). */
  get complete(): boolean {
    return this.finished;
  }

  /**
   * Takes the wire; a body with nothing to read completes at once. Bytes are taken on the first
   * read, or on the next turn of the event loop if nothing read sooner: a body piped into a
   * response by the handler's synchronous part (or right after `await request.response`) is
   * spliced whole, and a body nobody reads still completes, as far as its high-water mark takes it.
   */
  begin(): void {
    if (this.kind === 'none' || (this.kind === 'length' && this.remaining === 0)) {
      this.complete_(EMPTY);
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
    if (!this.finished) this.wire.resume();
  }

  /**
   * Splices into an `OutgoingBody` while nothing else reads this body and nothing is queued on
   * either side; any other destination, or a body already being read, is piped as usual. A
   * consumer the splice cannot share with ('data' or 'readable' listeners, a second pipe,
   * `pause()`, `setEncoding()`) turns it into an ordinary pipe to the same destination first.
   */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (this.spliced !== undefined) this.toOrdinaryPipe();
    if (
      destination instanceof OutgoingBody &&
      !this.finished &&
      !this.destroyed &&
      this.readableLength === 0 &&
      this.readableFlowing !== true &&
      this.readableEncoding === null &&
      this.listenerCount('data') === 0 &&
      this.listenerCount('readable') === 0 &&
      destination.splice(this.wake)
    ) {
      this.spliced = destination;
      this.spliceEnds = options?.end !== false;
      this.once('end', this.onSpliceEnd);
      destination.once('close', this.onSpliceClose);
      destination.emit('pipe', this);
      // Flowing, so that 'end' is emitted and the first read is made (Expect: 100-continue).
      this.resume();
      return destination;
    }
    return super.pipe(destination, options);
  }

  override unpipe(destination?: NodeJS.WritableStream): this {
    const spliced = this.spliced;
    if (spliced !== undefined && (destination === undefined || destination === spliced)) {
      this.unsplice();
      this.pause();
      spliced.emit('unpipe', this);
    }
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
    if (this.spliced !== undefined) this.toOrdinaryPipe();
    return super.pause();
  }

  override setEncoding(encoding: BufferEncoding): this {
    if (this.spliced !== undefined) this.toOrdinaryPipe();
    return super.setEncoding(encoding);
  }

  bytes(chunk: Uint8Array): void {
    if (this.finished) {
      this.wire.pause();
      this.wire.unshift(chunk);
      return;
    }
    try {
      if (this.kind === 'length') this.takeLength(chunk);
      else if (this.kind === 'chunked') this.takeChunked(chunk);
      else this.deliver(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.spliced?.spliceFlush();
  }

  end(): void {
    if (this.finished) return;
    if (this.kind === 'close') {
      this.complete_(EMPTY);
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
    if (this.finished) return;
    this.fail(
      new H1Error(
        DuplexErrorCode.CONNECTION_CLOSED,
        `connection lost during the body: ${error.message}`,
        undefined,
        { cause: error },
      ),
    );
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
    this.complete_(chunk.subarray(cut));
  }

  private takeChunked(chunk: Uint8Array): void {
    const result = this.decoder!.push(chunk);
    const data = result.data;
    for (let i = 0; i < data.length; i++) this.deliver(data[i]!);
    if (result.done) {
      this.trailers = result.trailers;
      if (result.trailers.length > 0) this.emit('trailers', result.trailers);
      this.complete_(result.rest);
    }
  }

  private deliver(view: Uint8Array): void {
    this.received += view.length;
    const spliced = this.spliced;
    if (spliced === undefined ? !this.push(view) : !spliced.spliceWrite(view)) this.wire.pause();
  }

  /** The splice destination has room again. */
  private readonly wake = (): void => {
    if (!this.finished) this.wire.resume();
  };

  private readonly startIfIdle = (): void => {
    this.idleStart = undefined;
    if (!this.finished && !this.destroyed) this.wire.resume();
  };

  private stopIdleStart(): void {
    if (this.idleStart === undefined) return;
    clearImmediate(this.idleStart);
    this.idleStart = undefined;
  }

  /** As Node's pipe does: the destination ended (unless `{ end: false }`), then 'unpipe'. */
  private readonly onSpliceEnd = (): void => {
    const spliced = this.spliced;
    if (spliced === undefined) return;
    const ends = this.spliceEnds;
    this.unsplice();
    if (ends) {
      spliced.once('finish', () => spliced.emit('unpipe', this));
      spliced.end();
    } else {
      spliced.emit('unpipe', this);
    }
  };

  private readonly onSpliceClose = (): void => {
    const spliced = this.spliced;
    if (spliced === undefined) return;
    this.unsplice();
    this.pause();
    spliced.emit('unpipe', this);
  };

  private unsplice(): void {
    const spliced = this.spliced;
    if (spliced === undefined) return;
    this.spliced = undefined;
    this.off('end', this.onSpliceEnd);
    spliced.off('close', this.onSpliceClose);
    spliced.unsplice(this.wake);
    // The splice's first read is still outstanding (Node awaits a push before it asks again),
    // and the wire may be paused for the destination: an empty push lets the next reader ask.
    if (!this.finished && !this.destroyed) this.push(EMPTY);
  }

  /** A 'data' or 'readable' listener reads the body too: a splice cannot share it. */
  private readerComing(event: string | symbol): void {
    if (this.spliced !== undefined && (event === 'data' || event === 'readable')) {
      this.toOrdinaryPipe();
    }
  }

  /** The same destination, now through Node's pipe (for a consumer a splice cannot share with). */
  private toOrdinaryPipe(): void {
    const spliced = this.spliced!;
    const ends = this.spliceEnds;
    this.unsplice();
    super.pipe(spliced, { end: ends });
  }

  private complete_(rest: Uint8Array): void {
    this.finished = true;
    this.wire.pause();
    this.push(null);
    const done = this.onComplete;
    this.onComplete = undefined;
    done?.(rest);
  }

  private fail(error: Error): void {
    this.wireError = error;
    this.finished = true;
    this.wire.pause();
    this.onComplete = undefined;
    this.destroy(error);
  }

  /** A reader that gives up early (`break` in for-await destroys the stream) stops the wire. */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopIdleStart();
    if (!this.finished) {
      this.finished = true;
      this.onComplete = undefined;
      this.wire.pause();
    }
    callback(error);
  }
}
