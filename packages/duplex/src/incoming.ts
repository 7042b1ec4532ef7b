import { Readable } from 'node:stream';
import { ChunkedDecoder, type ChunkedDecoderOptions } from '@h1kit/chunked';
import { type Framing, H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from './errors.js';
import type { FieldPairs } from './message.js';
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

const EMPTY = new Uint8Array(0);

/**
 * A message body as a Node Readable, decoded from the wire as it arrives: Content-Length bodies
 * are passed through as views of the socket's own buffers, chunked ones through the zero-copy
 * decoder. When the reader falls behind, the wire (and so the socket) is paused; a slow reader
 * holds at most the stream's high-water mark plus one socket read.
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

  /** Starts taking bytes from the wire; a body with nothing to read completes at once. */
  begin(): void {
    if (this.kind === 'none' || (this.kind === 'length' && this.remaining === 0)) {
      this.complete_(EMPTY);
      return;
    }
    this.wire.attach(this);
  }

  override _read(): void {
    if (this.onFirstRead) {
      const first = this.onFirstRead;
      this.onFirstRead = undefined;
      first();
    }
    if (!this.finished) this.wire.resume();
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
    }
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
    if (!this.push(view)) this.wire.pause();
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
    if (!this.finished) {
      this.finished = true;
      this.onComplete = undefined;
      this.wire.pause();
    }
    callback(error);
  }
}
