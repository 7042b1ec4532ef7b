import { type Duplex, Writable } from 'node:stream';
import { encodeChunk, encodeLastChunk } from '@h1kit/chunked';
import { type FieldInput, H1Error } from '@h1kit/headers';
import { DuplexErrorCode } from './errors.js';

/** How an outgoing body is framed on the wire. */
export type OutgoingFraming =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  | { kind: 'close' };

export interface OutgoingBodyOptions {
  socket: Duplex;
  framing: OutgoingFraming;
  highWaterMark?: number;
  /** Called once the last byte of the body was handed to the socket. */
  onComplete?: () => void;
}

type Callback = (error?: Error | null) => void;

/**
 * A message body as a Node Writable: each write goes to the socket framed as the head promised
 * (chunks are `[size line, data, CRLF]` under one cork, so one writev, data never copied), the
 * callback waits for the socket's 'drain' when the socket is full, and `end()` writes the
 * last-chunk with any trailers. Writing more or fewer bytes than a Content-Length promised is an
 * `H1Error`, since the peer would misread the connection after it.
 */
export class OutgoingBody extends Writable {
  /** Bytes of payload written so far. */
  written = 0;
  private readonly socket: Duplex;
  private readonly framing: OutgoingFraming;
  private trailerFields: FieldInput | undefined;
  private onComplete: (() => void) | undefined;
  private corked = false;

  constructor(options: OutgoingBodyOptions) {
    super({ highWaterMark: options.highWaterMark ?? 65536, decodeStrings: true });
    this.socket = options.socket;
    this.framing = options.framing;
    this.onComplete = options.onComplete;
  }

  /** Sets the trailer section sent after the last chunk. Chunked bodies only, before `end()`. */
  setTrailers(fields: FieldInput): void {
    if (this.framing.kind !== 'chunked' || this.writableEnded) {
      throw new H1Error(
        DuplexErrorCode.TRAILERS_NOT_ALLOWED,
        this.writableEnded
          ? 'trailers set after end()'
          : `trailers need a chunked body, this one is ${this.framing.kind}`,
      );
    }
    this.trailerFields = fields;
  }

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: Callback): void {
    this.send([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Uint8Array }>, callback: Callback): void {
    const list: Uint8Array[] = new Array(chunks.length);
    for (let i = 0; i < chunks.length; i++) list[i] = chunks[i]!.chunk;
    this.send(list, callback);
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
    if (framing.kind === 'chunked') {
      let last: Uint8Array;
      try {
        last = encodeLastChunk(this.trailerFields);
      } catch (error) {
        callback(error as Error);
        return;
      }
      this.socket.write(last);
    }
    const done = this.onComplete;
    this.onComplete = undefined;
    done?.();
    callback();
  }

  /**
   * Everything written in one tick leaves in one writev: a socket read often decodes into two
   * chunks (a read rarely ends on a chunk boundary), and a pipe writes them one by one.
   */
  private corkUntilNextTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.releaseCork);
  }

  private readonly releaseCork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private send(chunks: Uint8Array[], callback: Callback): void {
    const framing = this.framing;
    let size = 0;
    for (let i = 0; i < chunks.length; i++) size += chunks[i]!.length;
    if (framing.kind === 'none') {
      callback(
        size === 0
          ? null
          : new H1Error(DuplexErrorCode.BODY_NOT_ALLOWED, 'this message has no body'),
      );
      return;
    }
    if (framing.kind === 'length' && this.written + size > framing.length) {
      callback(
        new H1Error(
          DuplexErrorCode.BODY_TOO_LONG,
          `body exceeds its Content-Length of ${framing.length} bytes`,
        ),
      );
      return;
    }
    this.written += size;
    const socket = this.socket;
    if (socket.destroyed) {
      callback(
        new H1Error(
          DuplexErrorCode.CONNECTION_CLOSED,
          'connection closed before the body was sent',
        ),
      );
      return;
    }
    let ok = true;
    this.corkUntilNextTick();
    for (let i = 0; i < chunks.length; i++) {
      const data = chunks[i]!;
      if (framing.kind !== 'chunked') {
        ok = socket.write(data);
        continue;
      }
      const parts = encodeChunk(data);
      for (let j = 0; j < parts.length; j++) ok = socket.write(parts[j]!);
    }
    // The socket says "full" past its own 16 KiB mark; waiting for 'drain' there would send the
    // second view of a socket read in a writev of its own. Hold the producer only once the socket
    // queues more than this body's high-water mark.
    if (ok || socket.writableLength < this.writableHighWaterMark) {
      callback();
      return;
    }
    waitForDrain(socket, callback);
  }
}

/** Calls back on the socket's next 'drain', or with an error if it closes first. */
function waitForDrain(socket: Duplex, callback: Callback): void {
  const onDrain = (): void => {
    socket.off('close', onClose);
    callback();
  };
  const onClose = (): void => {
    socket.off('drain', onDrain);
    callback(
      new H1Error(
        DuplexErrorCode.CONNECTION_CLOSED,
        'connection closed while the body was being sent',
      ),
    );
  };
  socket.once('drain', onDrain);
  socket.once('close', onClose);
}
