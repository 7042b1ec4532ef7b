import { Readable } from 'node:stream';
import type { IncomingBody } from './incoming.js';
import type { OutgoingBody } from './outgoing.js';

/** No bytes; a Buffer, so that pushing it is an empty push to a Node Readable. */
const EMPTY = Buffer.alloc(0);

/**
 * `incoming.pipe(outgoing)` without the streams in between, the way Go's io.Copy hands over to a
 * ReaderFrom: the views the incoming body decodes go straight to the outgoing body's framing,
 * and backpressure runs from the outgoing socket to the incoming one. To everyone else it is a
 * pipe: 'pipe' and 'unpipe' are emitted, `unpipe()` works, the destination is ended after 'end'
 * unless `{ end: false }`, and a consumer the splice cannot share the source with (a 'data' or
 * 'readable' listener, a second pipe, `pause()`, `setEncoding()`) turns it into Node's own pipe
 * to the same destination first.
 */
export class Splice {
  /** The destination told the source to wait; `roomAgain()` lets it go on. */
  private waiting = false;
  private drainListened = false;

  private constructor(
    readonly source: IncomingBody,
    readonly sink: OutgoingBody,
    private readonly ends: boolean,
  ) {}

  /**
   * Starts a splice when nothing else reads `source` and nothing is queued on either side;
   * returns undefined (the caller pipes as usual) otherwise.
   */
  static begin(
    source: IncomingBody,
    sink: OutgoingBody,
    options: { end?: boolean } | undefined,
  ): Splice | undefined {
    if (
      source.state !== 'open' ||
      source.readableLength > 0 ||
      source.readableFlowing === true ||
      source.readableEncoding !== null ||
      source.listenerCount('data') > 0 ||
      source.listenerCount('readable') > 0 ||
      !sink.takesSplice()
    ) {
      return undefined;
    }
    const splice = new Splice(source, sink, options?.end !== false);
    source.spliceInto(splice);
    sink.spliceFrom(splice);
    source.once('end', splice.onEnd);
    sink.once('close', splice.onClose);
    sink.emit('pipe', source);
    // Flowing, so that 'end' is emitted and the first read is made (Expect: 100-continue).
    source.resume();
    return splice;
  }

  /** True while the source is told to wait for room at the destination. */
  get waits(): boolean {
    return this.waiting;
  }

  /**
   * One decoded view from the source. Returns false when the source should pause until
   * `roomAgain()`. A view that arrives while writes made through the destination's Writable are
   * queued (or after its `end()`) goes through `write()` behind them, so bytes keep their order.
   */
  write(view: Uint8Array): boolean {
    const sink = this.sink;
    if (sink.queueing) {
      if (sink.write(view)) return true;
      if (!this.drainListened) {
        this.drainListened = true;
        sink.once('drain', this.onDrain);
      }
      return false;
    }
    if (!sink.gatherSpliced(view)) return true;
    if (sink.hasRoom()) return true;
    this.waiting = true;
    return false;
  }

  /**
   * The source has delivered all it decoded from one socket read: send it now, in one writev,
   * rather than on the next tick (the source knows where its reads end).
   */
  flush(): void {
    if (this.waiting || this.sink.hasGathered) this.sink.flush();
  }

  /** The destination has room again: a source told to wait may go on. */
  roomAgain(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.source.resumeWire();
  }

  /** The destination can take nothing more: the source waits no more for it. */
  giveUpWaiting(): void {
    this.waiting = false;
  }

  /** `source.unpipe(sink)`: the splice ends, the source pauses, 'unpipe' is emitted. */
  unpipe(): void {
    this.stop();
    this.source.pause();
    this.sink.emit('unpipe', this.source);
  }

  /** The same destination, now through Node's pipe. */
  toOrdinaryPipe(): void {
    this.stop();
    Readable.prototype.pipe.call(this.source, this.sink, { end: this.ends });
  }

  private stop(): void {
    const { source, sink } = this;
    source.spliceInto(undefined);
    sink.spliceFrom(undefined);
    source.off('end', this.onEnd);
    sink.off('close', this.onClose);
    if (this.drainListened) sink.off('drain', this.onDrain);
    this.drainListened = false;
    this.waiting = false;
    // The splice's first read is still outstanding (Node awaits a push before it asks again),
    // and the wire may be paused for the destination: an empty push lets the next reader ask.
    if (source.state === 'open' && !source.destroyed) source.push(EMPTY);
  }

  /** As Node's pipe does: the destination ended (unless `{ end: false }`), then 'unpipe'. */
  private readonly onEnd = (): void => {
    const { source, sink } = this;
    this.stop();
    if (this.ends) {
      sink.once('finish', () => sink.emit('unpipe', source));
      sink.end();
    } else {
      sink.emit('unpipe', source);
    }
  };

  private readonly onClose = (): void => {
    this.unpipe();
  };

  private readonly onDrain = (): void => {
    this.drainListened = false;
    this.source.resumeWire();
  };
}
