import { type Duplex, Writable } from 'node:stream';
import { encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import { type FieldInput, type Framing, H1Error } from '@h1kit/headers';
import { connectionClosed, DuplexErrorCode } from '../errors.js';
import { SocketRoom } from './socket-room.js';
import type { Splice } from './splice.js';

export interface OutgoingBodyOptions {
  /**
   * Where the body goes. Absent, the body gathers what is written (holding the producer at its
   * high-water mark) until `attach()` gives it one: a request waiting for a pooled connection.
   */
  socket?: Duplex;
  framing: Framing;
  /** The message head: it leaves with the first bytes of the body, or at the end of the tick. */
  head?: Uint8Array;
  highWaterMark?: number;
  /** Called once the last byte of the body was handed to the socket. */
  onComplete?: () => void;
}

type Callback = (error?: Error | null) => void;

/** The last-chunk of a body without trailers. */
const LAST_CHUNK = encodeLastChunk();

/** Payload bytes that views may share one chunk, and one writev, up to. */
const GATHER_LIMIT = 32 * 1024;

/**
 * A message body as a Node Writable: what is written in one tick leaves in one writev, framed as
 * the head promised, unless it passes 32 KiB, when each view past it starts a writev of its own.
 * Chunked bodies send each writev's views as one chunk, `[chunk-size line, ...data, CRLF]`: the
 * views go out as given, never copied, and the chunk count follows the reads of a pipe rather
 * than its writes (a splice flushes at the end of each socket read). The producer is held only
 * once the socket queues more than this body's high-water mark (64 KiB), and `end()` writes the
 * last-chunk with any trailer section. Writing more or fewer bytes than a Content-Length promised
 * is an `H1Error` (`ERR_H1_BODY_TOO_LONG`, `ERR_H1_BODY_TOO_SHORT`), since the peer would misread
 * the connection after it. It is what `exchange.respond()` returns on a server, and a client
 * request's `body`.
 *
 * @example
 * ```ts
 * import { once } from 'node:events';
 * import { createServer, type OutgoingBody } from '@h1kit/duplex';
 * createServer(async (exchange) => {
 *   const out: OutgoingBody = exchange.respond(200, { Trailer: 'Server-Timing' }); // chunked
 *   const started = performance.now();
 *   for await (const chunk of exchange.body) if (!out.write(chunk)) await once(out, 'drain');
 *   out.setTrailers({ 'Server-Timing': `total;dur=${Math.round(performance.now() - started)}` });
 *   out.end(); // the last chunk and the trailer section leave together
 * });
 * ```
 */
export class OutgoingBody extends Writable {
  /** Bytes of payload written so far (no framing counted: chunk-size lines and CRLFs are not). */
  written = 0;
  private socket: Duplex | undefined;
  private readonly framing: Framing;
  /** The last-chunk with the trailer section set, encoded (and so checked) when it was set. */
  private lastChunk: Uint8Array | undefined;
  private onComplete: (() => void) | undefined;
  /** The head, until the first flush sends it in front of the body. */
  private head: Uint8Array | undefined;
  /** Views written this tick, sent at the flush. */
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;
  private flushScheduled = false;
  /** The producer's callback, held until the socket has room again. */
  private heldCallback: Callback | undefined;
  /** Created on the first wait for socket room. */
  private room: SocketRoom | undefined;
  /** The incoming body spliced into this one, if any. */
  private splice: Splice | undefined;
  /** `end()` came before the socket: its callback, run once `attach()` gives one. */
  private finalHeld: Callback | undefined;

  constructor(options: OutgoingBodyOptions) {
    super({ highWaterMark: options.highWaterMark ?? 65536, decodeStrings: true });
    this.socket = options.socket;
    this.framing = options.framing;
    this.onComplete = options.onComplete;
    this.head = options.head;
    if (this.head !== undefined) this.scheduleFlush();
  }

  /**
   * A body for a message that has none: already ended, needing no socket, and every `write()`
   * throws `refusal()` where the mistake is made.
   */
  static without(refusal: () => Error): OutgoingBody {
    const body = new OutgoingBody({ framing: { kind: 'none' } });
    body.end();
    body.write = () => {
      throw refusal();
    };
    return body;
  }

  /**
   * Gives a body made without a socket its socket: what was gathered leaves now, in one write,
   * and an `end()` already called completes.
   */
  attach(socket: Duplex): void {
    this.socket = socket;
    if (this.destroyed) return;
    const final = this.finalHeld;
    this.finalHeld = undefined;
    if (final) this._final(final);
    else this.flush();
  }

  /**
   * Gives the body up unsent: it is destroyed with `error`, and every later `write()` or `end()`
   * calls back with `error` too, rather than with Node's "write after destroy". The writes are
   * replaced on this body alone, so that no other body pays a check on each write.
   */
  refuse(error: Error): void {
    const fail = (callback: unknown): boolean => {
      if (typeof callback === 'function') process.nextTick(callback as Callback, error);
      return false;
    };
    this.write = (_chunk: unknown, encoding?: unknown, callback?: unknown) =>
      fail(typeof encoding === 'function' ? encoding : callback);
    (this as { end: unknown }).end = (...args: unknown[]) => {
      fail(args.find((arg) => typeof arg === 'function'));
      return this;
    };
    this.destroy(error);
  }

  /**
   * Sets the trailer section sent after the last chunk, for what is known only once the body is
   * written (a checksum, a timing). Chunked bodies only, before `end()`: else it throws
   * `ERR_H1_TRAILERS_NOT_ALLOWED`. The fields are checked here, where the mistake is made; a
   * second call replaces the first.
   *
   * @example
   * ```ts
   * import { createHash } from 'node:crypto';
   * const out = exchange.respond(200, { Trailer: 'Digest' });
   * const hash = createHash('sha256');
   * for (const piece of pieces) { hash.update(piece); out.write(piece); }
   * out.setTrailers({ Digest: `sha-256=${hash.digest('base64')}` });
   * out.end();
   * ```
   */
  setTrailers(fields: FieldInput): void {
    if (this.framing.kind !== 'chunked' || this.writableEnded) {
      throw new H1Error(
        DuplexErrorCode.TRAILERS_NOT_ALLOWED,
        this.writableEnded
          ? 'trailers set after end()'
          : `trailers need a chunked body, this one is ${this.framing.kind}`,
      );
    }
    // Checked now, where the mistake is made, rather than at end(), where nobody may listen.
    this.lastChunk = encodeLastChunk(fields);
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: Callback): void {
    const refused = this.accept(chunk.length);
    if (refused) {
      callback(refused);
      return;
    }
    this.gather(chunk);
    this.afterGather(callback);
  }

  override _writev(chunks: Array<{ chunk: Uint8Array }>, callback: Callback): void {
    let size = 0;
    for (let i = 0; i < chunks.length; i++) size += chunks[i]!.chunk.length;
    const refused = this.accept(size);
    if (refused) {
      callback(refused);
      return;
    }
    for (let i = 0; i < chunks.length; i++) this.gather(chunks[i]!.chunk);
    this.afterGather(callback);
  }

  /** Whether a splice may start: nothing is queued here, and no splice holds this body already. */
  takesSplice(): boolean {
    return this.splice === undefined && !this.queueing;
  }

  /** Set by the splice as it starts and stops. */
  spliceFrom(splice: Splice | undefined): void {
    this.splice = splice;
  }

  /**
   * Gathers a view from the splice like a write, outside the Writable's queue. Returns false, the
   * body destroyed, when the view cannot be sent (as a failed write would: the exchange closes).
   */
  gatherSpliced(view: Uint8Array): boolean {
    const refused = this.accept(view.length);
    if (refused) {
      this.destroy(refused);
      return false;
    }
    this.gather(view);
    return true;
  }

  /** The socket's queue and this tick's gathered bytes are below the high-water mark. */
  hasRoom(): boolean {
    const queued = this.socket === undefined ? 0 : this.socket.writableLength;
    return queued + this.gatheredBytes < this.writableHighWaterMark;
  }

  get hasGathered(): boolean {
    return this.gathered.length > 0;
  }

  override _final(callback: Callback): void {
    const framing = this.framing;
    if (framing.kind === 'length' && this.written < framing.length) {
      callback(
        new H1Error(
          DuplexErrorCode.BODY_TOO_SHORT,
          `body ended after ${this.written} of ${framing.length} bytes of its Content-Length`,
        ),
      );
      return;
    }
    const socket = this.socket;
    if (socket === undefined) {
      // A body with nothing to send (no head, no framing) needs no socket to end.
      if (this.head === undefined && framing.kind === 'none') {
        this.complete();
        callback();
        return;
      }
      this.finalHeld = callback;
      return;
    }
    const last = framing.kind === 'chunked' ? (this.lastChunk ?? LAST_CHUNK) : undefined;
    // The last data and the last-chunk leave together.
    socket.cork();
    this.flush();
    if (last) socket.write(last);
    socket.uncork();
    this.complete();
    callback();
  }

  private complete(): void {
    const done = this.onComplete;
    this.onComplete = undefined;
    done?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Writes already called back count as sent: they go out before whatever the destroy causes.
    // A producer still held is told it failed, so that it and the writes queued behind it hear
    // back.
    const held = this.heldCallback;
    this.heldCallback = undefined;
    this.splice?.giveUpWaiting();
    this.flush();
    this.room?.stop();
    held?.(error ?? closedWhileSending());
    // An end() still waiting for its socket hears of the destroy from the Writable itself.
    this.finalHeld = undefined;
    callback(error);
  }

  /**
   * Writes go through the Writable's queue (or nowhere) rather than straight to the gathering:
   * something is queued or held there, the body is corked, ended or destroyed.
   */
  get queueing(): boolean {
    return (
      this.writableLength > 0 || this.writableCorked > 0 || this.writableEnded || this.destroyed
    );
  }

  /** Counts a write of `size` more bytes as sent, or says why it cannot be sent. */
  private accept(size: number): H1Error | undefined {
    const framing = this.framing;
    let refused: H1Error | undefined;
    if (framing.kind === 'none') {
      if (size > 0)
        refused = new H1Error(DuplexErrorCode.BODY_NOT_ALLOWED, 'this message has no body');
    } else if (framing.kind === 'length' && this.written + size > framing.length) {
      refused = new H1Error(
        DuplexErrorCode.BODY_TOO_LONG,
        `body exceeds its Content-Length of ${framing.length} bytes`,
      );
    } else if (this.socket?.destroyed === true) {
      refused = connectionClosed('connection closed before the body was sent');
    }
    if (refused === undefined) this.written += size;
    return refused;
  }

  private gather(view: Uint8Array): void {
    if (view.length === 0) return;
    // A socket read of 64 KiB of chunked body decodes into two views, one each side of a
    // chunk-size line; sent as one chunk they make a write just over 64 KiB, which the kernel
    // sends as a full segment and a runt of a few dozen bytes (TCP segments, and GSO batches,
    // top out near 64 KiB). Views that together pass GATHER_LIMIT go out as chunks of their own.
    if (this.gatheredBytes > 0 && this.gatheredBytes + view.length > GATHER_LIMIT) this.flush();
    this.gathered.push(view);
    this.gatheredBytes += view.length;
  }

  /** Schedules the flush; lets the producer go on at once unless the tick's bytes fill the mark. */
  private afterGather(callback: Callback): void {
    this.scheduleFlush();
    if (this.hasRoom()) callback();
    else this.heldCallback = callback;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushTick);
  }

  private readonly flushTick = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * Writes what was gathered (now, rather than at the end of the tick, when a splice calls it),
   * then lets a held producer go on if the socket has room.
   */
  flush(): void {
    const socket = this.socket;
    // No socket yet: everything stays gathered, and a held producer stays held, until attach().
    if (socket === undefined) return;
    const views = this.gathered;
    const head = this.head;
    if ((head !== undefined || views.length > 0) && !socket.destroyed) {
      socket.cork();
      if (head !== undefined) {
        this.head = undefined;
        socket.write(head);
      }
      if (views.length > 0 && this.framing.kind === 'chunked') {
        const pieces = encodeChunk(views);
        for (let i = 0; i < pieces.length; i++) socket.write(pieces[i]!);
      } else {
        for (let i = 0; i < views.length; i++) socket.write(views[i]!);
      }
      socket.uncork();
    }
    // socket.write keeps no reference to the array: it is reused for the next tick.
    views.length = 0;
    this.gatheredBytes = 0;
    if (this.heldCallback === undefined && !this.splice?.waits) return;
    if (socket.destroyed) {
      this.abandonHeld(closedWhileSending());
    } else if (
      socket.writableLength < this.writableHighWaterMark ||
      // A socket whose own mark is higher than ours never says 'drain' for what it accepted.
      !socket.writableNeedDrain
    ) {
      this.letProducersGo();
    } else {
      this.room ??= new SocketRoom(
        socket,
        () => this.letProducersGo(),
        () => this.abandonHeld(closedWhileSending()),
      );
      this.room.wait();
    }
  }

  /** Lets a held producer and a waiting spliced source go on. */
  private letProducersGo(): void {
    const held = this.heldCallback;
    this.heldCallback = undefined;
    held?.();
    this.splice?.roomAgain();
  }

  /** The socket can take nothing more: a held producer fails, a waiting source waits no more. */
  private abandonHeld(error: Error): void {
    const held = this.heldCallback;
    this.heldCallback = undefined;
    this.splice?.giveUpWaiting();
    held?.(error);
  }
}

function closedWhileSending(): H1Error {
  return connectionClosed('connection closed while the body was being sent');
}
